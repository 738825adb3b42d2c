"""Import files as a provincial export would look, written by the tests."""

import io
from collections.abc import Sequence

from openpyxl import Workbook

from sotay_members.importing import export_header

HEADER = export_header()


def row(
    index: int,
    card: str,
    org_code: str,
    *,
    name: str = "Trần Văn Bình",
    born: str = "12/03/1979",
    gender: str = "Nam",
    citizen_id: str = "",
    admitted: str = "19/05/2004",
    official: str = "19/05/2005",
    status: str = "Chính thức",
    positions: str = "",
    phone: str = "",
) -> list[str]:
    return [
        str(index),
        name,
        born,
        gender,
        "Kinh",
        "Hòa Bình",
        citizen_id,
        card,
        admitted,
        official,
        status,
        org_code,
        "",
        positions,
        phone,
        "",
        "",
    ]


def csv_bytes(rows: Sequence[Sequence[str]], *, delimiter: str = ",", bom: bool = True) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for cells in rows:
        sheet.append(list(cells))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
