from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody

from ..web import ADMIN, ANY_ROLE, CurrentPrincipal, require
from . import services
from .schemas import ProviderCreate, ProviderOut, ProviderUpdate


class ProviderController(Controller):
    path = "/providers"
    tags = ["providers"]

    @post("/", guards=[require(*ADMIN)], summary="Register a provider (bureau-admin)")
    async def create(
        self, data: JSONBody[ProviderCreate], principal: CurrentPrincipal
    ) -> ProviderOut:
        return await services.create_provider(data, principal)

    @get("/", guards=[require(*ANY_ROLE)], summary="Providers (a provider key sees its own)")
    async def list(self, principal: CurrentPrincipal) -> list[ProviderOut]:
        return await services.list_providers(principal)

    @get("/{code:str}", guards=[require(*ANY_ROLE)], summary="One provider")
    async def get(self, code: FromPath[str], principal: CurrentPrincipal) -> ProviderOut:
        return await services.get_provider(code, principal)

    @patch("/{code:str}", guards=[require(*ADMIN)], summary="Change a provider (bureau-admin)")
    async def update(
        self, code: FromPath[str], data: JSONBody[ProviderUpdate], principal: CurrentPrincipal
    ) -> ProviderOut:
        return await services.update_provider(code, data, principal)
