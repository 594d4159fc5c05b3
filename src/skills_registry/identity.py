"""Identity documents (证件): normalisation, checksums, birth dates, masking.

Pure functions, no database: the API, the upload pipeline and the tests share them.
Messages are Chinese first with English after, as clerks read them.
"""

from __future__ import annotations

import gettext
import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache, lru_cache

import pycountry


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
    TW_TRAVEL_PERMIT = "tw_travel_permit"
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"
    PASSPORT = "passport"


ID_TYPE_NAMES: dict[IdType, str] = {
    IdType.RESIDENT_ID: "居民身份证",
    IdType.HMT_RESIDENCE_PERMIT: "港澳台居民居住证",
    IdType.TW_TRAVEL_PERMIT: "台湾居民来往大陆通行证",
    IdType.FOREIGN_PERMANENT_RESIDENCE: "外国人永久居留身份证",
    IdType.PASSPORT: "护照",
}

_ID_TYPE_ALIASES: dict[str, IdType] = {
    **{t.value: t for t in IdType},
    **{name: t for t, name in ID_TYPE_NAMES.items()},
    "身份证": IdType.RESIDENT_ID,
    "外国护照": IdType.PASSPORT,
    "台胞证": IdType.TW_TRAVEL_PERMIT,
    "港澳台居住证": IdType.HMT_RESIDENCE_PERMIT,
    "外国人永久居留证": IdType.FOREIGN_PERMANENT_RESIDENCE,
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_HMT_ADDRESS_CODES = {"810000", "820000", "830000"}


class IdDocumentError(ValueError):
    """A document that cannot be accepted; `field` is the input field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class IdDocument:
    id_type: IdType
    number: str
    nationality: str  # ISO 3166 alpha-3; "CHN" for mainland documents, "" when unknown
    birth_date: date | None
    gender: str | None  # "男" / "女" where the number encodes it

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)

    @property
    def index_material(self) -> str:
        """What the keyed hash is computed over: a person is one (type, [nationality,] number)."""
        if self.id_type is IdType.PASSPORT:
            return f"{self.id_type.value}|{self.nationality}|{self.number}"
        return f"{self.id_type.value}|{self.number}"


_WHITESPACE = re.compile(r"\s+")


def normalise_text(value: str) -> str:
    """NFKC (full-width to half-width) and no spaces of any kind."""
    text = unicodedata.normalize("NFKC", value)
    # Fast path (uploads call this a dozen times a row): letters and digits hold no spaces.
    return text if text.isalnum() else _WHITESPACE.sub("", text)


def collapse_spaces(value: str) -> str:
    """NFKC, each run of spaces (of any kind) made one space, none at the ends: names and
    free text as a person would retype them."""
    text = unicodedata.normalize("NFKC", value)
    return text if text.isalnum() else _WHITESPACE.sub(" ", text).strip()


@lru_cache(maxsize=256)  # a sheet spells these few values the same way row after row
def parse_id_type(value: str) -> IdType:
    key = normalise_text(value)
    found = _ID_TYPE_ALIASES.get(key) or _ID_TYPE_ALIASES.get(key.lower())
    if found is None:
        names = "、".join(ID_TYPE_NAMES.values())
        raise IdDocumentError(
            "id_type", f"证件类型“{value}”无法识别，应为：{names} / unknown ID type"
        )
    return found


_ASCII_ZERO_TIMES_WEIGHTS = ord("0") * sum(_WEIGHTS)


def check_character(first17: str) -> str:
    if len(first17) != len(_WEIGHTS) or not (first17.isascii() and first17.isdigit()):
        raise ValueError("check_character needs 17 digits")
    # Weighted over the ASCII codes, less what the codes of "0" add: no int() per digit.
    total = sum(map(operator.mul, first17.encode(), _WEIGHTS)) - _ASCII_ZERO_TIMES_WEIGHTS
    return _CHECK_CHARS[total % 11]


def _birth_date(digits: str, today: date) -> date:
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise IdDocumentError(
            "id_number",
            f"证件号码中的出生日期 {digits} 不是有效日期 / the birth date in the ID number is not a date",
        ) from None
    if born > today or born.year < 1900:
        raise IdDocumentError(
            "id_number",
            f"证件号码中的出生日期 {born.isoformat()} 不合理 / the birth date in the ID number is impossible",
        )
    return born


def _excel_damage(number: str) -> bool:
    if "E" not in number:  # fast path: what Excel shows always has an exponent
        return False
    return bool(re.fullmatch(r"[0-9](\.[0-9]+)?E\+?[0-9]+", number, re.IGNORECASE))


_EIGHTEEN_DIGITS = re.compile(r"[0-9]{17}[0-9X]")


def _check_18(number: str, today: date, label: str) -> tuple[date, str]:
    if not _EIGHTEEN_DIGITS.fullmatch(number):
        found = "其中有0-9和末位X以外的字符" if len(number) == 18 else f"现为{len(number)}位"
        raise IdDocumentError(
            "id_number",
            f"{label}号码应为18位：17位数字加1位数字或X（{found}）"
            f" / {label} numbers have 17 digits (0-9) and a check digit or X",
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdDocumentError(
            "id_number",
            f"证件号码校验位应为 {expected}，请核对号码是否抄错 / check character should be {expected}",
        )
    born = _birth_date(number[6:14], today)
    gender = "男" if int(number[16]) % 2 == 1 else "女"
    return born, gender


@cache
def _country_codes() -> dict[str, str]:
    """Alpha-3 codes by every accepted spelling (alpha-3, alpha-2, English and Chinese names)."""
    chinese = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        alpha3 = country.alpha_3
        for spelling in (
            alpha3,
            country.alpha_2,
            country.name,
            getattr(country, "common_name", None),
            chinese.gettext(country.name),
        ):
            if spelling:
                codes[normalise_text(spelling).upper()] = alpha3
    codes.update({"中国": "CHN", "俄罗斯联邦": "RUS", "伊朗": "IRN", "阿拉伯联合酋长国": "ARE"})
    return codes


def parse_nationality(value: str) -> str:
    code = _country_codes().get(normalise_text(value).upper())
    if code is None:
        raise IdDocumentError(
            "nationality",
            f"国籍“{value}”无法识别，请填写ISO三位字母代码（如 BRA、RUS）或中文国名"
            " / unknown nationality: use an ISO 3166 alpha-3 code such as BRA",
        )
    return code


def parse_id_document(
    id_type: IdType | str,
    number: str,
    *,
    today: date,
    nationality: str | None = None,
) -> IdDocument:
    """Normalise and check one identity document; raise IdDocumentError naming the field."""
    kind = id_type if isinstance(id_type, IdType) else parse_id_type(id_type)
    clean = normalise_text(number).upper()
    if not clean:
        raise IdDocumentError("id_number", "证件号码不能为空 / the ID number is required")
    if _excel_damage(clean):
        raise IdDocumentError(
            "id_number",
            f"证件号码“{number}”被Excel改成了科学计数法，末几位已丢失：请把该列设为“文本”格式后重新录入"
            " / Excel turned the ID number into a number and lost digits: set the column to Text",
        )

    if kind is IdType.RESIDENT_ID:
        born, gender = _check_18(clean, today, "居民身份证")
        if clean[:6] in _HMT_ADDRESS_CODES:
            raise IdDocumentError(
                "id_type",
                "号码以810000/820000/830000开头的是港澳台居民居住证，请把证件类型改为港澳台居民居住证"
                " / this number belongs to a Hong Kong, Macao or Taiwan residence permit",
            )
        return IdDocument(kind, clean, "CHN", born, gender)

    if kind is IdType.HMT_RESIDENCE_PERMIT:
        born, gender = _check_18(clean, today, "港澳台居民居住证")
        if clean[:6] not in _HMT_ADDRESS_CODES:
            raise IdDocumentError(
                "id_number",
                "港澳台居民居住证号码应以810000、820000或830000开头"
                " / residence permit numbers start with 810000, 820000 or 830000",
            )
        return IdDocument(kind, clean, "CHN", born, gender)

    if kind is IdType.TW_TRAVEL_PERMIT:
        old = re.fullmatch(r"([0-9]{10})[(\[]?([A-Z])[)\]]?", clean)
        if re.fullmatch(r"[0-9]{8}", clean):
            return IdDocument(kind, clean, "CHN", None, None)
        if old:
            return IdDocument(kind, f"{old.group(1)}({old.group(2)})", "CHN", None, None)
        raise IdDocumentError(
            "id_number",
            "台湾居民来往大陆通行证号码应为8位数字（2008年前签发的为10位数字加括号内1个字母）"
            " / Taiwan travel permit numbers have 8 digits (older ones: 10 digits and a letter)",
        )

    if kind is IdType.FOREIGN_PERMANENT_RESIDENCE:
        if re.fullmatch(r"[A-Z]{3}[0-9]{12}", clean):
            return IdDocument(
                kind, clean, parse_nationality(nationality) if nationality else "", None, None
            )
        if not clean.startswith("9"):
            raise IdDocumentError(
                "id_number",
                "外国人永久居留身份证号码应为以9开头的18位，或3个字母加12位数字的旧版15位"
                " / foreign permanent residence ID numbers have 18 characters starting with 9",
            )
        _check_18_digits_only(clean)
        return IdDocument(
            kind, clean, parse_nationality(nationality) if nationality else "", None, None
        )

    if not nationality or not normalise_text(nationality):
        raise IdDocumentError(
            "nationality",
            "护照须填写国籍（ISO三位字母代码，如 BRA）/ a passport needs its nationality (e.g. BRA)",
        )
    country = parse_nationality(nationality)
    if not re.fullmatch(r"[A-Z0-9]{5,20}", clean):
        raise IdDocumentError(
            "id_number",
            "护照号码应为5至20位字母或数字 / passport numbers have 5 to 20 letters or digits",
        )
    return IdDocument(kind, clean, country, None, None)


def _check_18_digits_only(number: str) -> None:
    if not _EIGHTEEN_DIGITS.fullmatch(number):
        raise IdDocumentError(
            "id_number",
            "外国人永久居留身份证号码应为18位：17位数字加1位数字或X"
            " / the number has 17 digits and a check digit or X",
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdDocumentError(
            "id_number",
            f"证件号码校验位应为 {expected}，请核对号码是否抄错 / check character should be {expected}",
        )


def mask_id_number(number: str) -> str:
    """`350203199001011234` → `3502**********1234`; never shows more than half."""
    n = len(number)
    keep = 4 if n >= 15 else 2 if n >= 8 else 1
    if n <= 2 * keep:
        return "*" * n
    return number[:keep] + "*" * (n - 2 * keep) + number[-keep:]


def mask_name(name: str) -> str:
    """First character and a star: what a QR token may carry."""
    return f"{name[:1]}*" if name else ""


GENDERS = {"男": "男", "女": "女", "M": "男", "F": "女", "MALE": "男", "FEMALE": "女"}


@lru_cache(maxsize=256)  # a sheet spells these few values the same way row after row
def parse_gender(value: str) -> str:
    found = GENDERS.get(normalise_text(value).upper())
    if found is None:
        raise IdDocumentError("gender", f"性别“{value}”应为“男”或“女” / gender must be 男 or 女")
    return found
