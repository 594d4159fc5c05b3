"""The progress figures and the certificate list as .xlsx (openpyxl) and CSV.

CSV is UTF-8 with a BOM (so Excel opens Chinese correctly); in both formats a text cell
that starts with = + - @ (or a tab / carriage return) is prefixed with an apostrophe so a
spreadsheet never runs it as a formula.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .schemas import BreakdownRow, ProgressOut
from .services import CERTIFICATE_LIST_HEADERS, INDICATOR_CODES, INDICATORS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FIGURE_HEADERS = (
    "维度",
    "代码",
    "名称",
    *(INDICATORS[code].name for code in INDICATOR_CODES),
)
INDICATOR_HEADERS = ("序号", "指标代码", "指标", "单位", "目标", "完成", "完成率", "时间进度")

BREAKDOWNS = (
    ("by_district", "区"),
    ("by_occupation", "职业"),
    ("by_level", "等级"),
    ("by_provider", "机构"),
    ("by_source", "来源"),
)


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


def figure_rows(data: ProgressOut) -> list[list[Any]]:
    """One flat table: the total, every year, then every breakdown; all four counts each."""
    rows: list[list[Any]] = [
        ["合计", "", "合计", *(getattr(data.totals, c) for c in INDICATOR_CODES)]
    ]
    for year, figures in data.by_year.items():
        rows.append(["年度", year, f"{year}年", *(getattr(figures, c) for c in INDICATOR_CODES)])
    for attribute, label in BREAKDOWNS:
        item: BreakdownRow
        for item in getattr(data, attribute):
            rows.append([label, item.key, item.name, *(getattr(item, c) for c in INDICATOR_CODES)])
    return rows


def indicator_rows(data: ProgressOut) -> list[list[Any]]:
    return [
        [
            item.number,
            item.code,
            item.name,
            item.unit,
            item.target,
            item.value,
            item.ratio,
            data.elapsed,
        ]
        for item in data.indicators
    ]


def _title(data: ProgressOut) -> str:
    scope = f"（机构 {data.provider}）" if data.provider else ""
    return f"{data.period.name}{scope} 截至 {data.as_of.isoformat()}"


def _csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue()


def figures_csv(data: ProgressOut) -> bytes:
    return ("\ufeff" + _csv_lines([FIGURE_HEADERS, *figure_rows(data)])).encode("utf-8")


async def certificates_csv(chunks: AsyncIterator[list[list[Any]]]) -> AsyncIterator[bytes]:
    """The certificate list as CSV, streamed chunk by chunk (BOM first)."""
    yield ("\ufeff" + _csv_lines([CERTIFICATE_LIST_HEADERS])).encode("utf-8")
    async for rows in chunks:
        yield _csv_lines(rows).encode("utf-8")


async def workbook(data: ProgressOut, certificates: AsyncIterator[list[list[Any]]]) -> bytes:
    """指标 (targets and values), 分项 (every breakdown) and 证书清单 (the certificate list);
    openpyxl's write-only mode streams the rows to a temporary file."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("指标")
    sheet.append([_title(data)])
    sheet.append(list(INDICATOR_HEADERS))
    for row in indicator_rows(data):
        sheet.append([safe_cell(v) for v in row])
    sheet = book.create_sheet("分项")
    sheet.append(list(FIGURE_HEADERS))
    for row in figure_rows(data):
        sheet.append([safe_cell(v) for v in row])
    sheet = book.create_sheet("证书清单")
    sheet.append(list(CERTIFICATE_LIST_HEADERS))
    async for rows in certificates:
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        return handle.read()
