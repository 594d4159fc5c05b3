"""Certificates: validation, numbering, issuance (one or many), revocation, correction.

Rules and transactions only (no HTTP). The upload pipeline plugs in through three calls:

    issuer = await resolve_issuer(provider_code, actor)      # who issues (scope, status)
    row, errors = validate_row(issuer, today=ctx.today(), name=..., id_type=..., ...)
    outcomes = await issue_many(issuer, rows, ctx, signing, valid_only=False)

`validate_row` is pure (no database) and reports every problem of a row at once, each
naming its field (the sheet's English column name). `issue_many` stores already-validated
rows in ONE write transaction and answers one `RowOutcome` per row, in order: `stored`
(with the number the registry allocated), `unchanged` (the same certificate was already
issued: its number), `rejected` (what the database knew that the row could not: a person
registered under that ID number with another name, a number already used by a different
certificate), or `not_stored` (all-or-nothing mode rolled the batch back because another
row was rejected).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

from ..audit import services as audit
from ..context import Context
from ..database import current_engine, retry_on_conflict, write_transaction
from ..districts import parse_district
from ..errors import (
    ConflictError,
    DomainError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolation,
    ServiceUnavailableError,
)
from ..identity import ID_TYPE_NAMES, IdType, mask_name, normalise_text
from ..occupations import (
    catalogue,
    catalogue_warning,
    level_name,
    parse_level,
    parse_occupation_code,
)
from ..principal import Principal, Role
from ..providers.tables import Provider, ProviderScope
from ..sequences.services import next_value
from ..trainees.people import PersonInput, check_person
from ..trainees.services import MISMATCH_MESSAGE, agrees, insert_trainee, link
from ..trainees.tables import ProviderLink, Trainee
from . import numbering
from .schemas import (
    KIND_CODES,
    KIND_NAMES,
    QUALIFICATION,
    SKILL_LEVEL,
    SOURCES,
    SPECIFIC,
    CertificateCorrection,
    CertificateCreate,
    CertificateIssued,
    CertificateOut,
    CertificatePage,
    HolderOut,
    PrintedCertificate,
)
from .signing import KeyStore, NoSigningKeyError
from .tables import Certificate

ENTERPRISE = "企业"


# --- what issuing needs besides the data -------------------------------------------------


@dataclass(frozen=True)
class Signing:
    """The key store that signs tokens, and the base of the URL a QR code points at."""

    keys: KeyStore
    public_base_url: str

    def verify_url(self, token: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/v/{token}"


@dataclass(frozen=True)
class Issuer:
    """The issuing provider as validation needs it: kind, codes, status and scope."""

    id: int
    code: str
    name: str
    kind: str
    district: str
    evaluator_code: str
    site_code: str
    status: str
    scope: dict[str, int]  # occupation code -> highest level (smallest number) it may certify

    @property
    def active(self) -> bool:
        return self.status == "active"


async def load_issuer(where: Any) -> Issuer | None:
    """The issuer matching a Piccolo condition on Provider (e.g. `Provider.id == 3`)."""
    row = await Provider.select().where(where).first()
    if row is None:
        return None
    scope_rows = await ProviderScope.select(
        ProviderScope.occupation_code, ProviderScope.max_level
    ).where(ProviderScope.provider == row["id"])
    return Issuer(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        district=row["district"],
        evaluator_code=row["evaluator_code"],
        site_code=row["site_code"],
        status=row["status"],
        scope={r["occupation_code"]: int(r["max_level"]) for r in scope_rows},
    )


async def resolve_issuer(provider_code: str | None, actor: Principal) -> Issuer:
    """The provider a request or an upload issues for: a provider key's own, or the one a
    bureau-admin names. A provider key naming another provider is refused (403)."""
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError("只读密钥不能颁发证书 / read-only keys cannot issue")
    if actor.role is Role.PROVIDER:
        if provider_code and provider_code != actor.provider_code:
            raise PermissionDeniedError(
                "机构密钥只能为本机构颁发证书 / a provider key issues only for its own provider"
            )
        issuer = await load_issuer(Provider.id == actor.provider_id)
        if issuer is None:
            raise NotFoundError("找不到该密钥所属机构 / the key's provider is gone")
        return issuer
    if not provider_code:
        raise RuleViolation.single(
            "provider", "请填写颁证机构代码 provider / name the issuing provider"
        )
    issuer = await load_issuer(Provider.code == provider_code)
    if issuer is None:
        raise RuleViolation.single(
            "provider", f"找不到机构 {provider_code} / unknown provider {provider_code}"
        )
    return issuer


# --- validating one row (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class CertificateRow:
    """A validated certificate, ready to store. The holder is `person` or `trainee_id`."""

    kind: str
    occupation_code: str
    occupation_name: str
    trade: str  # "" when none
    level: int | None
    number: str | None  # None: the registry allocates one
    issued_on: date
    district: str | None
    source: str
    source_ref: str | None
    person: PersonInput | None = None
    trainee_id: UUID | None = None
    warnings: tuple[str, ...] = ()

    @property
    def allocates(self) -> bool:
        return self.number is None


_KIND_SPELLINGS: dict[str, str] = {
    **{name: name for name in KIND_NAMES},
    **{code: name for name, code in KIND_CODES.items()},
    "技能等级证书": SKILL_LEVEL,
    "职业技能等级": SKILL_LEVEL,
    "资格证书": QUALIFICATION,
    "职业资格": QUALIFICATION,
    "专项职业能力": SPECIFIC,
    "专项能力证书": SPECIFIC,
}


def parse_kind(value: str) -> str:
    kind = _KIND_SPELLINGS.get(normalise_text(value).upper()) or _KIND_SPELLINGS.get(
        normalise_text(value)
    )
    if kind is None:
        raise ValueError(
            f"证书类型“{value}”无法识别，应为{'、'.join(KIND_NAMES)}"
            " / unknown certificate kind: 职业技能等级证书, 职业资格证书 or 专项职业能力证书"
        )
    return kind


def clean_trade(value: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value or "")).strip()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not normalise_text(value))


def _check_level(kind: str | None, value: str | int | None, errors: list[FieldError]) -> int | None:
    if kind == SPECIFIC:
        if not _blank(value):
            errors.append(
                FieldError(
                    "level", "专项职业能力证书没有等级，请留空 / 专项职业能力证书 have no level"
                )
            )
        return None
    if _blank(value):
        errors.append(FieldError("level", "请填写等级 / the level is required"))
        return None
    try:
        level = parse_level(str(value), allow_titles=True)
    except ValueError as exc:
        errors.append(FieldError("level", str(exc)))
        return None
    if level <= 0 and kind != SKILL_LEVEL:
        errors.append(
            FieldError(
                "level",
                f"{level_name(level)}只用于职业技能等级证书 / titles exist only on skill-level certificates",
            )
        )
    return level


def _check_scope(
    issuer: Issuer, occupation_code: str, level: int | None, errors: list[FieldError]
) -> None:
    max_level = issuer.scope.get(occupation_code)
    if max_level is None:
        errors.append(
            FieldError(
                "occupation_code",
                f"{issuer.name}的评价范围不含职业 {occupation_code}，不能颁发该职业的证书"
                f" / {occupation_code} is outside {issuer.code}'s evaluation scope",
            )
        )
        return
    if level is None:
        return
    if level <= 0:
        if issuer.kind != ENTERPRISE or max_level != 1:
            errors.append(
                FieldError(
                    "level",
                    f"{level_name(level)}须由评价范围达到一级/高级技师的企业评聘"
                    " / titles above level 1 are appointed by enterprises accredited up to level 1",
                )
            )
    elif level < max_level:
        errors.append(
            FieldError(
                "level",
                f"{issuer.name}在职业 {occupation_code} 最高只能认定到{level_name(max_level)}，"
                f"不能颁发{level_name(level)}证书"
                f" / {issuer.code} may certify {occupation_code} up to level {max_level}, not {level}",
            )
        )


def validate_row(
    issuer: Issuer,
    *,
    today: date,
    kind: str | None,
    occupation_code: str | None,
    level: str | int | None,
    issued_on: date | None,
    name: str | None = None,
    id_type: str | None = None,
    id_number: str | None = None,
    nationality: str | None = None,
    trainee_id: UUID | None = None,
    occupation_name: str | None = None,
    trade: str | None = None,
    number: str | None = None,
    district: str | None = None,
    source: str = "evaluation",
    source_ref: str | None = None,
) -> tuple[CertificateRow | None, list[FieldError]]:
    """Every problem with one certificate row, at once; no database needed.

    Field names in the errors are the sheet's English column names (name, id_type,
    id_number, nationality, kind, occupation_code, occupation_name, trade, level, number,
    issued_on, district) plus `provider`, `source` and `trainee_id`.
    """
    errors: list[FieldError] = []
    warnings: list[str] = []

    if not issuer.active:
        errors.append(
            FieldError(
                "provider",
                f"机构 {issuer.code} 已被暂停，不能颁发证书 / provider {issuer.code} is suspended",
            )
        )

    person: PersonInput | None = None
    if trainee_id is None:
        person, person_errors = check_person(
            name=name, id_type=id_type, id_number=id_number, nationality=nationality, today=today
        )
        errors.extend(person_errors)
    elif not all(_blank(v) for v in (name, id_type, id_number, nationality)):
        errors.append(
            FieldError(
                "trainee_id",
                "请只填写 trainee_id 或人员信息之一 / give trainee_id or the person's fields, not both",
            )
        )

    clean_kind: str | None = None
    if _blank(kind):
        errors.append(FieldError("kind", "请填写证书类型 / the certificate kind is required"))
    else:
        try:
            clean_kind = parse_kind(str(kind))
        except ValueError as exc:
            errors.append(FieldError("kind", str(exc)))

    code: str | None = None
    if _blank(occupation_code):
        errors.append(FieldError("occupation_code", "请填写职业编码 / occupation code is required"))
    else:
        try:
            code = parse_occupation_code(str(occupation_code))
        except ValueError as exc:
            errors.append(FieldError("occupation_code", str(exc)))

    known = catalogue().get(code) if code else None
    clean_name = clean_trade(occupation_name)
    if not clean_name and known:
        clean_name = known.name
    if code and not clean_name:
        errors.append(
            FieldError(
                "occupation_name",
                f"职业编码 {code} 不在职业目录中，请填写职业名称 / name the occupation (code not in the catalogue)",
            )
        )
    if code and not known and (warning := catalogue_warning(code)):
        warnings.append(warning)

    clean_level: int | None = None
    if clean_kind is not None:
        clean_level = _check_level(clean_kind, level, errors)
    elif not _blank(level):
        try:
            clean_level = parse_level(str(level), allow_titles=True)
        except ValueError as exc:
            errors.append(FieldError("level", str(exc)))
    if (
        known
        and clean_level is not None
        and 1 <= clean_level <= 5
        and clean_level not in known.levels
    ):
        have = "、".join(level_name(lv) for lv in known.levels)
        errors.append(
            FieldError(
                "level",
                f"职业 {code} {known.name} 的国家标准没有{level_name(clean_level)}（只有{have}）"
                f" / {known.name}'s standard has no level {clean_level}",
            )
        )

    if issued_on is None:
        errors.append(FieldError("issued_on", "请填写发证日期 / the issue date is required"))
    elif issued_on > today:
        errors.append(
            FieldError(
                "issued_on",
                f"发证日期 {issued_on.isoformat()} 晚于今天 {today.isoformat()} / the issue date is in the future",
            )
        )

    clean_number: str | None = None
    if _blank(number):
        allocatable = clean_kind == SKILL_LEVEL and clean_level is not None and clean_level >= 1
        level_missing = clean_kind == SKILL_LEVEL and clean_level is None
        if clean_kind is not None and not allocatable and not level_missing:
            what = (
                level_name(clean_level)
                if clean_kind == SKILL_LEVEL and clean_level is not None
                else clean_kind
            )
            errors.append(
                FieldError(
                    "number",
                    f"{what}须填写原证书编号（本系统只为一至五级职业技能等级证书编号）"
                    " / give the number: the registry numbers only skill-level certificates of levels 1-5",
                )
            )
    else:
        try:
            clean_number = numbering.check_number(
                str(number), level=clean_level if clean_kind != SPECIFIC else None
            )
        except ValueError as exc:
            errors.append(FieldError("number", str(exc)))

    clean_district: str | None = None
    if not _blank(district):
        try:
            clean_district = parse_district(str(district))
        except ValueError as exc:
            errors.append(FieldError("district", str(exc)))

    if source not in SOURCES:
        errors.append(
            FieldError(
                "source", f"来源“{source}”无法识别 / source must be one of {', '.join(SOURCES)}"
            )
        )

    if code is not None and clean_kind is not None and issuer.active:
        _check_scope(issuer, code, clean_level, errors)

    if errors or clean_kind is None or code is None or issued_on is None:
        return None, errors
    return (
        CertificateRow(
            kind=clean_kind,
            occupation_code=code,
            occupation_name=clean_name,
            trade=clean_trade(trade),
            level=clean_level,
            number=clean_number,
            issued_on=issued_on,
            district=clean_district,
            source=source,
            source_ref=(source_ref or "").strip() or None,
            person=person,
            trainee_id=trainee_id,
            warnings=tuple(warnings),
        ),
        [],
    )


def validate_create(
    issuer: Issuer, data: CertificateCreate, today: date
) -> tuple[CertificateRow | None, list[FieldError]]:
    return validate_row(
        issuer,
        today=today,
        kind=data.kind,
        occupation_code=data.occupation_code,
        level=data.level,
        issued_on=data.issued_on,
        name=data.name,
        id_type=data.id_type,
        id_number=data.id_number,
        nationality=data.nationality,
        trainee_id=data.trainee_id,
        occupation_name=data.occupation_name,
        trade=data.trade,
        number=data.number,
        district=data.district,
        source=data.source,
        source_ref=data.source_ref,
    )


# --- storing -----------------------------------------------------------------------------


def require_signing_key(signing: Signing) -> None:
    try:
        signing.keys.current()
    except NoSigningKeyError as exc:
        raise ServiceUnavailableError(str(exc)) from None


class NumberSpaceExhausted(ConflictError):
    """No serial left under a prefix: stops a whole batch (it is not one row's fault)."""


class CertificateConflict(ConflictError):
    """409 for one request; a row error (naming `field`) inside an upload."""

    def __init__(self, field_name: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field_name


def _getter(row: CertificateRow | dict[str, Any]) -> Any:
    if isinstance(row, dict):
        return row.__getitem__
    return lambda name: getattr(row, name)


def natural_key(
    provider_id: int, trainee_id: UUID | str, row: CertificateRow | dict[str, Any]
) -> str:
    """(provider, person, kind, occupation code, 工种, level, issue date)."""
    get = _getter(row)
    level = get("level")
    return "|".join(
        [
            str(provider_id),
            str(trainee_id),
            KIND_CODES[get("kind")],
            get("occupation_code"),
            get("trade") or "",
            "" if level is None else str(level),
            get("issued_on").isoformat(),
        ]
    )


def claims_of(
    row: dict[str, Any] | CertificateRow, number: str, holder_name: str
) -> dict[str, Any]:
    """The token's short claims (DESIGN §4); never an ID number."""
    get = _getter(row)
    return {
        "n": number,
        "k": KIND_CODES[get("kind")],
        "o": get("occupation_code"),
        "l": get("level"),
        "d": get("issued_on").isoformat(),
        "m": mask_name(holder_name),
    }


async def _allocate_number(issuer: Issuer, row: CertificateRow) -> str:
    assert row.level is not None
    prefix = numbering.number_prefix(
        provider_kind=issuer.kind,
        evaluator_code=issuer.evaluator_code,
        site_code=issuer.site_code,
        issued_on=row.issued_on,
        level=row.level,
    )
    serial = await next_value(numbering.counter_name(prefix))
    if serial > numbering.MAX_SERIAL:
        raise NumberSpaceExhausted(
            f"证书编号前缀 {prefix} 的流水号已用完 / the serials of prefix {prefix} are exhausted"
        )
    return numbering.format_number(prefix, serial)


def _same_certificate(
    existing: dict[str, Any], issuer: Issuer, trainee_id: Any, row: CertificateRow
) -> bool:
    return (
        existing["provider"] == issuer.id
        and str(existing["trainee"]) == str(trainee_id)
        and existing["kind"] == row.kind
        and existing["occupation_code"] == row.occupation_code
        and existing["trade"] == row.trade
        and existing["level"] == row.level
        and existing["issued_on"] == row.issued_on
    )


async def _insert_certificate(
    issuer: Issuer,
    row: CertificateRow,
    *,
    trainee: dict[str, Any],
    number: str,
    allocated: bool,
    signing: Signing,
    actor: Principal,
    now: datetime,
    supersedes: str | None = None,
) -> None:
    token, kid = signing.keys.sign(claims_of(row, number, trainee["name"]))
    district = row.district or trainee.get("district") or issuer.district
    await Certificate.insert(
        Certificate(
            number=number,
            number_allocated=allocated,
            natural_key=natural_key(issuer.id, trainee["id"], row) if allocated else None,
            kind=row.kind,
            trainee=trainee["id"],
            holder_name=trainee["name"],
            occupation_code=row.occupation_code,
            occupation_name=row.occupation_name,
            trade=row.trade,
            level=row.level,
            provider=issuer.id,
            issued_on=row.issued_on,
            district=district,
            source=row.source,
            source_ref=row.source_ref,
            status="valid",
            supersedes=supersedes,
            token=token,
            kid=kid,
            created_by=actor.audit_label[:200],
            created_at=now,
            updated_at=now,
        )
    )
    await audit.record(
        actor,
        "certificate.issue",
        "certificate",
        number,
        {
            "kind": row.kind,
            "trainee": str(trainee["id"]),
            "occupation_code": row.occupation_code,
            "trade": row.trade,
            "level": row.level,
            "issued_on": row.issued_on,
            "number_allocated": allocated,
            "source": row.source,
            "source_ref": row.source_ref,
            "supersedes": supersedes,
        },
        provider_code=issuer.code,
    )


async def _holder(
    issuer: Issuer, row: CertificateRow, ctx: Context
) -> tuple[dict[str, Any] | None, PersonInput | None]:
    """The stored person (or None when they are new and `person` will be inserted)."""
    if row.trainee_id is not None:
        query = Trainee.select().where(Trainee.id == row.trainee_id)
        if not ctx.principal.is_bureau:
            linked = ProviderLink.select(ProviderLink.trainee).where(
                ProviderLink.provider == issuer.id
            )
            query = query.where(Trainee.id.is_in(linked))
        found = await query.first()
        if found is None:
            raise RuleViolation.single("trainee_id", "找不到该人员 / person not found")
        return found, None
    assert row.person is not None
    index = ctx.secrets.id_number_index(row.person.document.index_material)
    existing = await Trainee.select().where(Trainee.id_index == index).first()
    if existing is not None and not agrees(existing, row.person.name, row.person.birth_date):
        raise CertificateConflict("name", MISMATCH_MESSAGE)
    return existing, row.person


async def _store(
    issuer: Issuer, row: CertificateRow, ctx: Context, signing: Signing
) -> tuple[str, bool]:
    """Store one validated row inside the caller's transaction: (number, created).

    Everything that can refuse the row is read before the first write, so a refused row
    leaves nothing behind even inside a batch that goes on.
    """
    actor = ctx.principal
    trainee, new_person = await _holder(issuer, row, ctx)

    if row.number is not None:
        existing = await Certificate.select().where(Certificate.number == row.number).first()
        if existing is not None:
            if trainee is not None and _same_certificate(existing, issuer, trainee["id"], row):
                return existing["number"], False
            raise CertificateConflict(
                "number",
                f"证书编号 {row.number} 已登记为另一张证书 / number {row.number} belongs to another certificate",
            )
    elif trainee is not None:
        same = (
            await Certificate.select(Certificate.number)
            .where(Certificate.natural_key == natural_key(issuer.id, trainee["id"], row))
            .first()
        )
        if same is not None:
            return same["number"], False

    now = datetime.now(UTC)
    if trainee is None:
        assert new_person is not None
        trainee_id = await insert_trainee(
            new_person, ctx, now, actor, provider_code=issuer.code, via="certificate"
        )
        trainee = await Trainee.select().where(Trainee.id == trainee_id).first()
        assert trainee is not None
    await link(issuer.id, trainee["id"], now)

    number = row.number or await _allocate_number(issuer, row)
    await _insert_certificate(
        issuer,
        row,
        trainee=trainee,
        number=number,
        allocated=row.number is None,
        signing=signing,
        actor=actor,
        now=now,
    )
    return number, True


@dataclass
class RowOutcome:
    """What became of one row given to `issue_many` (`index` is its position in the list)."""

    index: int
    status: Literal["stored", "unchanged", "rejected", "not_stored"]
    number: str | None = None
    errors: list[FieldError] = field(default_factory=list)


class _RollBack(Exception):
    pass


def _row_errors(exc: DomainError) -> list[FieldError]:
    if isinstance(exc, RuleViolation):
        return list(exc.errors)
    return [FieldError(getattr(exc, "field", "number"), exc.detail)]


async def issue_many(
    issuer: Issuer,
    rows: list[CertificateRow],
    ctx: Context,
    signing: Signing,
    *,
    valid_only: bool = False,
) -> list[RowOutcome]:
    """Store already-validated rows in one write transaction; one outcome per row, in order.

    All-or-nothing by default: when any row is refused by what only the database knows,
    the whole batch rolls back (the others answer `not_stored`). With `valid_only` the
    refused rows are skipped and the rest committed. Re-running the same rows changes
    nothing (`unchanged`, with the numbers issued the first time).
    """
    require_signing_key(signing)

    async def attempt() -> list[RowOutcome]:
        outcomes: list[RowOutcome] = []
        try:
            async with write_transaction():
                # Inside a caller's transaction ours is a no-op, so all-or-nothing needs a
                # savepoint to undo just these rows.
                transaction = current_engine().current_transaction.get()
                savepoint = await transaction.savepoint() if transaction is not None else None
                for index, row in enumerate(rows):
                    try:
                        number, created = await _store(issuer, row, ctx, signing)
                    except (ServiceUnavailableError, NumberSpaceExhausted):
                        raise
                    except DomainError as exc:
                        outcomes.append(RowOutcome(index, "rejected", None, _row_errors(exc)))
                        continue
                    outcomes.append(RowOutcome(index, "stored" if created else "unchanged", number))
                if not valid_only and any(o.status == "rejected" for o in outcomes):
                    if savepoint is not None:
                        await savepoint.rollback_to()
                    raise _RollBack
                if savepoint is not None:
                    await savepoint.release()
        except _RollBack:
            for outcome in outcomes:
                if outcome.status == "stored":
                    outcome.status, outcome.number = "not_stored", None
        return outcomes

    # A lost race (another request issued the same certificate or person a moment ago) is
    # run again: the retry finds what the winner stored and answers `unchanged`.
    return await retry_on_conflict(attempt)


async def issue(data: CertificateCreate, ctx: Context, signing: Signing) -> CertificateIssued:
    """One certificate (POST /api/v1/certificates): 422 with every field error, 409 on conflict."""
    issuer = await resolve_issuer(data.provider, ctx.principal)
    require_signing_key(signing)
    row, errors = validate_create(issuer, data, ctx.today())
    if errors or row is None:
        raise RuleViolation(errors=errors, detail=errors[0].message if errors else "invalid")

    async def store() -> tuple[str, bool]:
        async with write_transaction():
            return await _store(issuer, row, ctx, signing)

    # The same request sent twice at once (a retry, a double click): the loser's unique
    # violation is run again and finds the winner's certificate (200, not 409).
    number, created = await retry_on_conflict(store)
    out = await get_certificate(number, ctx.principal, signing)
    out.warnings.extend(w for w in row.warnings if w not in out.warnings)
    return CertificateIssued(created=created, certificate=out)


# --- reading -----------------------------------------------------------------------------


def _select() -> Any:
    return Certificate.select(
        *Certificate.all_columns(),
        Certificate.trainee.id_type.as_alias("holder_id_type"),
        Certificate.trainee.id_number_masked.as_alias("holder_id_number_masked"),
        Certificate.provider.code.as_alias("provider_code"),
        Certificate.provider.name.as_alias("provider_name"),
    )


def _visible(query: Any, viewer: Principal) -> Any:
    return query if viewer.is_bureau else query.where(Certificate.provider == viewer.provider_id)


def _to_out(row: dict[str, Any], signing: Signing) -> CertificateOut:
    id_type = row["holder_id_type"]
    warning = catalogue_warning(row["occupation_code"])
    return CertificateOut(
        number=row["number"],
        number_allocated=bool(row["number_allocated"]),
        kind=row["kind"],
        kind_code=KIND_CODES[row["kind"]],
        holder=HolderOut(
            trainee_id=row["trainee"],
            name=row["holder_name"],
            id_type=id_type,
            id_type_name=ID_TYPE_NAMES[IdType(id_type)],
            id_number_masked=row["holder_id_number_masked"],
        ),
        occupation_code=row["occupation_code"],
        occupation_name=row["occupation_name"],
        trade=row["trade"] or None,
        level=row["level"],
        level_name=level_name(row["level"]),
        provider=row["provider_code"],
        issuer_name=row["provider_name"],
        issued_on=row["issued_on"],
        district=row["district"],
        source=row["source"],
        source_ref=row["source_ref"],
        status=row["status"],
        revoked_on=row["revoked_on"],
        revoked_reason=row["revoked_reason"],
        revoked_by=row["revoked_by"],
        superseded_by=row["superseded_by"],
        supersedes=row["supersedes"],
        token=row["token"],
        verify_url=signing.verify_url(row["token"]),
        created_at=row["created_at"],
        verification_count=row["verification_count"],
        last_verified_at=row["last_verified_at"],
        warnings=[warning] if warning else [],
    )


def _not_found(number: str) -> NotFoundError:
    return NotFoundError(f"找不到证书 {number} / certificate not found")


async def _visible_row(number: str, viewer: Principal) -> dict[str, Any]:
    clean = numbering.normalise_number(number)
    row = await _visible(_select().where(Certificate.number == clean), viewer).first()
    if row is None:
        raise _not_found(number)
    return row  # type: ignore[no-any-return]


async def get_certificate(number: str, viewer: Principal, signing: Signing) -> CertificateOut:
    """Bureau roles and the issuing provider; anyone else gets a 404 (never a leak)."""
    return _to_out(await _visible_row(number, viewer), signing)


@dataclass(frozen=True)
class CertificateFilter:
    trainee_id: UUID | None = None
    provider: str | None = None
    occupation_code: str | None = None
    level: int | None = None
    kind: str | None = None
    status: str | None = None
    source: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    source_ref: str | None = None


async def list_certificates(
    viewer: Principal, filters: CertificateFilter, signing: Signing, *, limit: int, offset: int
) -> CertificatePage:
    conditions: list[Any] = []
    if filters.trainee_id is not None:
        conditions.append(Certificate.trainee == filters.trainee_id)
    if filters.provider:
        conditions.append(Certificate.provider.code == filters.provider)
    if filters.occupation_code:
        conditions.append(Certificate.occupation_code == filters.occupation_code)
    if filters.level is not None:
        conditions.append(Certificate.level == filters.level)
    if filters.kind:
        try:
            conditions.append(Certificate.kind == parse_kind(filters.kind))
        except ValueError as exc:
            raise RuleViolation.single("kind", str(exc)) from None
    if filters.status:
        conditions.append(Certificate.status == filters.status)
    if filters.source:
        conditions.append(Certificate.source == filters.source)
    if filters.issued_from:
        conditions.append(Certificate.issued_on >= filters.issued_from)
    if filters.issued_to:
        conditions.append(Certificate.issued_on <= filters.issued_to)
    if filters.source_ref:
        conditions.append(Certificate.source_ref == filters.source_ref)
    if not viewer.is_bureau:
        conditions.append(Certificate.provider == viewer.provider_id)

    query = (
        _select()
        .order_by(Certificate.issued_on, ascending=False)
        .order_by(Certificate.id, ascending=False)
    )
    count = Certificate.count()
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.limit(limit).offset(offset)
    return CertificatePage(
        items=[_to_out(row, signing) for row in rows],
        total=await count,
        limit=limit,
        offset=offset,
    )


async def printed_certificate(number: str) -> tuple[PrintedCertificate, dict[str, Any]] | None:
    """What is printed on the certificate and where it stands now (public verification),
    with the claims its token must carry."""
    row = await _select().where(Certificate.number == number).first()
    if row is None:
        return None
    printed = PrintedCertificate(
        number=row["number"],
        kind=row["kind"],
        holder_name=row["holder_name"],
        id_type_name=ID_TYPE_NAMES[IdType(row["holder_id_type"])],
        id_number_masked=row["holder_id_number_masked"],
        occupation_code=row["occupation_code"],
        occupation_name=row["occupation_name"],
        trade=row["trade"] or None,
        level=row["level"],
        level_name=level_name(row["level"]),
        issuer_name=row["provider_name"],
        issued_on=row["issued_on"],
        status=row["status"],
        revoked_on=row["revoked_on"],
        reason=row["revoked_reason"],
        superseded_by=row["superseded_by"],
    )
    return printed, claims_of(row, row["number"], row["holder_name"])


# --- lifecycle ---------------------------------------------------------------------------


def _require_writer(actor: Principal) -> None:
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError(
            "只读密钥不能修改证书 / read-only keys cannot change certificates"
        )


def _check_still_valid(row: dict[str, Any], doing: str) -> None:
    if row["status"] == "revoked":
        raise ConflictError(
            f"证书 {row['number']} 已于 {row['revoked_on']} 吊销，不能{doing}"
            f" / certificate {row['number']} was already revoked on {row['revoked_on']}"
        )
    if row["status"] == "superseded":
        raise ConflictError(
            f"证书 {row['number']} 已被 {row['superseded_by']} 取代，请对新证书操作"
            f" / certificate {row['number']} was superseded by {row['superseded_by']}"
        )


async def revoke(number: str, reason: str, ctx: Context, signing: Signing) -> CertificateOut:
    """Bureau-admin or the issuing provider; revoking twice is a 409. Nothing is deleted."""
    actor = ctx.principal
    _require_writer(actor)
    async with write_transaction():
        row = await _visible_row(number, actor)
        _check_still_valid(row, "再次吊销")
        today = ctx.today()
        await Certificate.update(
            {
                Certificate.status: "revoked",
                Certificate.revoked_on: today,
                Certificate.revoked_reason: reason,
                Certificate.revoked_by: actor.audit_label[:200],
                Certificate.updated_at: datetime.now(UTC),
            }
        ).where(Certificate.id == row["id"])
        await audit.record(
            actor,
            "certificate.revoke",
            "certificate",
            row["number"],
            {
                "status": {"from": row["status"], "to": "revoked"},
                "reason": reason,
                "revoked_on": today,
            },
            provider_code=row["provider_code"],
        )
    return await get_certificate(row["number"], actor, signing)


async def correct(
    number: str, data: CertificateCorrection, ctx: Context, signing: Signing
) -> CertificateOut:
    """Supersede a certificate with a corrected one that points back; same holder, provider
    and issue date (DESIGN §3: the replacement keeps the original issue date)."""
    actor = ctx.principal
    _require_writer(actor)
    require_signing_key(signing)
    async with write_transaction():
        old = await _visible_row(number, actor)
        _check_still_valid(old, "更正")
        issuer = await load_issuer(Provider.id == old["provider"])
        assert issuer is not None
        if actor.is_bureau and not issuer.active:
            # The bureau may correct the records of a suspended provider.
            issuer = dataclasses.replace(issuer, status="active")
        changes = data.model_dump(exclude_unset=True, exclude={"reason"})
        kind = changes.get("kind", old["kind"])
        level = changes["level"] if "level" in changes else old["level"]
        supplied = changes.get("number")
        row, errors = validate_row(
            issuer,
            today=ctx.today(),
            trainee_id=old["trainee"],
            kind=kind,
            occupation_code=changes.get("occupation_code", old["occupation_code"]),
            occupation_name=changes.get("occupation_name", old["occupation_name"]),
            trade=changes.get("trade", old["trade"]),
            level=level,
            issued_on=old["issued_on"],
            number=supplied,
            district=changes.get("district", old["district"]),
            source=old["source"],
            source_ref=old["source_ref"],
        )
        if errors or row is None:
            raise RuleViolation(errors=errors, detail=errors[0].message if errors else "invalid")
        before = {
            k: old[k]
            for k in ("kind", "occupation_code", "occupation_name", "trade", "level", "district")
        }
        after = {
            "kind": row.kind,
            "occupation_code": row.occupation_code,
            "occupation_name": row.occupation_name,
            "trade": row.trade,
            "level": row.level,
            "district": row.district or old["district"],
        }
        recorded = audit.diff(before, after)
        if not recorded and (row.number is None or row.number == old["number"]):
            raise RuleViolation.single(
                "body", "更正内容与原证书相同 / the correction changes nothing"
            )
        if row.number is None and not old["number_allocated"]:
            raise RuleViolation.single(
                "number",
                "原证书编号非本系统编制，更正后的证书须填写新编号"
                " / the certificate came with its number: give the replacement's number",
            )
        if row.number is not None:
            if row.number == old["number"]:
                raise RuleViolation.single(
                    "number",
                    "更正后的证书须有新编号 / the corrected certificate needs a new number",
                )
            if await Certificate.exists().where(Certificate.number == row.number):
                raise CertificateConflict(
                    "number", f"证书编号 {row.number} 已被使用 / number {row.number} is taken"
                )
        else:
            key = natural_key(issuer.id, old["trainee"], row)
            clash = (
                await Certificate.select(Certificate.number)
                .where((Certificate.natural_key == key) & (Certificate.id != old["id"]))
                .first()
            )
            if clash is not None:
                raise CertificateConflict(
                    "level",
                    f"已有相同的证书 {clash['number']} / the same certificate exists: {clash['number']}",
                )
        trainee = await Trainee.select().where(Trainee.id == old["trainee"]).first()
        assert trainee is not None
        new_number = row.number or await _allocate_number(issuer, row)
        now = datetime.now(UTC)
        await Certificate.update(
            {
                Certificate.status: "superseded",
                Certificate.superseded_by: new_number,
                Certificate.natural_key: None,
                Certificate.updated_at: now,
            }
        ).where(Certificate.id == old["id"])
        await _insert_certificate(
            issuer,
            row,
            trainee={**trainee, "name": old["holder_name"], "district": old["district"]},
            number=new_number,
            allocated=row.number is None,
            signing=signing,
            actor=actor,
            now=now,
            supersedes=old["number"],
        )
        await audit.record(
            actor,
            "certificate.supersede",
            "certificate",
            old["number"],
            {**recorded, "superseded_by": new_number, "reason": data.reason},
            provider_code=old["provider_code"],
        )
    return await get_certificate(new_number, actor, signing)


async def record_verifications(counts: dict[str, tuple[int, datetime]]) -> None:
    """Add verification counts per certificate number (called by the verification log)."""
    for number, (count, last_at) in counts.items():
        await Certificate.update(
            {
                Certificate.verification_count: Certificate.verification_count + count,
                Certificate.last_verified_at: last_at,
            }
        ).where(Certificate.number == number)


async def holder_index(number: str) -> tuple[str, str, str] | None:
    """(ID type, nationality, keyed index) of the holder: lets a verifier's typed number be
    compared without ever decrypting the stored one."""
    row = (
        await Certificate.select(
            Certificate.trainee.id_type.as_alias("id_type"),
            Certificate.trainee.nationality.as_alias("nationality"),
            Certificate.trainee.id_index.as_alias("id_index"),
        )
        .where(Certificate.number == number)
        .first()
    )
    if row is None:
        return None
    return row["id_type"], row["nationality"], row["id_index"]
