"""Liveness (no database) and readiness (the database answers)."""

from __future__ import annotations

from litestar import Response, get

from .database import ping


@get("/health/live", tags=["health"], summary="The process answers", sync_to_thread=False)
def live() -> dict[str, str]:
    return {"status": "ok"}


@get("/health/ready", tags=["health"], summary="The database answers (503 when it does not)")
async def ready() -> Response[dict[str, str]]:
    if await ping():
        return Response({"status": "ok", "database": "ok"})
    return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
