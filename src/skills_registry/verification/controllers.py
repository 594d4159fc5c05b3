"""Public endpoints, no API key: the verdict on a token, and the published public keys."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from ..web import BUREAU, require
from . import services
from .services import Verdict


@get(
    "/{token:str}",
    summary="Verify a certificate token (public; always 200: the verdict is the answer)",
    description="Checks the signature first (unknown key, bad signature or encoding: "
    "`invalid`), then the certificate: `valid`, `revoked` (with revoked_on and reason), "
    "`superseded` (with superseded_by) or `not_found`.",
    tags=["verification"],
)
async def verify(token: FromPath[str], request: Request) -> Response[Verdict]:
    state = request.app.state
    verdict = await services.verify_token(
        token,
        state.keystore,
        state.settings.tz,
        state.verification_log,
        "api",
        state.verification_cache,
        state.signature_cache,
    )
    return Response(verdict, headers={"Cache-Control": "no-store"})


@get(
    "/.well-known/jwks.json",
    summary="The public signing keys (JWK set) for offline verification",
    tags=["verification"],
    sync_to_thread=False,
)
def jwks(request: Request) -> Response[dict[str, Any]]:
    keys = services.jwks(request.app.state.keystore)
    return Response(
        keys, media_type="application/json", headers={"Cache-Control": "public, max-age=300"}
    )


# Outside the /api/v1 router on purpose: no ApiKeyAuthMiddleware, anyone may verify.
verify_router = Router(path="/api/v1/verify", route_handlers=[verify], security=[])

VERIFICATION_HANDLERS: list[ControllerRouterHandler] = [verify_router, jwks]


@get(
    "/verifications/monthly",
    guards=[require(*BUREAU)],
    summary="Verifications per month and verdict (bureau)",
    tags=["verification"],
)
async def monthly_verifications(request: Request) -> list[services.MonthlyCount]:
    await request.app.state.verification_log.flush()
    return await services.monthly_counts(request.app.state.settings.tz)


VERIFICATION_API: list[ControllerRouterHandler] = [monthly_verifications]
