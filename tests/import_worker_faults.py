"""Row checkers that fail inside the import worker (imported there by name, so module level)."""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import Any

from skills_registry.errors import FieldError
from skills_registry.imports.spec import Row

FAILING_ROW = 5


class RaisingChecker:
    """A checker with a bug: it raises on one row."""

    def check(self, row: Row) -> tuple[Any, list[FieldError]]:
        if row.number == FAILING_ROW:
            raise RuntimeError(f"checker bug on row {row.number}")
        return row.number, []

    def key(self, value: Any) -> Hashable:
        return value

    def warnings(self) -> list[str]:
        return []


class DyingChecker(RaisingChecker):
    """A worker that dies (as under the OOM killer) half-way through the file."""

    def check(self, row: Row) -> tuple[Any, list[FieldError]]:
        if row.number == FAILING_ROW:
            os._exit(9)
        return row.number, []


class EnvironmentChecker(RaisingChecker):
    """Answers every row with the names of the server settings the worker can see."""

    def check(self, row: Row) -> tuple[Any, list[FieldError]]:
        seen = sorted(name for name in os.environ if name.startswith("SKILLS_REGISTRY_"))
        return None, [FieldError("", "environment: " + ",".join(seen))]
