"""Reading and writing the provincial member export (CSV or XLSX), free of I/O.

Every row is checked on its own (required fields, real dates, formats, member rules) and
against the other rows of the file (duplicate card numbers and citizen ids). Checks that need
the database (organisation exists, citizen id held by someone else) are the service's job.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sotay_common.events.members import MemberStatus, Position
from sotay_common.text import collapse_spaces, fold, nfc
from sotay_members.domain import (
    GENDER_LABELS,
    POSITION_LABELS,
    STATUS_LABELS,
    Member,
    RuleViolation,
    check_member_facts,
    normalise_name,
)

MAX_ROWS = 500_000
MAX_XLSX_UNCOMPRESSED = 1_000_000_000
MAX_XLSX_RATIO = 200

# Column order of the export; the import accepts any order and these spellings.
COLUMNS: list[tuple[str, str]] = [
    ("row_number", "STT"),
    ("full_name", "Họ và tên"),
    ("date_of_birth", "Ngày sinh"),
    ("gender", "Giới tính"),
    ("ethnicity", "Dân tộc"),
    ("hometown", "Quê quán"),
    ("citizen_id", "Số CCCD"),
    ("party_card_number", "Số thẻ đảng viên"),
    ("admission_date", "Ngày vào Đảng"),
    ("official_date", "Ngày chính thức"),
    ("status", "Trạng thái"),
    ("organization_code", "Mã tổ chức"),
    ("organization_name", "Tên tổ chức"),
    ("positions", "Chức vụ"),
    ("phone", "Điện thoại"),
    ("email", "Email"),
    ("address", "Địa chỉ"),
]
_HEADER_ALIASES: dict[str, str] = {
    "stt": "row_number",
    "tt": "row_number",
    "ho va ten": "full_name",
    "ho ten": "full_name",
    "ho ten dang vien": "full_name",
    "ngay sinh": "date_of_birth",
    "ngay thang nam sinh": "date_of_birth",
    "gioi tinh": "gender",
    "dan toc": "ethnicity",
    "que quan": "hometown",
    "so cccd": "citizen_id",
    "cccd": "citizen_id",
    "so can cuoc": "citizen_id",
    "so can cuoc cong dan": "citizen_id",
    "so dinh danh": "citizen_id",
    "so the dang vien": "party_card_number",
    "so the": "party_card_number",
    "so the dv": "party_card_number",
    "ngay vao dang": "admission_date",
    "ngay ket nap": "admission_date",
    "ngay chinh thuc": "official_date",
    "ngay vao dang chinh thuc": "official_date",
    "trang thai": "status",
    "ma to chuc": "organization_code",
    "ma chi bo": "organization_code",
    "ma to chuc dang": "organization_code",
    "ten to chuc": "organization_name",
    "chi bo": "organization_name",
    "chuc vu": "positions",
    "chuc vu dang": "positions",
    "dien thoai": "phone",
    "so dien thoai": "phone",
    "email": "email",
    "thu dien tu": "email",
    "dia chi": "address",
    "noi o hien nay": "address",
}
REQUIRED = (
    "full_name",
    "date_of_birth",
    "gender",
    "party_card_number",
    "admission_date",
    "status",
    "organization_code",
)
_FIELD_LABELS = dict(COLUMNS)
_STATUS_BY_LABEL = {fold(label): status for status, label in STATUS_LABELS.items()}
_POSITION_BY_LABEL = {fold(label): position for position, label in POSITION_LABELS.items()} | {
    "uy vien": Position.COMMITTEE_MEMBER,
    "dang uy vien": Position.COMMITTEE_MEMBER,
    "pho bi thu": Position.DEPUTY_SECRETARY,
}
_GENDER_BY_LABEL = {"nam": "male", "nu": "female", "male": "male", "female": "female"}
_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_PHONE = re.compile(r"^(?:\+84|0)\d{9,10}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"\D")


class FileRejected(Exception):
    """The file as a whole cannot be read: wrong format, encoding, missing columns, too big."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(f"{code}: {message_vi}")
        self.code = code
        self.message_vi = message_vi


