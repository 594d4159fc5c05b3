from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from ..web import ANY_ROLE, WRITERS, CurrentPrincipal, Offset, ServiceContext, require
from . import services
from .schemas import TraineeCreate, TraineeLookup, TraineeOut, TraineeRegistered, TraineeUpdate


class TraineeController(Controller):
    path = "/trainees"
    tags = ["trainees"]

    @post(
        "/",
        guards=[require(*WRITERS)],
        summary="Register a person, or link to the one already registered",
        description="201 when created; 200 when the (ID type, number) was already registered and "
        "name and birth date agree; 409 when they disagree (nothing stored is revealed).",
        status_code=201,
    )
    async def register(
        self, data: JSONBody[TraineeCreate], ctx: ServiceContext
    ) -> Response[TraineeRegistered]:
        result = await services.register(data, ctx)
        return Response(result, status_code=201 if result.created else 200)

    @get("/", guards=[require(*ANY_ROLE)], summary="People visible to the key, oldest first")
    async def list(
        self,
        principal: CurrentPrincipal,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[TraineeOut]:
        return await services.list_trainees(principal, limit=limit, offset=offset)

    @post(
        "/lookup",
        guards=[require(*ANY_ROLE)],
        summary="Find a person by ID number (keyed index; audited)",
        description="The number travels in the body, never in a URL.",
        status_code=200,
    )
    async def lookup(self, data: JSONBody[TraineeLookup], ctx: ServiceContext) -> TraineeOut:
        return await services.find_by_id_number(data, ctx)

    @get("/{trainee_id:uuid}", guards=[require(*ANY_ROLE)], summary="One person")
    async def get(self, trainee_id: FromPath[UUID], principal: CurrentPrincipal) -> TraineeOut:
        return await services.get_trainee(trainee_id, principal)

    @patch("/{trainee_id:uuid}", guards=[require(*WRITERS)], summary="Correct a person")
    async def update(
        self, trainee_id: FromPath[UUID], data: JSONBody[TraineeUpdate], ctx: ServiceContext
    ) -> TraineeOut:
        return await services.update_trainee(trainee_id, data, ctx)
