"""Verifying a certificate token: the signature first, then the certificate's current status.

No database row is consulted until the signature verifies with one of our keys, and no
failure of the token itself is ever an error: it is the verdict `invalid`.
"""

from __future__ import annotations

import hmac
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from ..certificates import services as certificates
from ..certificates.schemas import PrintedCertificate
from ..certificates.signing import InvalidTokenError, KeyStore
from ..crypto import Secrets
from ..database import is_sqlite
from ..identity import IdDocumentError, parse_id_document
from ..metrics import count_verification
from ..schema_base import Schema
from .cache import TimedCache
from .log import VerificationLog
from .tables import VerificationEvent

VerdictStatus = Literal["valid", "revoked", "superseded", "not_found", "invalid"]
_CHECKED_CLAIMS = ("n", "k", "o", "l", "d")


class Verdict(Schema):
    status: VerdictStatus
    checked_at: datetime = Field(description="when the registry checked, in its timezone")
    certificate: PrintedCertificate | None = Field(
        description="what is printed on the certificate; null for not_found and invalid"
    )


def _claims_agree(token_claims: dict[str, Any], stored_claims: dict[str, Any]) -> bool:
    return all(token_claims.get(name) == stored_claims.get(name) for name in _CHECKED_CLAIMS)


Stored = tuple[PrintedCertificate, dict[str, Any]] | None


async def verify_token(
    token: str,
    keys: KeyStore,
    tz: ZoneInfo,
    log: VerificationLog | None = None,
    channel: str = "api",
    cache: TimedCache[Stored] | None = None,
    signatures: TimedCache[dict[str, Any] | None] | None = None,
) -> Verdict:
    verdict = await _verdict(token, keys, tz, cache or TimedCache(0), signatures or TimedCache(0))
    count_verification(verdict.status, channel)
    if log is not None:
        number = verdict.certificate.number if verdict.certificate else None
        await log.record(number, verdict.status, channel)
    return verdict


def _checked_claims(token: str, keys: KeyStore) -> dict[str, Any] | None:
    try:
        return keys.verify(token)
    except InvalidTokenError:
        return None


async def _verdict(
    token: str,
    keys: KeyStore,
    tz: ZoneInfo,
    cache: TimedCache[Stored],
    signatures: TimedCache[dict[str, Any] | None],
) -> Verdict:
    checked_at = datetime.now(tz).replace(microsecond=0)

    async def check() -> dict[str, Any] | None:
        return _checked_claims(token, keys)

    # A token's signature never changes; remembering the outcome briefly saves the
    # signature check (pyjwt, ~0.3 ms) on repeated scans of the same certificate.
    claims = await signatures.get_or_load(token, check)
    if claims is None:
        return Verdict(status="invalid", checked_at=checked_at, certificate=None)
    number = claims.get("n")
    if not isinstance(number, str):
        return Verdict(status="invalid", checked_at=checked_at, certificate=None)
    found = await cache.get_or_load(number, lambda: certificates.printed_certificate(number))
    if found is None:
        return Verdict(status="not_found", checked_at=checked_at, certificate=None)
    printed, stored_claims = found
    if not _claims_agree(claims, stored_claims):
        # Signed by us, yet not what we issued under that number: never call it valid.
        return Verdict(status="invalid", checked_at=checked_at, certificate=None)
    return Verdict(status=printed.status, checked_at=checked_at, certificate=printed)


def jwks(keys: KeyStore) -> dict[str, list[dict[str, str]]]:
    """Every public key that verifies tokens (current first), as a JWK set."""
    return keys.jwks()


async def id_number_matches(
    verdict: Verdict, id_number: str, secrets: Secrets, today: date
) -> bool:
    """Does the number an employer typed belong to the holder? Only yes or no, via the keyed
    index: the stored number is never decrypted or shown."""
    if verdict.certificate is None:
        return False
    holder = await certificates.holder_index(verdict.certificate.number)
    if holder is None:
        return False
    id_type, nationality, stored_index = holder
    try:
        document = parse_id_document(
            id_type, id_number, today=today, nationality=nationality or None
        )
    except IdDocumentError:
        return False
    return hmac.compare_digest(secrets.id_number_index(document.index_material), stored_index)


class MonthlyCount(Schema):
    month: str = Field(examples=["2026-11"])
    result: VerdictStatus
    count: int


async def monthly_counts(tz: ZoneInfo) -> list[MonthlyCount]:
    """Verifications per month (in the registry's timezone) and verdict."""
    if is_sqlite():
        offset = datetime.now(tz).utcoffset() or timedelta(0)
        hours = int(offset.total_seconds() // 3600)
        month = f"strftime('%Y-%m', at, '{hours:+d} hours')"
    else:
        month = f"to_char(at AT TIME ZONE '{tz.key}', 'YYYY-MM')"
    rows = await VerificationEvent.raw(
        f"SELECT {month} AS month, result, COUNT(*) AS count FROM verification_event "  # noqa: S608 - no user input
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return [MonthlyCount(**row) for row in rows]
