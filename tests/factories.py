"""Valid identity numbers and credit codes made with the real check algorithms."""

from __future__ import annotations

import hashlib

from skills_registry.identity import check_character
from skills_registry.providers.credit_code import credit_code_check_character


def resident_id(region: str = "350203", born: str = "19900101", serial: str = "123") -> str:
    first17 = f"{region}{born}{serial}"
    return first17 + check_character(first17)


def nth_resident_id(n: int, region: str = "350203") -> str:
    """A distinct valid ID for each n (birth dates spread over 1960-1999)."""
    year = 1960 + n % 40
    month = 1 + (n // 40) % 12
    day = 1 + (n // 480) % 28
    serial = (n // 13440) % 1000
    return resident_id(region, f"{year:04d}{month:02d}{day:02d}", f"{serial:03d}")


def credit_code(seed: str) -> str:
    digits = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**8
    first17 = f"91350200MA{digits:07d}"[:17]
    return first17 + credit_code_check_character(first17)
