"""Reading an uploaded spreadsheet: file type, text encoding, rows as Excel numbers them.

No domain knowledge here. CSV text is strict UTF-8 (a BOM is stripped), else GB18030 (a
superset of GBK), else a clear error: no guessing heuristics. XLSX is read with openpyxl in
read-only (streaming) mode, first worksheet, date cells as dates.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import IO, Any, Literal

Cell = str | int | float | date | datetime | time | bool | None
FileFormat = Literal["csv", "xlsx"]

_CHUNK = 1 << 20
_XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
_CSV_EXTENSIONS = {"", ".csv", ".txt"}


class FileError(Exception):
    """Something about the whole file (answered with `row` and `column` null)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


EMPTY_FILE = "文件是空的，请选择填好的表格 / the file is empty"


@dataclass(frozen=True)
class FileFacts:
    size: int
    sha256: str
    lines: int  # newline count: a row-count estimate for progress bars (CSV)


def scan(file: IO[bytes]) -> FileFacts:
    """Size, SHA-256 and newline count in one streaming pass."""
    file.seek(0)
    digest = hashlib.sha256()
    size = lines = 0
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        lines += chunk.count(b"\n")
    file.seek(0)
    return FileFacts(size=size, sha256=digest.hexdigest(), lines=lines)


def sniff(file: IO[bytes], file_name: str) -> FileFormat:
    """Decide CSV or XLSX from the content (the extension only to refuse the wrong kinds)."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    extension = PurePath(file_name or "").suffix.lower()
    if not head:
        raise FileError(EMPTY_FILE)
    if head.startswith(b"PK\x03\x04"):
        if extension in _CSV_EXTENSIONS - {""}:
            raise FileError(
                "文件内容是Excel工作簿而扩展名是CSV，请另存为 .xlsx 后上传"
                " / the file is a workbook named .csv: save it as .xlsx"
            )
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileError(
            "不支持旧版Excel（.xls）文件，请在Excel中“另存为” .xlsx 或 CSV 后上传"
            " / old .xls workbooks are not supported: save as .xlsx or CSV"
        )
    if extension in _XLSX_EXTENSIONS:
        raise FileError(
            "文件扩展名是 .xlsx 但内容不是Excel工作簿，请重新导出 / the file is named .xlsx but is not a workbook"
        )
    if extension not in _CSV_EXTENSIONS:
        raise FileError(
            f"不支持的文件类型“{extension}”，请上传 .xlsx 或 .csv 文件"
            f" / unsupported file type {extension}: upload .xlsx or .csv"
        )
    return "csv"


def detect_encoding(file: IO[bytes]) -> str:
    """Strict UTF-8 (BOM stripped), else GB18030, else a clear error."""
    for encoding in ("utf-8", "gb18030"):
        file.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            while chunk := file.read(_CHUNK):
                if b"\x00" in chunk:
                    raise FileError(
                        "文件不是文本格式的CSV（可能是UTF-16“Unicode文本”或其他二进制文件），"
                        "请在Excel中另存为“CSV（逗号分隔）”或 .xlsx"
                        " / not a text CSV: save as CSV (comma delimited) or .xlsx"
                    )
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        finally:
            file.seek(0)
        return "utf-8-sig" if encoding == "utf-8" else encoding
    raise FileError(
        "文件编码无法识别（既不是UTF-8也不是GBK/GB18030），请在Excel中另存为“CSV UTF-8”或 .xlsx"
        " / the text is neither UTF-8 nor GBK/GB18030: save as CSV UTF-8 or .xlsx"
    )


class _Unclosable(io.RawIOBase):
    """Lets a TextIOWrapper read a file it must not close (the caller owns the upload)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _csv_rows(file: IO[bytes], encoding: str) -> Iterator[list[Cell]]:
    file.seek(0)
    direct = isinstance(file, io.BufferedIOBase)
    source: Any = file if direct else io.BufferedReader(_Unclosable(file), buffer_size=_CHUNK)
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    try:
        # Each CSV record is one row in Excel, even when a quoted cell holds a line break.
        yield from csv.reader(text)
    except csv.Error as exc:
        raise FileError(f"CSV格式有误：{exc} / malformed CSV: {exc}") from None
    finally:
        # The caller owns (and closes) the file; a reader dropped half-way may outlive it.
        if direct and not file.closed:
            text.detach()


def _xlsx_rows(file: IO[bytes]) -> tuple[Iterator[list[Cell]], int | None]:
    import openpyxl

    file.seek(0)
    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileError(
            f"无法读取该Excel文件（{type(exc).__name__}），请在Excel中重新保存为 .xlsx"
            " / the workbook cannot be read: save it again as .xlsx"
        ) from None
    if not workbook.worksheets:
        raise FileError(EMPTY_FILE)
    sheet: Any = workbook.worksheets[0]
    estimate = sheet.max_row if isinstance(sheet.max_row, int) else None
    # The <dimension> element may be wrong in files written by other tools: read every row.
    sheet.reset_dimensions()

    def rows() -> Iterator[list[Cell]]:
        try:
            for values in sheet.iter_rows(values_only=True):
                yield list(values)
        finally:
            workbook.close()

    return rows(), estimate


def open_rows(file: IO[bytes], file_format: FileFormat) -> tuple[Iterator[list[Cell]], int | None]:
    """Every row from row 1 (gaps kept, so the n-th item is Excel row n) and a row-count estimate."""
    if file_format == "xlsx":
        return _xlsx_rows(file)
    encoding = detect_encoding(file)
    return _csv_rows(file, encoding), None


def rows_after(file: IO[bytes], file_format: FileFormat, header_row: int) -> Iterator[list[Cell]]:
    """The rows below the header, read from the top again."""
    rows, _ = open_rows(file, file_format)
    for _ in range(header_row):
        next(rows, None)
    return rows


def numbered_rows(rows: Iterator[list[Cell]], header_row: int) -> Iterator[tuple[int, list[Cell]]]:
    """The data rows below the header with their Excel numbers, blank ones skipped."""
    number = header_row
    for cells in rows:
        number += 1
        if not is_blank(cells):
            yield number, cells


def cell_text(value: Cell) -> str:
    """A cell as the clerk sees it, for messages, error sheets and text fields."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # Excel keeps 15 significant digits: an 18-digit ID typed as a number shows like this.
        return f"{value:.15G}"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def is_blank(cells: list[Cell]) -> bool:
    for value in cells:
        if value is None:
            continue
        if isinstance(value, str) and not value.strip():
            continue
        return False
    return True
