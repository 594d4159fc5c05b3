"""Skill levels and occupation codes (职业分类大典 2022): parsing shared by every domain."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .identity import normalise_text

# Stored as integers; 特级技师 0 and 首席技师 -1 sit above level 1 ("高级工以上" is level <= 3).
LEVEL_NAMES: dict[int, str] = {
    5: "五级/初级工",
    4: "四级/中级工",
    3: "三级/高级工",
    2: "二级/技师",
    1: "一级/高级技师",
    0: "特级技师",
    -1: "首席技师",
}
CERTIFICATE_LEVELS = (5, 4, 3, 2, 1)
ADVANCED_LEVEL_MAX = 3

_LEVEL_SPELLINGS: dict[str, int] = {}
for _level, _name in LEVEL_NAMES.items():
    _LEVEL_SPELLINGS[_name] = _level
    for _part in _name.split("/"):
        _LEVEL_SPELLINGS[_part] = _level
    _LEVEL_SPELLINGS[str(_level)] = _level
_LEVEL_SPELLINGS.update(
    {"初级": 5, "中级": 4, "高级": 3, "五": 5, "四": 4, "三": 3, "二": 2, "一": 1}
)

OCCUPATION_CODE = re.compile(r"^[1-8]-\d{2}-\d{2}-\d{2}$")


def parse_level(value: str | int, *, allow_titles: bool = False) -> int:
    """`3`, `三级`, `高级工`, `三级/高级工` → 3; titles (特级技师, 首席技师) only where allowed."""
    key = normalise_text(str(value)).removesuffix(".0")
    level = _LEVEL_SPELLINGS.get(key)
    if level is None or (level <= 0 and not allow_titles):
        raise ValueError(
            f"等级“{value}”无法识别，应为1-5或“三级”“高级工”“三级/高级工”等写法"
            " / unknown level: use 1-5, 三级, 高级工 or 三级/高级工"
        )
    return level


def level_name(level: int | None) -> str:
    return "" if level is None else LEVEL_NAMES.get(level, str(level))


def parse_occupation_code(value: str) -> str:
    code = normalise_text(value).replace("—", "-").replace("－", "-")
    if not OCCUPATION_CODE.fullmatch(code):
        raise ValueError(
            f"职业编码“{value}”格式不对，应为“大类-中类-小类-细类”，如 6-31-01-03"
            " / occupation codes look like 6-31-01-03"
        )
    return code


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str
    levels: tuple[int, ...]


@cache
def catalogue() -> dict[str, Occupation]:
    """The known occupations (data, extended by the bureau); an unknown code is a warning."""
    raw = json.loads(resources.files(__package__).joinpath("occupations.json").read_text("utf-8"))
    return {
        item["code"]: Occupation(item["code"], item["name"], tuple(item["levels"]))
        for item in raw["occupations"]
    }


def catalogue_warning(code: str) -> str | None:
    if code in catalogue():
        return None
    return f"职业编码 {code} 不在本系统的职业目录中，请核对 / occupation {code} is not in the catalogue"
