import io
import uuid
import zipfile
from datetime import date, datetime

import pytest

from sotay_common.events.members import MemberStatus, Position
from sotay_members.domain import Member
from sotay_members.importing import (
    FileRejected,
    ParsedFile,
    export_cells,
    parse_rows,
    read_table,
    sniff_format,
)
from tests.members.support import TODAY
from tests.members.support_files import csv_bytes, row, xlsx_bytes


def parse(content: bytes, file_name: str = "dv.csv") -> ParsedFile:
    return parse_rows(read_table(sniff_format(file_name, content), content), today=TODAY)


def test_a_clean_csv_gives_typed_rows() -> None:
    parsed = parse(
        csv_bytes(
            [
                row(
                    1,
                    "000000000001",
                    "CB1",
                    name="  nguyễn   thị  hoà ",
                    positions="Bí thư; Chi ủy viên",
                    phone="0912 345 678",
                    citizen_id="001180000001",
                ),
                row(2, "000000000002", "CB1", official="", status="Dự bị", admitted="01/02/2026"),
            ]
        )
    )
    assert parsed.errors == []
    assert parsed.total_rows == 2
    first, second = parsed.rows
    assert first.full_name == "nguyễn thị hoà"
    assert first.date_of_birth == date(1979, 3, 12)
    assert first.positions == [Position.SECRETARY, Position.COMMITTEE_MEMBER]
    assert first.phone == "0912345678"
    assert second.status is MemberStatus.PROBATIONARY
    assert second.official_date is None


def test_every_bad_row_is_reported_with_its_reason() -> None:
    parsed = parse(
        csv_bytes(
            [
                row(1, "000000000001", "CB1"),
                row(2, "12345", "CB1"),  # card number format
                row(3, "000000000003", "CB1", born="31/02/1980"),  # not a real date
                row(4, "000000000004", "CB1", admitted="01/01/2000"),  # admitted at 20? fine...
                row(5, "000000000001", "CB1"),  # duplicate card in the file
                row(6, "000000000006", "", gender="X"),  # no organisation, bad gender
                row(7, "000000000007", "CB1", official="01/01/2004"),  # official before admission
                row(8, "000000000008", "CB1", status="Đã nghỉ"),  # unknown status
            ]
        )
    )
    reasons = {(e.row_number, e.field, e.code) for e in parsed.errors}
    assert (3, "party_card_number", "invalid_party_card_number") in reasons
    assert (4, "date_of_birth", "invalid_date") in reasons
    assert (6, "party_card_number", "duplicate_in_file") in reasons
    assert (7, "organization_code", "required") in reasons
    assert (7, "gender", "invalid_choice") in reasons
    assert (8, "official_date", "probation_too_short") in reasons
    assert (9, "status", "invalid_choice") in reasons
    assert {r.row_number for r in parsed.rows} == {2, 5}
    assert all(e.message for e in parsed.errors)


def test_xlsx_with_real_date_cells_and_semicolon_csv_read_alike() -> None:
    cells = row(1, "000000000001", "CB1")
    cells[2] = datetime(1979, 3, 12)  # type: ignore[call-overload]
    from_xlsx = parse(xlsx_bytes([cells]), "dv.xlsx")
    from_csv = parse(csv_bytes([row(1, "000000000001", "CB1")], delimiter=";", bom=False))
    assert from_xlsx.errors == from_csv.errors == []
    assert from_xlsx.rows[0].date_of_birth == from_csv.rows[0].date_of_birth == date(1979, 3, 12)


def test_headers_are_matched_without_diacritics_or_case() -> None:
    content = "HO VA TEN,ngay sinh,GIOI TINH,so the dang vien,Ngay vao dang,Trang thai,ma to chuc\n"
    content += "Lê Văn Tám,01/01/1970,nam,000000000009,01/01/2000,Chinh thuc,CB1\n"
    parsed = parse(content.encode())
    assert [e.code for e in parsed.errors] == ["official_date_missing"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        ("Họ và tên\nA\n".encode(), "missing_columns"),
        ("Họ và tên,Ngày sinh\n".encode("utf-16"), "unsupported_file"),
        (b"H\xf4 t\xean;Ng\xe0y sinh\n\xc2n;1\n", "unsupported_encoding"),  # Windows-1258
    ],
)
def test_unreadable_files_are_rejected_whole(content: bytes, code: str) -> None:
    with pytest.raises(FileRejected) as caught:
        parse(content)
    assert caught.value.code == code


def test_an_xlsx_bomb_is_refused_before_parsing() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x>" + b" " * 50_000_000 + b"</x>")
    with pytest.raises(FileRejected) as caught:
        parse(buffer.getvalue(), "bomb.xlsx")
    assert caught.value.code == "xlsx_too_large"


def test_too_many_rows_is_a_clear_error() -> None:
    content = csv_bytes([row(i, f"{i:012d}", "CB1") for i in range(1, 12)])
    with pytest.raises(FileRejected) as caught:
        parse_rows(read_table("csv", content), today=TODAY, max_rows=10)
    assert caught.value.code == "too_many_rows"


def test_export_cells_cannot_smuggle_formulas() -> None:
    member_row = parse(csv_bytes([row(1, "000000000001", "CB1")])).rows[0]
    now = datetime(2026, 1, 1)
    member = Member(
        id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        full_name=member_row.full_name,
        date_of_birth=member_row.date_of_birth,
        gender="male",
        ethnicity=None,
        hometown=None,
        citizen_id=None,
        party_card_number=member_row.party_card_number,
        admission_date=member_row.admission_date,
        official_date=member_row.official_date,
        status=member_row.status,
        positions=[],
        phone=None,
        email=None,
        address='=HYPERLINK("http://evil")',
        photo_ref=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    cells = export_cells(1, member, "CB1", "Chi bộ thôn Đông")
    assert cells[1] == member_row.full_name
    assert cells[2] == "12/03/1979"
    assert cells[-1] == '\'=HYPERLINK("http://evil")'
