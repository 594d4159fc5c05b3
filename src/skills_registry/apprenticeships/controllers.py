from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter

from ..certificates.controllers import provide_signing
from ..certificates.services import Signing
from ..web import ANY_ROLE, WRITERS, CurrentPrincipal, Offset, RecordIdPath, ServiceContext, require
from . import services
from .schemas import (
    ApprenticeshipComplete,
    ApprenticeshipCreate,
    ApprenticeshipFigures,
    ApprenticeshipOut,
    ApprenticeshipPage,
    ApprenticeshipTerminate,
    Status,
)


def provide_subsidy_rates(request: Request) -> dict[int, int]:
    return dict(request.app.state.settings.apprentice_subsidy_by_level)


RouteSigning = NamedDependency[Signing]
SubsidyRates = NamedDependency[dict[int, int]]


class ApprenticeshipController(Controller):
    path = "/apprenticeships"
    tags = ["apprenticeships"]
    dependencies = {
        "signing": Provide(provide_signing, sync_to_thread=False),
        "rates": Provide(provide_subsidy_rates, sync_to_thread=False),
    }

    @post(
        "/",
        guards=[require(*WRITERS)],
        summary="Register an apprenticeship (企业新型学徒制)",
        description="Bureau-admin, or a provider key of the enterprise or the institution. "
        "The apprentice is `trainee_id` or the person's fields (create-or-link) and is linked "
        "to both parties. 422 names every rule broken: a period shorter than 1 or longer than "
        "3 years, a labour contract under 1 year, an enterprise that is not a 企业, a target "
        "level the occupation lacks; 409 when the same apprenticeship is already registered.",
        status_code=201,
    )
    async def create(
        self, data: JSONBody[ApprenticeshipCreate], ctx: ServiceContext, rates: SubsidyRates
    ) -> ApprenticeshipOut:
        return await services.create(data, ctx, rates)

    @get(
        "/",
        guards=[require(*ANY_ROLE)],
        summary="Apprenticeships visible to the key, newest first",
    )
    async def list(
        self,
        principal: CurrentPrincipal,
        status: Annotated[Status | None, QueryParameter()] = None,
        enterprise: Annotated[str | None, QueryParameter()] = None,
        institution: Annotated[str | None, QueryParameter()] = None,
        trainee_id: Annotated[UUID | None, QueryParameter()] = None,
        occupation_code: Annotated[str | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> ApprenticeshipPage:
        filters = services.ApprenticeshipFilter(
            status=status,
            enterprise=enterprise,
            institution=institution,
            trainee_id=trainee_id,
            occupation_code=occupation_code,
        )
        return await services.list_apprenticeships(principal, filters, limit=limit, offset=offset)

    @get(
        "/figures",
        guards=[require(*ANY_ROLE)],
        summary="Active, started, completed, terminated, completion rate and subsidy due in a year",
        description="Bureau roles see every apprenticeship; a provider key its own. "
        "`year` defaults to the current year.",
    )
    async def figures(
        self,
        ctx: ServiceContext,
        year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
    ) -> ApprenticeshipFigures:
        return await services.figures(year or ctx.today().year, ctx.principal)

    @get(
        "/{apprenticeship_id:int}",
        guards=[require(*ANY_ROLE)],
        summary="One apprenticeship (bureau roles, the enterprise, the institution)",
    )
    async def get(
        self, apprenticeship_id: RecordIdPath, principal: CurrentPrincipal
    ) -> ApprenticeshipOut:
        return await services.get(apprenticeship_id, principal)

    @post(
        "/{apprenticeship_id:int}/complete",
        guards=[require(*WRITERS)],
        summary="Complete with the evaluation result; a pass issues the certificate",
        description="The certificate (source `apprenticeship`, `source_ref` the id) is issued "
        "by the institution when its scope covers the occupation at the level achieved, else "
        "by the enterprise when its scope does; 422 when neither may. A provider key may enter "
        "a pass only for the issuing party. 409 when the apprenticeship is no longer active.",
        status_code=200,
    )
    async def complete(
        self,
        apprenticeship_id: RecordIdPath,
        data: JSONBody[ApprenticeshipComplete],
        ctx: ServiceContext,
        signing: RouteSigning,
    ) -> ApprenticeshipOut:
        return await services.complete(apprenticeship_id, data, ctx, signing)

    @post(
        "/{apprenticeship_id:int}/terminate",
        guards=[require(*WRITERS)],
        summary="Terminate with the reason (409 when no longer active)",
        status_code=200,
    )
    async def terminate(
        self,
        apprenticeship_id: RecordIdPath,
        data: JSONBody[ApprenticeshipTerminate],
        ctx: ServiceContext,
    ) -> ApprenticeshipOut:
        return await services.terminate(apprenticeship_id, data, ctx)
