"""What apprenticeships, competitions and recognition share: the holder, and the certificate.

Each of the three routes ends in a certificate issued through `certificates.services`
(never by inserting rows here): `award()` validates the row with `validate_row` and stores
it with `issue_many`, inside the caller's write transaction (Piccolo nests it as a no-op),
so the record and its certificate are written together or not at all. The certificate's
`source` names the route and `source_ref` the record's id; the record keeps the number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from .certificates import services as certificates
from .certificates.schemas import SKILL_LEVEL
from .certificates.services import Issuer, Signing, issue_many, validate_row
from .certificates.tables import Certificate
from .context import Context
from .errors import ConflictError, FieldError, NotFoundError, RuleViolation
from .occupations import CERTIFICATE_LEVELS, catalogue, level_name
from .providers.tables import Provider
from .schema_base import Schema
from .trainees.people import PersonInput, check_person
from .trainees.services import MISMATCH_MESSAGE, agrees, insert_trainee, link
from .trainees.tables import ProviderLink, Trainee


class HolderFields(Schema):
    """A person: `trainee_id`, or name + ID type + ID number (+ nationality for passports)."""

    trainee_id: UUID | None = Field(default=None, description="a registered person; or give:")
    name: str | None = Field(default=None, max_length=100)
    id_type: str | None = Field(default=None, examples=["居民身份证"])
    id_number: str | None = Field(default=None, max_length=40)
    nationality: str | None = Field(
        default=None, description="ISO 3166 alpha-3 or Chinese name; required for passports"
    )


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


async def resolve_holder(
    data: HolderFields,
    ctx: Context,
    *,
    create: bool,
    link_to: tuple[int, ...] = (),
    prefix: str = "",
) -> UUID:
    """The person's id, inside the caller's write transaction.

    By `trainee_id` (a provider key must already see the person), or by the ID fields
    through the keyed index: a stored person links when name and birth date agree (409
    otherwise); a new one is created when `create`, else refused ("register them first").
    The person is then linked to every provider in `link_to`.
    """
    person_given = not all(_blank(v) for v in (data.name, data.id_type, data.id_number))
    if data.trainee_id is not None and person_given:
        raise RuleViolation.single(
            f"{prefix}trainee_id",
            "请只填写 trainee_id 或人员信息之一 / give trainee_id or the person's fields, not both",
        )
    now = datetime.now(UTC)
    actor = ctx.principal
    if data.trainee_id is not None:
        query = Trainee.select(Trainee.id).where(Trainee.id == data.trainee_id)
        if not actor.is_bureau:
            linked = ProviderLink.select(ProviderLink.trainee).where(
                ProviderLink.provider == actor.provider_id
            )
            query = query.where(Trainee.id.is_in(linked))
        found = await query.first()
        if found is None:
            raise RuleViolation.single(
                f"{prefix}trainee_id",
                "找不到该人员，请先登记 / person not found: register them first",
            )
        trainee_id: UUID = found["id"]
    else:
        person, errors = check_person(
            name=data.name,
            id_type=data.id_type,
            id_number=data.id_number,
            nationality=data.nationality,
            today=ctx.today(),
        )
        if errors or person is None:
            errors = [FieldError(prefix + e.field, e.message) for e in errors]
            raise RuleViolation(errors=errors, detail=errors[0].message if errors else "invalid")
        index = ctx.secrets.id_number_index(person.document.index_material)
        existing = await Trainee.select().where(Trainee.id_index == index).first()
        if existing is not None:
            if not agrees(existing, person.name, person.birth_date):
                raise ConflictError(MISMATCH_MESSAGE)
            trainee_id = existing["id"]
        elif not create:
            raise RuleViolation.single(
                f"{prefix}id_number",
                f"证件号码 {person.document.masked} 的人员尚未登记，请先登记该人员"
                " / no person is registered with that ID number: register them first",
            )
        else:
            trainee_id = await insert_trainee(person, ctx, now, actor)
    for provider_id in link_to:
        await link(provider_id, trainee_id, now)
    return trainee_id


async def person_for_row(
    person: PersonInput, ctx: Context, *, create: bool
) -> tuple[UUID | None, FieldError | None]:
    """An upload row's person (inside the upload's transaction): the stored one when name
    and birth date agree, a new one when `create`; else the row's error."""
    index = ctx.secrets.id_number_index(person.document.index_material)
    existing = await Trainee.select().where(Trainee.id_index == index).first()
    if existing is not None:
        if not agrees(existing, person.name, person.birth_date):
            return None, FieldError("name", MISMATCH_MESSAGE)
        return existing["id"], None
    if not create:
        return None, FieldError(
            "id_number",
            f"证件号码 {person.document.masked} 的人员尚未登记，请先登记该人员"
            " / no person is registered with that ID number: register them first",
        )
    return await insert_trainee(person, ctx, datetime.now(UTC), ctx.principal), None


