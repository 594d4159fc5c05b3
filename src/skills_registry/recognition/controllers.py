from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from ..certificates.controllers import provide_signing
from ..certificates.services import Signing
from ..web import (
    ADMIN,
    ANY_ROLE,
    WRITERS,
    CurrentPrincipal,
    Offset,
    RecordIdPath,
    ServiceContext,
    require,
)
from . import services
from .schemas import (
    PARTNERS,
    AgreementCreate,
    AgreementOut,
    DecisionRequest,
    Partner,
    RecognitionCreate,
    RecognitionOut,
)

RouteSigning = NamedDependency[Signing]


class RecognitionController(Controller):
    path = "/recognitions"
    tags = ["recognition"]
    dependencies = {"signing": Provide(provide_signing, sync_to_thread=False)}

    @get(
        "/partners",
        guards=[require(*ANY_ROLE)],
        summary="Recognition partners: BRICS members abroad (ISO alpha-3) and TWN (中国台湾地区)",
    )
    async def partners(self) -> list[Partner]:
        return list(PARTNERS.values())

    @post(
        "/agreements",
        guards=[require(*ADMIN)],
        summary="Register an agreement or batch document and its level mapping (bureau-admin)",
        status_code=201,
    )
    async def create_agreement(
        self, data: JSONBody[AgreementCreate], principal: CurrentPrincipal
    ) -> AgreementOut:
        return await services.create_agreement(data, principal)

    @get(
        "/agreements",
        guards=[require(*ANY_ROLE)],
        summary="Agreements (a provider key sees those it issues for)",
    )
    async def agreements(self, principal: CurrentPrincipal) -> list[AgreementOut]:
        return await services.list_agreements(principal)

    @get("/agreements/{code:str}", guards=[require(*ANY_ROLE)], summary="One agreement")
    async def agreement(self, code: FromPath[str], principal: CurrentPrincipal) -> AgreementOut:
        return await services.get_agreement(code, principal)

    @post(
        "/",
        guards=[require(*WRITERS)],
        summary="Register a qualification issued elsewhere (pending until decided)",
        description="Bureau-admin, or the key of the agreement's issuing provider. The holder "
        "is `trainee_id` or the person's fields (create-or-link; passports with nationality). "
        "The agreement's mapping suggests the level; 422 for a partner that is not one or is "
        "not the agreement's, a foreign level the mapping lacks, a level the occupation lacks; "
        "409 when the foreign number is already registered under the agreement.",
        status_code=201,
    )
    async def create(
        self, data: JSONBody[RecognitionCreate], ctx: ServiceContext
    ) -> RecognitionOut:
        return await services.create(data, ctx)

    @get("/", guards=[require(*ANY_ROLE)], summary="Recognition records, newest first")
    async def index(
        self,
        principal: CurrentPrincipal,
        status: Annotated[
            Literal["pending", "recognised", "refused"] | None, QueryParameter()
        ] = None,
        partner: Annotated[str | None, QueryParameter()] = None,
        agreement: Annotated[str | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[RecognitionOut]:
        return await services.list_recognitions(
            principal,
            status=status,
            partner=partner,
            agreement=agreement,
            limit=limit,
            offset=offset,
        )

    @get("/{recognition_id:int}", guards=[require(*ANY_ROLE)], summary="One recognition record")
    async def show(
        self, recognition_id: RecordIdPath, principal: CurrentPrincipal
    ) -> RecognitionOut:
        return await services.get(recognition_id, principal)

    @post(
        "/{recognition_id:int}/decision",
        guards=[require(*ADMIN)],
        summary="Decide: recognised (issues the mainland certificate) or refused (with reason)",
        description="Bureau-admin. Recognising issues a 职业技能等级证书 at the suggested level "
        "(or `level`) from the agreement's issuer: source `recognition`, `source_ref` the "
        "record's id; `pdf_url` asks for the bilingual PDF (`?lang=zh-en`). 409 once decided.",
        status_code=200,
    )
    async def decide(
        self,
        recognition_id: RecordIdPath,
        data: JSONBody[DecisionRequest],
        ctx: ServiceContext,
        signing: RouteSigning,
    ) -> RecognitionOut:
        return await services.decide(recognition_id, data, ctx, signing)
