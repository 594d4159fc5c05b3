from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter

from ..certificates.controllers import provide_signing
from ..certificates.services import Signing
from ..web import ANY_ROLE, WRITERS, CurrentPrincipal, Offset, RecordIdPath, ServiceContext, require
from . import services
from .schemas import (
    CompetitionCreate,
    CompetitionLevel,
    CompetitionOut,
    ConfirmRequest,
    ResultCreate,
    ResultOut,
)

RouteSigning = NamedDependency[Signing]


class CompetitionController(Controller):
    path = "/competitions"
    tags = ["competitions"]
    dependencies = {"signing": Provide(provide_signing, sync_to_thread=False)}

    @post(
        "/",
        guards=[require(*WRITERS)],
        summary="Register a competition and its promotion table",
        description="Bureau-admin, or the issuing provider's key. Without `promotion_table`, "
        "municipal class I/II competitions get Xiamen's table and the others none.",
        status_code=201,
    )
    async def create(
        self, data: JSONBody[CompetitionCreate], ctx: ServiceContext
    ) -> CompetitionOut:
        return await services.create_competition(data, ctx)

    @get("/", guards=[require(*ANY_ROLE)], summary="Competitions visible to the key, newest first")
    async def index(
        self,
        principal: CurrentPrincipal,
        year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
        level: Annotated[CompetitionLevel | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[CompetitionOut]:
        return await services.list_competitions(
            principal, year=year, level=level, limit=limit, offset=offset
        )

    @get("/{competition_id:int}", guards=[require(*ANY_ROLE)], summary="One competition")
    async def show(
        self, competition_id: RecordIdPath, principal: CurrentPrincipal
    ) -> CompetitionOut:
        return await services.get_competition(competition_id, principal)

    @post(
        "/{competition_id:int}/results",
        guards=[require(*WRITERS)],
        summary="Enter one result (the person must be registered)",
        description="422 when the person is not registered (register them first) or the "
        "occupation is not the competition's; 409 when the same person's result in the same "
        "event is already entered.",
        status_code=201,
    )
    async def add_result(
        self, competition_id: RecordIdPath, data: JSONBody[ResultCreate], ctx: ServiceContext
    ) -> ResultOut:
        return await services.add_result(competition_id, data, ctx)

    @get(
        "/{competition_id:int}/results",
        guards=[require(*ANY_ROLE)],
        summary="The competition's results",
    )
    async def list_results(
        self, competition_id: RecordIdPath, principal: CurrentPrincipal
    ) -> list[ResultOut]:
        return await services.list_results(competition_id, principal)

    @get(
        "/{competition_id:int}/results/{result_id:int}",
        guards=[require(*ANY_ROLE)],
        summary="One result (a promotion certificate's `source_ref` is the result id)",
    )
    async def get_result(
        self, competition_id: RecordIdPath, result_id: RecordIdPath, principal: CurrentPrincipal
    ) -> ResultOut:
        return await services.get_result(competition_id, result_id, principal)

    @post(
        "/{competition_id:int}/confirm",
        guards=[require(*WRITERS)],
        summary="Confirm results: apply the promotion table and issue promotion certificates",
        description="All pending results, or `result_ids`. All or nothing: 422 lists every "
        "refused promotion (a level the occupation lacks, a second promotion for the person in "
        "the competition's year — naming the earlier one —, the issuer's scope). Certificates: "
        "职业技能等级证书 from the competition's issuer, source `competition`, `source_ref` the "
        "result id. 409 when a listed result is already confirmed or none is pending.",
        status_code=200,
    )
    async def confirm(
        self,
        competition_id: RecordIdPath,
        data: JSONBody[ConfirmRequest],
        ctx: ServiceContext,
        signing: RouteSigning,
    ) -> list[ResultOut]:
        return await services.confirm(competition_id, data, ctx, signing)
