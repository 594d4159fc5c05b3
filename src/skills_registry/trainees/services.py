"""People: create-or-link, scoped reads, keyed look-up, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from ..audit import services as audit
from ..context import Context
from ..database import retry_on_conflict, write_transaction
from ..errors import ConflictError, NotFoundError, PermissionDeniedError, RuleViolation
from ..identity import ID_TYPE_NAMES, IdDocumentError, IdType, parse_id_document
from ..principal import Principal, Role
from .people import PersonInput, check_person, same_name
from .schemas import TraineeCreate, TraineeLookup, TraineeOut, TraineeRegistered, TraineeUpdate
from .tables import ProviderLink, Trainee

MISMATCH_MESSAGE = (
    "该证件号码已登记，但姓名或出生日期与登记信息不一致，请核对证件 "
    "/ this ID number is registered with a different name or birth date"
)


def to_out(row: dict[str, Any]) -> TraineeOut:
    return TraineeOut(
        id=row["id"],
        name=row["name"],
        id_type=row["id_type"],
        id_type_name=ID_TYPE_NAMES[IdType(row["id_type"])],
        id_number_masked=row["id_number_masked"],
        nationality=row["nationality"],
        gender=row["gender"],
        birth_date=row["birth_date"],
        district=row["district"],
        category=row["category"],
        phone=row["phone"],
        created_at=row["created_at"],
    )


async def insert_trainee(
    person: PersonInput,
    ctx: Context,
    now: datetime,
    actor: Principal,
    *,
    provider_code: str | None = None,
    via: str | None = None,
) -> UUID:
    """A new person's row and its `trainee.create` audit event (ID number masked)."""
    inserted = await Trainee.insert(new_trainee_row(person, ctx, now))
    trainee_id: UUID = inserted[0]["id"]
    details = {"id_type": person.document.id_type.value, "id_number": person.document.masked}
    if via is not None:
        details["via"] = via
    await audit.record(
        actor, "trainee.create", "trainee", trainee_id, details, provider_code=provider_code
    )
    return trainee_id


def new_trainee_row(person: PersonInput, ctx: Context, now: datetime) -> Trainee:
    index = ctx.secrets.id_number_index(person.document.index_material)
    return Trainee(
        id_type=person.document.id_type.value,
        nationality=person.document.nationality,
        id_index=index,
        id_number_encrypted=ctx.secrets.encrypt_id_number(person.document.number, index),
        id_number_masked=person.document.masked,
        name=person.name,
        gender=person.gender,
        birth_date=person.birth_date,
        district=person.district,
        category=person.category,
        phone=person.phone,
        created_at=now,
        updated_at=now,
    )


def agrees(existing: dict[str, Any], name: str, birth_date: date | None) -> bool:
    """A provider may link to a stored person only when name and birth date agree."""
    if not same_name(existing["name"], name):
        return False
    return not (existing["birth_date"] and birth_date and existing["birth_date"] != birth_date)


async def link(provider_id: int, trainee_id: UUID, now: datetime) -> None:
    await ProviderLink.raw(
        "INSERT INTO provider_trainee (id, provider, trainee, created_at) "
        "VALUES ({}, {}, {}, {}) ON CONFLICT (provider, trainee) DO NOTHING",
        uuid4(),
        provider_id,
        trainee_id,
        now,
    )


def _person_from(data: TraineeCreate, ctx: Context) -> PersonInput:
    person, errors = check_person(
        name=data.name,
        id_type=data.id_type,
        id_number=data.id_number,
        nationality=data.nationality,
        gender=data.gender,
        birth_date=data.birth_date,
        district=data.district,
        category=data.category,
        phone=data.phone,
        today=ctx.today(),
    )
    if errors or person is None:
        raise RuleViolation(errors=errors, detail=errors[0].message if errors else "invalid")
    return person


