"""Base for every I/O schema: unknown fields are refused, and so is the NUL character."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Integer columns and record ids (`serial`) are int4 on PostgreSQL: a larger number names no
# record and fits no column, and the driver would refuse it with an error, not a 422.
MAX_INT4 = 2**31 - 1
MAX_RECORD_ID = MAX_INT4
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]

NUL_MESSAGE = "不能包含空字符 U+0000 / must not contain the NUL character (U+0000)"


def holds_nul(value: Any) -> bool:
    """U+0000 anywhere in a string, or in the strings of a list or mapping."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    return False


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000 (SQLite would store it): refuse it on both.
        if holds_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value
