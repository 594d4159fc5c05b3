"""Checking a person's fields: shared by the API and the upload rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from typing_extensions import TypeIs

from ..districts import parse_district
from ..errors import FieldError
from ..identity import (
    IdDocument,
    IdDocumentError,
    collapse_spaces,
    normalise_text,
    parse_gender,
    parse_id_document,
)

CATEGORIES: tuple[str, ...] = ("农民工", "就业困难人员", "高校毕业生", "企业职工", "其他")


@dataclass(frozen=True)
class PersonInput:
    document: IdDocument
    name: str
    gender: str | None
    birth_date: date | None
    district: str | None
    category: str | None
    phone: str | None


def normalise_name(value: str) -> str:
    return collapse_spaces(value)


def same_name(a: str, b: str) -> bool:
    return normalise_name(a).casefold() == normalise_name(b).casefold()


_LANDLINE = re.compile(r"\+?[0-9-]{7,20}")


def parse_phone(value: str) -> str:
    phone = normalise_text(value)
    mobile_shaped = len(phone) == 11 and phone[0] == "1" and phone.isascii() and phone.isdigit()
    if mobile_shaped and phone[1] in "3456789":
        return phone
    if _LANDLINE.fullmatch(phone) and not mobile_shaped:
        return phone
    raise ValueError(
        f"手机号码“{value}”格式不对，应为11位手机号 / phone should be an 11-digit mobile"
    )


def _filled(value: str | None) -> TypeIs[str]:
    # str.strip() removes the same spaces (full-width ones too) as normalise_text.
    return bool(value and value.strip())


def check_person(
    *,
    name: str | None,
    id_type: str | None,
    id_number: str | None,
    today: date,
    nationality: str | None = None,
    gender: str | None = None,
    birth_date: date | None = None,
    district: str | None = None,
    category: str | None = None,
    phone: str | None = None,
) -> tuple[PersonInput | None, list[FieldError]]:
    """Every problem with the person's fields at once, so a clerk fixes a row in one go."""
    errors: list[FieldError] = []
    clean_name = normalise_name(name or "")
    if not clean_name:
        errors.append(FieldError("name", "姓名不能为空 / name is required"))
    elif len(clean_name) > 100:
        errors.append(FieldError("name", "姓名过长（最多100字）/ name too long"))

    document: IdDocument | None = None
    if not _filled(id_type):
        errors.append(FieldError("id_type", "证件类型不能为空 / ID type is required"))
    elif not _filled(id_number):
        errors.append(FieldError("id_number", "证件号码不能为空 / ID number is required"))
    else:
        try:
            document = parse_id_document(id_type, id_number, today=today, nationality=nationality)
        except IdDocumentError as exc:
            errors.append(FieldError(exc.field, exc.message))

    clean_gender: str | None = None
    if _filled(gender):
        try:
            clean_gender = parse_gender(gender)
        except IdDocumentError as exc:
            errors.append(FieldError(exc.field, exc.message))
    if document and document.gender:
        if clean_gender and clean_gender != document.gender:
            errors.append(
                FieldError(
                    "gender",
                    f"性别与证件号码不符（号码显示为{document.gender}）/ gender disagrees with the ID number",
                )
            )
        clean_gender = document.gender

    if document and document.birth_date:
        if birth_date and birth_date != document.birth_date:
            errors.append(
                FieldError(
                    "birth_date",
                    "出生日期与证件号码不符 / birth date disagrees with the ID number",
                )
            )
        birth_date = document.birth_date
    elif birth_date and birth_date > today:
        errors.append(
            FieldError("birth_date", "出生日期不能晚于今天 / birth date is in the future")
        )

    clean_district: str | None = None
    if _filled(district):
        try:
            clean_district = parse_district(district)
        except ValueError as exc:
            errors.append(FieldError("district", str(exc)))

    clean_phone: str | None = None
    if _filled(phone):
        try:
            clean_phone = parse_phone(phone)
        except ValueError as exc:
            errors.append(FieldError("phone", str(exc)))

    if errors or document is None:
        return None, errors
    return (
        PersonInput(
            document=document,
            name=clean_name,
            gender=clean_gender,
            birth_date=birth_date,
            district=clean_district,
            category=category,
            phone=clean_phone,
        ),
        [],
    )
