"""Enrolment sheets made in the tests: CSV in any encoding, XLSX with real date cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from tests.factories import nth_resident_id, resident_id

HEADER = [
    "姓名",
    "证件类型",
    "证件号码",
    "性别",
    "手机号码",
    "所在区",
    "人员类别",
    "职业编码",
    "职业名称",
    "工种",
    "申报等级",
    "培训开始日期",
    "培训结束日期",
    "培训状态",
]

ENGLISH_HEADER = [
    "name",
    "id_type",
    "id_number",
    "gender",
    "phone",
    "district",
    "category",
    "occupation_code",
    "occupation_name",
    "trade",
    "level",
    "start_date",
    "end_date",
    "status",
]


def row(
    n: int = 0,
    *,
    name: str | None = None,
    id_number: str | None = None,
    level: Any = "3",
    start: Any = "2024-05-01",
    end: Any = "2024-07-31",
    status: str = "结业",
    category: str = "农民工",
    code: str = "6-31-01-03",
    trade: str = "",
    gender: str = "",
    phone: str = "",
    district: str = "思明",
    id_type: str = "居民身份证",
) -> list[Any]:
    return [
        name if name is not None else f"学员{n}",
        id_type,
        id_number if id_number is not None else nth_resident_id(n),
        gender,
        phone,
        district,
        category,
        code,
        "电工",
        trade,
        level,
        start,
        end,
        status,
    ]


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str] = HEADER,
    encoding: str = "utf-8",
    above: Sequence[Sequence[Any]] = (),
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in above:
        writer.writerow(line)
    writer.writerow(header)
    for line in rows:
        writer.writerow(["" if v is None else v for v in line])
    return out.getvalue().encode(encoding)


def xlsx_bytes(
    rows: Sequence[Sequence[Any]],
    *,
    header: Sequence[str] = HEADER,
    above: Sequence[Sequence[Any]] = (),
) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet: Any = workbook.active
    for line in above:
        sheet.append(list(line))
    sheet.append(list(header))
    for line in rows:
        sheet.append(list(line))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy/m/d"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read_xlsx(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content))
    sheet: Any = workbook.worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


__all__ = ["csv_bytes", "read_xlsx", "resident_id", "row", "xlsx_bytes"]