@dataclass(frozen=True)
class RowError:
    row_number: int
    field: str
    code: str
    message: str
    value: str | None = None


@dataclass(frozen=True)
class MemberRow:
    """One valid row of an import, typed."""

    row_number: int
    full_name: str
    date_of_birth: date
    gender: str
    ethnicity: str | None
    hometown: str | None
    citizen_id: str | None
    party_card_number: str
    admission_date: date
    official_date: date | None
    status: MemberStatus
    organization_code: str
    positions: list[Position]
    phone: str | None
    email: str | None
    address: str | None


@dataclass
class ParsedFile:
    rows: list[MemberRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0


def header_field(header: str) -> str | None:
    return _HEADER_ALIASES.get(collapse_spaces(fold(nfc(header)).replace("_", " ")))


# -- reading files ------------------------------------------------------------------------------


def sniff_format(file_name: str, content: bytes) -> str:
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise FileRejected("invalid_xlsx", "Tệp XLSX bị hỏng hoặc không đúng định dạng.")
    if b"\x00" in content[:4096]:
        raise FileRejected("unsupported_file", "Chỉ chấp nhận tệp CSV (UTF-8) hoặc Excel (.xlsx).")
    return "csv"


def read_table(file_format: str, content: bytes) -> Iterator[list[Any]]:
    """Rows of cells, header first."""
    if file_format == "xlsx":
        return _read_xlsx(content)
    return _read_csv(content)


def _read_csv(content: bytes) -> Iterator[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            "unsupported_encoding",
            "Tệp CSV phải được lưu với bảng mã UTF-8 (trong Excel: Lưu thành CSV UTF-8).",
        ) from exc
    sample = text[:8192]
    first_line = sample.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return iter(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _check_zip(content: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise FileRejected("invalid_xlsx", "Tệp XLSX bị hỏng hoặc không đúng định dạng.") from exc
    with archive:
        infos = archive.infolist()
        total = sum(i.file_size for i in infos)
        if (
            len(infos) > 10_000
            or total > MAX_XLSX_UNCOMPRESSED
            or total > MAX_XLSX_RATIO * len(content)
        ):
            raise FileRejected(
                "xlsx_too_large",
                "Tệp XLSX giải nén quá lớn (có thể là tệp độc hại). Vui lòng xuất lại tệp.",
            )


def _read_xlsx(content: bytes) -> Iterator[list[Any]]:
    _check_zip(content)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise FileRejected("invalid_xlsx", "Tệp XLSX bị hỏng hoặc không đúng định dạng.") from exc

    def rows() -> Iterator[list[Any]]:
        try:
            sheet = workbook.worksheets[0]
            for values in sheet.iter_rows(values_only=True):
                yield list(values)
        finally:
            workbook.close()

    return rows()


# -- checking rows ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return collapse_spaces(nfc(str(value)))


def _parse_date(value: Any) -> date | None:
    """None for an empty cell; ValueError for something that is not a real date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    match = _DATE.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
    else:
        iso = _ISO_DATE.match(text)
        if not iso:
            raise ValueError("format")
        year, month, day = (int(g) for g in iso.groups())
    return date(year, month, day)  # ValueError for 31/02


def _digits(value: Any) -> str:
    return _DIGITS.sub("", _text(value))


class _RowChecker:
    def __init__(self, row_number: int, cells: dict[str, Any], today: date) -> None:
        self.row_number = row_number
        self.cells = cells
        self.today = today
        self.errors: list[RowError] = []

    def error(self, field_name: str, code: str, message: str) -> None:
        value = _text(self.cells.get(field_name)) or None
        self.errors.append(RowError(self.row_number, field_name, code, message, value))

    def text(self, name: str, *, max_length: int = 200) -> str | None:
        value = _text(self.cells.get(name))
        if not value:
            if name in REQUIRED:
                self.error(name, "required", f"Thiếu {_FIELD_LABELS[name].lower()}.")
            return None
        if len(value) > max_length:
            self.error(name, "too_long", f"{_FIELD_LABELS[name]} dài quá {max_length} ký tự.")
            return None
        return value

    def day(self, name: str) -> date | None:
        try:
            value = _parse_date(self.cells.get(name))
        except ValueError:
            self.error(
                name,
                "invalid_date",
                f"{_FIELD_LABELS[name]} không phải ngày hợp lệ (định dạng ngày/tháng/năm).",
            )
            return None
        if value is None and name in REQUIRED:
            self.error(name, "required", f"Thiếu {_FIELD_LABELS[name].lower()}.")
        return value

    def choice(self, name: str, choices: dict[str, Any]) -> Any:
        text = self.text(name)
        if text is None:
            return None
        value = choices.get(fold(text))
        if value is None:
            self.error(name, "invalid_choice", f"{_FIELD_LABELS[name]} không hợp lệ: {text}.")
        return value

    def positions(self) -> list[Position]:
        text = self.text("positions")
        if text is None:
            return []
        found = []
        for part in re.split(r"[;,/]", text):
            label = collapse_spaces(fold(part))
            if not label:
                continue
            position = _POSITION_BY_LABEL.get(label)
            if position is None:
                self.error(
                    "positions", "invalid_position", f"Chức vụ không hợp lệ: {part.strip()}."
                )
            elif position not in found:
                found.append(position)
        return found

    def identifier(self, name: str, *, length: int, message: str) -> str | None:
        raw = _text(self.cells.get(name))
        if not raw:
            if name in REQUIRED:
                self.error(name, "required", f"Thiếu {_FIELD_LABELS[name].lower()}.")
            return None
        digits = raw.replace(" ", "").replace(".", "")
        if not digits.isdigit() or len(digits) != length:
            self.error(name, f"invalid_{name}", message)
            return None
        return digits

    def phone(self) -> str | None:
        raw = _text(self.cells.get("phone"))
        if not raw:
            return None
        compact = re.sub(r"[\s.\-()]", "", raw)
        if not _PHONE.match(compact):
            self.error("phone", "invalid_phone", "Số điện thoại không hợp lệ.")
            return None
        return compact

    def email(self) -> str | None:
        value = self.text("email", max_length=254)
        if value is not None and not _EMAIL.match(value):
            self.error("email", "invalid_email", "Địa chỉ email không hợp lệ.")
            return None
        return value

    def check(self) -> MemberRow | None:
        full_name = self.text("full_name", max_length=120)
        date_of_birth = self.day("date_of_birth")
        gender = self.choice("gender", _GENDER_BY_LABEL)
        card = self.identifier(
            "party_card_number", length=12, message="Số thẻ đảng viên phải gồm đúng 12 chữ số."
        )
        citizen_id = self.identifier(
            "citizen_id", length=12, message="Số CCCD phải gồm đúng 12 chữ số."
        )
        admission_date = self.day("admission_date")
        official_date = self.day("official_date")
        status = self.choice("status", _STATUS_BY_LABEL)
        organization_code = self.text("organization_code", max_length=64)
        positions = self.positions()
        phone, email = self.phone(), self.email()
        ethnicity = self.text("ethnicity", max_length=50)
        hometown = self.text("hometown")
        address = self.text("address", max_length=300)
        if (
            self.errors
            or full_name is None
            or date_of_birth is None
            or gender is None
            or card is None
            or admission_date is None
            or status is None
            or organization_code is None
        ):
            return None
        row = MemberRow(
            row_number=self.row_number,
            full_name=normalise_name(full_name),
            date_of_birth=date_of_birth,
            gender=gender,
            ethnicity=ethnicity,
            hometown=hometown,
            citizen_id=citizen_id,
            party_card_number=card,
            admission_date=admission_date,
            official_date=official_date,
            status=status,
            organization_code=organization_code,
            positions=positions,
            phone=phone,
            email=email,
            address=address,
        )
        for violation in check_member_facts(row, today=self.today):
            self.error(violation.field, violation.code, violation.message)
        return None if self.errors else row


def map_header(header: Sequence[Any]) -> dict[int, str]:
    """Column index -> field. Raises FileRejected when required columns are missing."""
    mapping: dict[int, str] = {}
    for index, cell in enumerate(header):
        name = header_field(_text(cell))
        if name is not None and name not in mapping.values():
            mapping[index] = name
    missing = [_FIELD_LABELS[f] for f in REQUIRED if f not in mapping.values()]
    if missing:
        raise FileRejected(
            "missing_columns",
            "Tệp thiếu các cột bắt buộc: " + ", ".join(missing) + ".",
        )
    return mapping


def parse_rows(
    table: Iterator[list[Any]],
    *,
    today: date,
    max_rows: int = MAX_ROWS,
    on_progress: Any = None,
) -> ParsedFile:
    """Checks every row; row numbers are the spreadsheet's (header = row 1)."""
    header = next((row for row in table if any(_text(c) for c in row)), None)
    if header is None:
        raise FileRejected("empty_file", "Tệp không có dữ liệu.")
    mapping = map_header(header)
    parsed = ParsedFile()
    seen_cards: dict[str, int] = {}
    seen_citizen_ids: dict[str, int] = {}
    for row_number, cells in enumerate(table, start=2):
        if not any(_text(c) for c in cells):
            continue
        parsed.total_rows += 1
        if parsed.total_rows > max_rows:
            raise FileRejected(
                "too_many_rows",
                f"Tệp có quá {max_rows:,} dòng. Vui lòng chia nhỏ tệp.".replace(",", "."),
            )
        values = {name: cells[i] for i, name in mapping.items() if i < len(cells)}
        checker = _RowChecker(row_number, values, today)
        row = checker.check()
        if row is not None:
            _check_duplicates(row, seen_cards, seen_citizen_ids, checker)
        if checker.errors:
            parsed.errors.extend(checker.errors)
        elif row is not None:
            parsed.rows.append(row)
        if on_progress is not None and parsed.total_rows % 5000 == 0:
            on_progress(parsed.total_rows)
    return parsed


def _check_duplicates(
    row: MemberRow,
    seen_cards: dict[str, int],
    seen_citizen_ids: dict[str, int],
    checker: _RowChecker,
) -> None:
    first = seen_cards.setdefault(row.party_card_number, row.row_number)
    if first != row.row_number:
        checker.error(
            "party_card_number",
            "duplicate_in_file",
            f"Số thẻ đảng viên trùng với dòng {first}.",
        )
    if row.citizen_id:
        first = seen_citizen_ids.setdefault(row.citizen_id, row.row_number)
        if first != row.row_number:
            checker.error("citizen_id", "duplicate_in_file", f"Số CCCD trùng với dòng {first}.")


def violation_error(row_number: int, violation: RuleViolation) -> RowError:
    return RowError(row_number, violation.field, violation.code, violation.message)


# -- writing the export -------------------------------------------------------------------------


def _format_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _safe_cell(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: keep them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def export_cells(
    index: int, member: Member, organization_code: str, organization_name: str
) -> list[str]:
    cells = [
        str(index),
        member.full_name,
        _format_date(member.date_of_birth),
        GENDER_LABELS.get(member.gender, member.gender),
        member.ethnicity or "",
        member.hometown or "",
        member.citizen_id or "",
        member.party_card_number,
        _format_date(member.admission_date),
        _format_date(member.official_date),
        STATUS_LABELS[member.status],
        organization_code,
        organization_name,
        "; ".join(POSITION_LABELS[p] for p in member.positions),
        member.phone or "",
        member.email or "",
        member.address or "",
    ]
    return [_safe_cell(cell) for cell in cells]


def export_header() -> list[str]:
    return [label for _, label in COLUMNS]


def csv_line(cells: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue().encode()
