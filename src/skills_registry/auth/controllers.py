from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from ..schema_base import Schema
from ..web import ADMIN, ANY_ROLE, CurrentPrincipal, RecordIdPath, ServiceContext, require
from . import services
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut


class WhoAmI(Schema):
    role: str
    label: str
    provider: str | None


class ApiKeyController(Controller):
    path = "/keys"
    tags = ["keys"]

    @post("/", guards=[require(*ADMIN)], summary="Issue an API key (shown once)")
    async def create(self, data: JSONBody[ApiKeyCreate], ctx: ServiceContext) -> ApiKeyCreated:
        return await services.create_key(data, ctx.secrets, ctx.principal)

    @get("/", guards=[require(*ADMIN)], summary="Every key, with who holds it")
    async def list(self) -> list[ApiKeyOut]:
        return await services.list_keys()

    @post("/{key_id:int}/revoke", guards=[require(*ADMIN)], status_code=200)
    async def revoke(self, key_id: RecordIdPath, principal: CurrentPrincipal) -> ApiKeyOut:
        return await services.revoke_key(key_id, principal)


@get("/me", guards=[require(*ANY_ROLE)], tags=["keys"], summary="Who this key is")
async def who_am_i(principal: CurrentPrincipal) -> WhoAmI:
    return WhoAmI(
        role=principal.role.value, label=principal.label, provider=principal.provider_code
    )