async def load_issuer(provider_id: int) -> Issuer:
    issuer = await certificates.load_issuer(Provider.id == provider_id)
    if issuer is None:
        raise NotFoundError("找不到颁证机构 / the issuing provider is gone")
    return issuer


async def provider_by_code(code: str, field: str) -> dict[str, Any]:
    row = await Provider.select().where(Provider.code == code).first()
    if row is None:
        raise RuleViolation.single(field, f"找不到机构 {code} / unknown provider {code}")
    return row  # type: ignore[no-any-return]


def may_certify(issuer: Issuer, occupation_code: str, level: int) -> bool:
    max_level = issuer.scope.get(occupation_code)
    return issuer.active and max_level is not None and level >= 1 and max_level <= level


def level_error(occupation_code: str, level: int, field: str) -> FieldError | None:
    """A certificate level (1-5) the occupation's standard has; None when it is fine."""
    known = catalogue().get(occupation_code)
    if level not in CERTIFICATE_LEVELS:
        return FieldError(
            field,
            f"{level_name(level) or level}不是职业技能等级证书的等级（一至五级）"
            f" / level {level} is not a certificate level (1-5)",
        )
    if known is not None and level not in known.levels:
        have = "、".join(level_name(lv) for lv in known.levels)
        return FieldError(
            field,
            f"职业 {occupation_code} {known.name} 的国家标准没有{level_name(level)}（只有{have}）"
            f" / {known.name}'s standard has no level {level}",
        )
    return None


def occupation_name_of(code: str, given: str | None) -> str:
    if given:
        return given
    known = catalogue().get(code)
    return known.name if known else ""


async def award(
    issuer: Issuer,
    *,
    ctx: Context,
    signing: Signing,
    trainee_id: UUID,
    occupation_code: str,
    occupation_name: str,
    trade: str,
    level: int,
    issued_on: date,
    source: str,
    source_ref: str,
    prefix: str = "",
) -> str:
    """Issue one 职业技能等级证书 inside the caller's write transaction; its number.

    Refusals are 422 naming the field (scope, level, issue date...); re-issuing for the
    same record answers the number issued before; the same certificate issued already by
    another route is a 409 naming it.
    """
    row, errors = validate_row(
        issuer,
        today=ctx.today(),
        kind=SKILL_LEVEL,
        occupation_code=occupation_code,
        occupation_name=occupation_name,
        trade=trade,
        level=level,
        issued_on=issued_on,
        trainee_id=trainee_id,
        source=source,
        source_ref=source_ref,
    )
    if errors or row is None:
        errors = [FieldError(prefix + e.field, e.message) for e in errors]
        raise RuleViolation(errors=errors, detail=errors[0].message if errors else "invalid")
    # Issuing links the holder to the issuer; doing it first lets a provider key issue for
    # a person entered by the other party of the record.
    await link(issuer.id, trainee_id, datetime.now(UTC))
    outcome = (await issue_many(issuer, [row], ctx, signing))[0]
    if (outcome.status != "stored" and outcome.status != "unchanged") or outcome.number is None:
        errors = [FieldError(prefix + e.field, e.message) for e in outcome.errors]
        if not errors:
            errors = [FieldError(prefix + "level", "证书未能颁发 / the certificate was not issued")]
        raise RuleViolation(errors=errors, detail=errors[0].message)
    if outcome.status == "unchanged":
        existing = (
            await Certificate.select(Certificate.source, Certificate.source_ref)
            .where(Certificate.number == outcome.number)
            .first()
        )
        if existing is None or (existing["source"], existing["source_ref"]) != (source, source_ref):
            raise ConflictError(
                f"该人员已有同一证书 {outcome.number}（同一机构、职业、等级、发证日期）"
                f" / the same certificate was already issued: {outcome.number}"
            )
    return outcome.number


def pdf_url(number: str | None, *, bilingual: bool = False) -> str | None:
    if number is None:
        return None
    return f"/api/v1/certificates/{number}/pdf" + ("?lang=zh-en" if bilingual else "")
