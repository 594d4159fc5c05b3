"""Workbooks the pipeline hands out: blank templates and the error sheet of a batch."""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterator
from typing import Any

from .spec import ImportKind

ERROR_COLUMN = "错误说明 / errors"
_TEXT_FORMAT = "@"  # Excel's "Text" number format: keeps 18-digit IDs intact


def template_csv(kind: ImportKind) -> bytes:
    """UTF-8 with BOM, so Excel opens the Chinese headers correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.title for c in kind.columns])
    for example in kind.example_rows:
        writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: ImportKind) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet: Any = workbook.active
    sheet.title = kind.name
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(kind.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.title)
        cell.font = bold
        if column.required:
            cell.fill = required_fill
        hint = column.note or ""
        if column.example:
            hint = f"{hint}\n例 / e.g.: {column.example}".strip()
        if hint:
            cell.comment = Comment(f"{column.key}\n{hint}", "skills-registry")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column.title) * 2 + 4)
        if column.text:
            sheet.column_dimensions[letter].number_format = _TEXT_FORMAT
            for row in range(2, 1002):  # pre-format rows so typed IDs stay text
                sheet.cell(row=row, column=index).number_format = _TEXT_FORMAT
    for offset, example in enumerate(kind.example_rows, start=2):
        for index, value in enumerate(example, start=1):
            sheet.cell(row=offset, column=index, value=value)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def read_sheet_payload(plain: bytes) -> Iterator[dict[str, Any]]:
    for line in zlib.decompress(plain).splitlines():
        if line:
            yield json.loads(line)


def write_sheet_payload(items: list[dict[str, Any]]) -> bytes:
    """The inverse of read_sheet_payload: zlib-compressed JSON lines."""
    lines = b"".join(json.dumps(i, ensure_ascii=False).encode() + b"\n" for i in items)
    return zlib.compress(lines, 6)


def error_workbook(plain: bytes, title: str) -> bytes:
    """The rows as the clerk wrote them, each with its errors; fix them and upload again.

    Every cell is formatted as text, so 18-digit ID numbers survive the round trip.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook(write_only=True)
    sheet: Any = workbook.create_sheet(title[:31] or "errors")
    items = read_sheet_payload(plain)
    head = next(items)
    header: list[str] = head["header"]
    bold = Font(bold=True)
    red = PatternFill("solid", fgColor="F8CBAD")
    wrap = Alignment(wrap_text=True, vertical="top")

    def cell(value: Any, *, font: Any = None, fill: Any = None) -> Any:
        made = WriteOnlyCell(sheet, value=value)
        made.number_format = _TEXT_FORMAT
        if font is not None:
            made.font = font
        if fill is not None:
            made.fill = fill
        return made

    sheet.append([cell(h, font=bold) for h in header] + [cell(ERROR_COLUMN, font=bold)])
    for item in items:
        values: list[Any] = list(item["cells"])
        values += [""] * (len(header) - len(values))
        row = [cell(v or None) for v in values]
        if item["error"]:
            message = cell(f"第{item['row']}行 / row {item['row']}：{item['error']}", fill=red)
            message.alignment = wrap
            row.append(message)
        else:
            row.append(cell(None))
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
