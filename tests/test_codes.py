import pytest

from skills_registry.districts import parse_district
from skills_registry.occupations import parse_level, parse_occupation_code
from skills_registry.providers.credit_code import parse_credit_code


def test_credit_code_design_example() -> None:
    assert parse_credit_code("91350200MA2Y0A1B5C") == "91350200MA2Y0A1B5C"
    assert parse_credit_code("91350200ma2y0a1b5c") == "91350200MA2Y0A1B5C"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350200MA2Y0A1B5D", "校验位应为 C"),
        ("91350200MA2Y0A1B5", "18位"),
        ("91350200MA2Y0AIB5C", "不允许的字符"),
    ],
)
def test_credit_code_refusals(code: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_credit_code(code)


@pytest.mark.parametrize(
    ("spelling", "level"),
    [("3", 3), ("三级", 3), ("高级工", 3), ("三级/高级工", 3), ("技师", 2), ("一级", 1), (5, 5)],
)
def test_level_spellings(spelling: str | int, level: int) -> None:
    assert parse_level(spelling) == level


def test_titles_only_where_allowed() -> None:
    assert parse_level("首席技师", allow_titles=True) == -1
    assert parse_level("特级技师", allow_titles=True) == 0
    with pytest.raises(ValueError):
        parse_level("特级技师")
    with pytest.raises(ValueError):
        parse_level("六级")


def test_districts_by_code_and_name() -> None:
    assert parse_district("思明") == parse_district("思明区") == parse_district("350203")
    with pytest.raises(ValueError, match="厦门"):
        parse_district("鼓楼区")


def test_occupation_code_form() -> None:
    assert parse_occupation_code("６-31-01-03") == "6-31-01-03"
    with pytest.raises(ValueError, match="6-31-01-03"):
        parse_occupation_code("63101")
