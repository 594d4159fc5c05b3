"""What a domain hands the upload pipeline: columns, a row checker, a row store.

See the package docstring (`skills_registry.imports`) for the whole interface.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar
from uuid import UUID

from ..context import Context
from ..errors import FieldError
from .reader import Cell, cell_text

T = TypeVar("T")
Mode = Literal["all", "valid_only"]
MODES: tuple[str, ...] = ("all", "valid_only")


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    `key` is the English name (accepted as a header too, spaces/underscores/case ignored);
    `title` the Chinese header schools write; `required` means the column must be present
    (whether a cell may be blank is the row checker's business).
    """

    key: str
    title: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    example: str = ""
    note: str = ""  # a hint under the header in the template
    text: bool = False  # the template formats the column as text (ID numbers, phones)


_BRACKETED = re.compile(r"[(\[（【].*?[)\]）】]")


def normalise_header(value: Cell) -> str:
    """`证件号码`, ` 证件 号码 `, `＊证件号码（必填）`, `ID_Number`, `id number` → one spelling."""
    text = unicodedata.normalize("NFKC", cell_text(value))
    text = _BRACKETED.sub("", text)
    return re.sub(r"[\s_\-*:：]+", "", text).casefold()


@dataclass(frozen=True)
class Row:
    """One data row: `number` as Excel shows it, `cells` by column key (absent → None)."""

    number: int
    cells: Mapping[str, Cell]

    def raw(self, key: str) -> Cell:
        return self.cells.get(key)

    def text(self, key: str) -> str:
        """The cell as text, NFKC-normalised and stripped ("" when blank)."""
        value = self.cells.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return unicodedata.normalize("NFKC", value).strip() if value else ""
        return unicodedata.normalize("NFKC", cell_text(value)).strip()

    def date(self, key: str) -> date | None:
        """A date cell or text (`2024-05-01`, `2024/5/1`, `2024年5月1日`, `20240501`);
        None when blank; ValueError with a clerk-readable message otherwise."""
        return parse_date(self.cells.get(key))


_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_EXCEL_EPOCH = date(1899, 12, 30)


def row_maker(positions: Sequence[tuple[int, str]]) -> Callable[[int, Sequence[Cell]], Row]:
    """Turns a line of cells into a Row keyed by column, given the header's (cell index, key)."""
    keys = [key for _, key in positions]
    indexes = [index for index, _ in positions]
    last = max(indexes)
    pick = operator.itemgetter(*indexes)

    def make(number: int, cells: Sequence[Cell]) -> Row:
        if len(cells) > last:
            picked = pick(cells)
            if len(indexes) == 1:
                picked = (picked,)
            return Row(number, dict(zip(keys, picked, strict=True)))
        width = len(cells)  # a short row (trailing empty cells left out)
        return Row(number, {key: cells[i] if i < width else None for i, key in positions})

    return make


def duplicate_row(first: int) -> FieldError:
    return FieldError(
        "", f"与第{first}行重复（同一人同一培训），请删除其中一行 / duplicates row {first}"
    )


def parse_date(value: Cell) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A date cell whose format was lost shows as Excel's serial number (days since 1899-12-30).
        if 20000 <= value <= 80000:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(_date_message(cell_text(value)))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    compact = re.sub(r"\s+", "", text) if "年" in text else text
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(compact)
        if match:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                break
    raise ValueError(_date_message(text))


def _date_message(text: str) -> str:
    return (
        f"日期“{text}”无法识别，请写成 2024-05-01、2024/5/1 或 2024年5月1日"
        " / unknown date: write 2024-05-01, 2024/5/1 or 2024年5月1日"
    )


@dataclass
class Outcome:
    """What storing one valid row did. `detail` is echoed in the answer (see ImportKind)."""

    status: Literal["stored", "unchanged", "rejected"]
    errors: list[FieldError] = field(default_factory=list)
    detail: dict[str, Any] | None = None

    @classmethod
    def rejected(cls, column: str | None, message: str) -> Outcome:
        return cls("rejected", [FieldError(column or "", message)])


STORED = Outcome("stored")
UNCHANGED = Outcome("unchanged")


@dataclass(frozen=True)
class ImportContext:
    """Handed to `ImportKind.open`: who uploads, for which provider, in which batch."""

    ctx: Context
    provider: Mapping[str, Any]  # the provider's row (id, code, kind, ...)
    batch_id: UUID
    mode: Mode


class RowChecker(Protocol, Generic[T]):
    """The database-free half of a RowHandler, when it can check rows in a worker process
    (a WorkerRowHandler's): it is pickled into the worker, and so are its values
    and errors on the way back, so keep them plain (tuples, strings, dates). `check`,
    `key` and `warnings` mean what they mean on RowHandler."""

    def check(self, row: Row) -> tuple[T | None, list[FieldError]]: ...

    def key(self, value: T) -> Hashable: ...

    def warnings(self) -> list[str]: ...


class RowHandler(Protocol, Generic[T]):
    """A domain's side of one upload (made by `ImportKind.open` inside the transaction)."""

    def check(self, row: Row) -> tuple[T | None, list[FieldError]]:
        """Validate one row without the database; FieldError.field is a column key."""
        ...

    def key(self, value: T) -> Hashable:
        """The natural key: two rows of one file with the same key are duplicates."""
        ...

    async def store(self, rows: Sequence[tuple[int, T]]) -> Sequence[Outcome]:
        """Store a chunk of valid rows (row number, value), one Outcome each, in order.

        Runs inside the upload's single write transaction. A row refused here (e.g. a name
        disagreeing with the stored person) must leave nothing of itself behind.
        """
        ...

    def warnings(self) -> list[str]:
        """Warnings about the file as a whole (e.g. occupation codes missing from the catalogue)."""
        ...


class WorkerRowHandler(RowHandler[T], Protocol):
    """A RowHandler whose checks can run in a worker process (see RowChecker): large files
    of a kind whose handler has `worker_checker` are read and checked there."""

    def worker_checker(self) -> RowChecker[T]:
        """A checker equal to `check` (which the pipeline then does not call)."""
        ...


@dataclass(frozen=True)
class ImportKind:
    """A sheet the pipeline accepts: `POST /api/v1/imports/{name}` and its templates."""

    name: str  # URL segment and ImportBatch.kind, e.g. "enrolments"
    title: str  # e.g. "培训报名表 / enrolment sheet"
    columns: tuple[Column, ...]
    open: Callable[[ImportContext], Awaitable[RowHandler[Any]]]
    details_key: str | None = None  # answer lists [{"row": r, **Outcome.detail}] under this key
    example_rows: tuple[tuple[str, ...], ...] = ()  # for the templates (none by default)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)
