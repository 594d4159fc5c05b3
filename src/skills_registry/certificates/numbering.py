"""Certificate numbers (DESIGN §3): the 22-character scheme the registry allocates, and the
permissive check of numbers that arrive from elsewhere. Pure functions, no database.

    S 0000 35 020001 25 5 000123
    | |    |  |      |  | serial (6 digits, per 16-character prefix, never reused)
    | |    |  |      |  level (1-5)
    | |    |  |      year of issue (yy)
    | |    |  evaluator/site serial (the provider's site_code)
    | |    province (35 = Fujian)
    | evaluator code (the provider's evaluator_code, 0000 when registered with the province)
    Y = evaluated by the employer itself (provider kind 企业), S = by a social organisation

Old 职业资格证书 numbers have 16 digits: yy, province (2), city (2), institution type (1),
institution serial (3), level (1), serial (5).
"""

from __future__ import annotations

import re
from datetime import date

from ..identity import normalise_text

PROVINCE = "35"
SERIAL_DIGITS = 6
MAX_SERIAL = 10**SERIAL_DIGITS - 1
ENTERPRISE_KIND = "企业"

NEW_SCHEME = re.compile(r"^[YS]\d{21}$")
OLD_SCHEME = re.compile(r"^\d{16}$")
NEW_LEVEL_INDEX = 15  # the 16th character
OLD_LEVEL_INDEX = 10  # the 11th digit


def number_prefix(
    *, provider_kind: str, evaluator_code: str, site_code: str, issued_on: date, level: int
) -> str:
    """The first 16 characters: letter, evaluator code, province, site, yy, level."""
    if level not in (1, 2, 3, 4, 5):
        raise ValueError(f"only levels 1-5 get a registry number, not {level}")
    if not re.fullmatch(r"\d{4}", evaluator_code) or not re.fullmatch(r"\d{6}", site_code):
        raise ValueError("evaluator_code must be 4 digits and site_code 6 digits")
    letter = "Y" if provider_kind == ENTERPRISE_KIND else "S"
    return f"{letter}{evaluator_code}{PROVINCE}{site_code}{issued_on.year % 100:02d}{level}"


def format_number(prefix: str, serial: int) -> str:
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial {serial} outside 1..{MAX_SERIAL}")
    return f"{prefix}{serial:0{SERIAL_DIGITS}d}"


def counter_name(prefix: str) -> str:
    """The sequences counter that hands out serials for one prefix."""
    return f"certificate_number:{prefix}"


def normalise_number(value: str) -> str:
    return normalise_text(value).upper()


def check_number(value: str, *, level: int | None) -> str:
    """Validate a number that arrives with its certificate; returns it normalised, never rewritten.

    Accepted: the 22-character scheme or the old 16-digit one. Where the certificate has a
    level of 1-5, the number's level digit must agree; 专项职业能力 (no level) and the titles
    特级技师/首席技师 (0, -1) have no level digit of their own to compare.
    """
    number = normalise_number(value)
    if NEW_SCHEME.fullmatch(number):
        digit, scheme = number[NEW_LEVEL_INDEX], "22位证书编号第16位"
    elif OLD_SCHEME.fullmatch(number):
        digit, scheme = number[OLD_LEVEL_INDEX], "16位证书编号第11位"
    else:
        raise ValueError(
            f"证书编号“{value}”格式不对：应为22位（Y或S加21位数字，如 S000035020001255000123）"
            "或旧版16位数字 / certificate numbers have 22 characters (Y or S and 21 digits) "
            "or, old style, 16 digits"
        )
    if level is not None and 1 <= level <= 5 and digit != str(level):
        raise ValueError(
            f"证书编号的等级位（{scheme}）是 {digit}，与等级 {level} 不一致"
            f" / the number's level digit is {digit} but the level is {level}"
        )
    return number
