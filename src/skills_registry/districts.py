"""Xiamen's districts, accepted as code, short name or full name."""

from __future__ import annotations

from functools import lru_cache

from .identity import normalise_text

DISTRICTS: dict[str, str] = {
    "350203": "思明区",
    "350205": "海沧区",
    "350206": "湖里区",
    "350211": "集美区",
    "350212": "同安区",
    "350213": "翔安区",
}

_BY_SPELLING: dict[str, str] = {}
for _code, _name in DISTRICTS.items():
    _BY_SPELLING[_code] = _code
    _BY_SPELLING[_name] = _code
    _BY_SPELLING[_name.removesuffix("区")] = _code


@lru_cache(maxsize=256)  # a sheet spells these few values the same way row after row
def parse_district(value: str) -> str:
    """Return the district code, or raise ValueError with a clerk-readable message."""
    code = _BY_SPELLING.get(normalise_text(value))
    if code is None:
        names = "、".join(DISTRICTS.values())
        raise ValueError(
            f"所在区“{value}”不是厦门市的区，应为{names}或其代码 / unknown district: use a Xiamen district"
        )
    return code
