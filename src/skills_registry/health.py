"""Liveness (no database) and readiness (the database answers)."""

from __future__ import annotations

from litestar import Response, get

from .database import PING_TIMEOUT_S, ping
from .web import RETRY_AFTER_S


@get("/health/live", tags=["health"], summary="The process answers", sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/health/ready",
    tags=["health"],
    summary=f"The database answers within {PING_TIMEOUT_S:g} s (503 when it does not)",
)
async def ready() -> Response[dict[str, str]]:
    if await ping():
        return Response({"status": "ok", "database": "ok"})
    return Response(
        {"status": "unavailable", "database": "unreachable"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
