from datetime import date

import pytest

from skills_registry.identity import (
    IdDocumentError,
    IdType,
    check_character,
    mask_id_number,
    mask_name,
    parse_id_document,
    parse_nationality,
)
from tests.factories import resident_id

TODAY = date(2026, 11, 26)


def test_design_example_is_valid() -> None:
    doc = parse_id_document("居民身份证", "11010519491231002X", today=TODAY)
    assert doc.birth_date == date(1949, 12, 31)
    assert doc.gender == "女"
    assert doc.masked == "1101**********002X"


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("35020319900101123", check_character("35020319900101123"))],
)
def test_check_character(first17: str, check: str) -> None:
    assert check_character(first17) == check


def test_wrong_check_character_names_the_right_one() -> None:
    with pytest.raises(IdDocumentError) as caught:
        parse_id_document("居民身份证", "110105194912310021", today=TODAY)
    assert caught.value.field == "id_number"
    assert "校验位应为 X" in caught.value.message
    assert "check character should be X" in caught.value.message


def test_lower_case_x_full_width_and_spaces_are_normalised() -> None:
    doc = parse_id_document("身份证", "１１０１０５ 1949 1231 002x", today=TODAY)
    assert doc.number == "11010519491231002X"
    assert doc.id_type is IdType.RESIDENT_ID


def test_excel_scientific_notation_says_set_column_to_text() -> None:
    with pytest.raises(IdDocumentError) as caught:
        parse_id_document("居民身份证", "3.50203E+17", today=TODAY)
    assert "文本" in caught.value.message


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        (resident_id(born="19900230"), "不是有效日期"),
        (resident_id(born="20300101"), "不合理"),
        ("1101051949123100", "现为16位"),
        # Arabic-Indic digits look like digits to Python but are not an ID number's.
        (
            "\u0661\u0661\u0660\u0661\u0660\u0665\u0661\u0669\u0664\u0669\u0661\u0662\u0663\u0661\u0660\u0660\u0662X",
            "0-9",
        ),
    ],
)
def test_bad_resident_ids(number: str, fragment: str) -> None:
    with pytest.raises(IdDocumentError) as caught:
        parse_id_document("居民身份证", number, today=TODAY)
    assert fragment in caught.value.message


def test_hmt_residence_permit_needs_its_address_code() -> None:
    good = resident_id(region="810000")
    assert parse_id_document("港澳台居民居住证", good, today=TODAY).number == good
    with pytest.raises(IdDocumentError):
        parse_id_document("港澳台居民居住证", resident_id(region="350203"), today=TODAY)
    with pytest.raises(IdDocumentError) as caught:
        parse_id_document("居民身份证", good, today=TODAY)
    assert caught.value.field == "id_type"


def test_taiwan_travel_permit_new_and_old_forms() -> None:
    assert parse_id_document("台湾居民来往大陆通行证", "12345678", today=TODAY).number == "12345678"
    old = parse_id_document("台胞证", "1234567890（B）", today=TODAY)
    assert old.number == "1234567890(B)"
    with pytest.raises(IdDocumentError):
        parse_id_document("台湾居民来往大陆通行证", "1234567", today=TODAY)


def test_foreign_permanent_residence_new_and_old() -> None:
    first17 = "93502019900101001"
    new = first17 + check_character(first17)
    assert parse_id_document("外国人永久居留身份证", new, today=TODAY).number == new
    assert parse_id_document("外国人永久居留身份证", "USA350090001234", today=TODAY)
    with pytest.raises(IdDocumentError):
        parse_id_document(
            "外国人永久居留身份证", first17 + "0" if new[-1] != "0" else first17 + "1", today=TODAY
        )


def test_passport_needs_nationality_and_keys_on_it() -> None:
    with pytest.raises(IdDocumentError) as caught:
        parse_id_document("护照", "FZ1234567", today=TODAY)
    assert caught.value.field == "nationality"
    brazil = parse_id_document("外国护照", "fz1234567", today=TODAY, nationality="巴西")
    russia = parse_id_document("护照", "FZ1234567", today=TODAY, nationality="RUS")
    assert brazil.nationality == "BRA"
    assert brazil.index_material != russia.index_material


def test_nationality_spellings() -> None:
    assert parse_nationality("bra") == "BRA"
    assert parse_nationality("南非") == "ZAF"
    assert parse_nationality("Russian Federation") == "RUS"
    with pytest.raises(IdDocumentError):
        parse_nationality("Atlantis")


def test_masking_never_shows_more_than_half() -> None:
    assert mask_id_number("35020319900101123X") == "3502**********123X"
    assert mask_id_number("12345678") == "12****78"
    masked = mask_id_number("FZ1234567")
    assert sum(ch != "*" for ch in masked) <= len(masked) / 2
    assert mask_name("陈志明") == "陈*"