async def register(data: TraineeCreate, ctx: Context) -> TraineeRegistered:
    """Create the person, or link the caller's provider to the one already registered."""
    actor = ctx.principal
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError("只读密钥不能登记人员 / read-only keys cannot register people")
    person = _person_from(data, ctx)
    index = ctx.secrets.id_number_index(person.document.index_material)
    now = datetime.now(UTC)

    async def create_or_link() -> tuple[UUID, bool]:
        async with write_transaction():
            existing = await Trainee.select().where(Trainee.id_index == index).first()
            if existing is not None:
                if not agrees(existing, person.name, person.birth_date):
                    raise ConflictError(MISMATCH_MESSAGE)
                created = False
                trainee_id = existing["id"]
            else:
                trainee_id = await insert_trainee(person, ctx, now, actor)
                created = True
            if actor.provider_id is not None:
                await link(actor.provider_id, trainee_id, now)
                if not created:
                    await audit.record(actor, "trainee.link", "trainee", trainee_id)
        return trainee_id, created

    # Two registrations of one new person at once: the loser's unique violation is run
    # again and links to the winner's row.
    trainee_id, created = await retry_on_conflict(create_or_link)
    row = await Trainee.select().where(Trainee.id == trainee_id).first()
    assert row is not None
    return TraineeRegistered(created=created, trainee=to_out(row))


def _visible_to(query: Any, viewer: Principal) -> Any:
    if viewer.is_bureau:
        return query
    linked = ProviderLink.select(ProviderLink.trainee).where(
        ProviderLink.provider == viewer.provider_id
    )
    return query.where(Trainee.id.is_in(linked))


async def get_trainee(trainee_id: UUID, viewer: Principal) -> TraineeOut:
    row = await _visible_to(Trainee.select().where(Trainee.id == trainee_id), viewer).first()
    if row is None:
        raise NotFoundError("找不到该人员 / person not found")
    return to_out(row)


async def list_trainees(viewer: Principal, *, limit: int, offset: int) -> list[TraineeOut]:
    query = Trainee.select().order_by(Trainee.created_at).order_by(Trainee.id).limit(limit)
    rows = await _visible_to(query.offset(offset), viewer)
    return [to_out(row) for row in rows]


async def find_by_id_number(lookup: TraineeLookup, ctx: Context) -> TraineeOut:
    """Find a person through the keyed index; every look-up is audited (not the number itself)."""
    try:
        document = parse_id_document(
            lookup.id_type, lookup.id_number, today=ctx.today(), nationality=lookup.nationality
        )
    except IdDocumentError as exc:
        raise RuleViolation.single(exc.field, exc.message) from None
    index = ctx.secrets.id_number_index(document.index_material)
    row = await _visible_to(
        Trainee.select().where(Trainee.id_index == index), ctx.principal
    ).first()
    await audit.record(
        ctx.principal,
        "trainee.lookup",
        "trainee",
        row["id"] if row else "-",
        {"id_number": document.masked, "found": row is not None},
    )
    if row is None:
        raise NotFoundError("没有登记该证件号码的人员 / no person with that ID number")
    return to_out(row)


async def update_trainee(trainee_id: UUID, patch: TraineeUpdate, ctx: Context) -> TraineeOut:
    actor = ctx.principal
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError("只读密钥不能修改人员 / read-only keys cannot change people")
    changes = patch.model_dump(exclude_unset=True)
    identity_fields = {"name", "gender", "birth_date"} & changes.keys()
    if identity_fields and actor.role is not Role.BUREAU_ADMIN:
        raise PermissionDeniedError(
            "姓名、性别、出生日期只能由人社局更正 / only the bureau corrects name, gender, birth date"
        )
    async with write_transaction():
        row = await _visible_to(Trainee.select().where(Trainee.id == trainee_id), actor).first()
        if row is None:
            raise NotFoundError("找不到该人员 / person not found")
        person, errors = check_person(
            name=changes.get("name", row["name"]),
            id_type=row["id_type"],
            id_number=ctx.secrets.decrypt_id_number(row["id_number_encrypted"], row["id_index"]),
            nationality=row["nationality"] or None,
            gender=changes.get("gender", row["gender"]),
            birth_date=changes.get("birth_date", row["birth_date"]),
            district=changes.get("district", row["district"]),
            category=changes.get("category", row["category"]),
            phone=changes.get("phone", row["phone"]),
            today=ctx.today(),
        )
        if errors or person is None:
            raise RuleViolation(errors=errors, detail=errors[0].message)
        after: dict[str, Any] = {
            "name": person.name,
            "gender": person.gender,
            "birth_date": person.birth_date,
            "district": person.district,
            "category": person.category,
            "phone": person.phone,
        }
        recorded = audit.diff(row, after)
        if recorded:
            values: dict[Any, Any] = {**after, "updated_at": datetime.now(UTC)}
            await Trainee.update(values).where(Trainee.id == trainee_id)
            await audit.record(actor, "trainee.update", "trainee", str(trainee_id), recorded)
    return await get_trainee(trainee_id, actor)
