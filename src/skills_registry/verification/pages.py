"""The page an employer sees after scanning a QR code: phone-first, no login, no scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import Body, FromPath
from litestar.response import Template

from ..settings import Settings
from . import services
from .rate_limits import (
    MATCH_LIMIT_STORE,
    PAGE_LIMIT_STORE,
    MatchLimit,
    PageViewLimit,
    client_identity,
)

_TITLES = {
    "valid": ("有效", "Valid — issued by the registry and in force"),
    "revoked": ("已撤销", "Revoked"),
    "superseded": ("已更正作废", "Superseded by a corrected certificate"),
    "not_found": ("查无此证", "Not found in the registry"),
    "invalid": ("无效 / 伪造", "Invalid or forged"),
}


def _context(request: Request, verdict: services.Verdict, token: str) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    zh, en = _TITLES[verdict.status]
    certificate = verdict.certificate
    return {
        "verdict": {"status": verdict.status, "title_zh": zh, "title_en": en},
        "certificate": certificate.model_dump() if certificate else None,
        "checked_at": verdict.checked_at.strftime("%Y-%m-%d %H:%M:%S"),
        "official_host": urlsplit(settings.public_base_url).netloc,
        "match_form": verdict.status == "valid",
        "match_action": f"/v/{token}/match",
        "match_result": None,
    }


async def _verdict(request: Request, token: str, channel: str) -> services.Verdict:
    state = request.app.state
    return await services.verify_token(
        token,
        state.keystore,
        state.settings.tz,
        state.verification_log,
        channel,
        state.verification_cache,
        state.signature_cache,
    )


_NO_STORE = {"Cache-Control": "no-store"}


@get("/{token:str}", summary="Certificate check page (public)", tags=["verification"])
async def verification_page(token: FromPath[str], request: Request) -> Template:
    verdict = await _verdict(request, token, "page")
    return Template(
        "verification/page.html", context=_context(request, verdict, token), headers=_NO_STORE
    )


@post(
    "/{token:str}/match",
    summary="Does this ID number belong to the holder? (public, rate limited; yes or no)",
    tags=["verification"],
    status_code=200,
)
async def id_match(
    token: FromPath[str],
    request: Request,
    # Optional: an empty form is answered like a blank ID number, on the page.
    data: Annotated[dict[str, str] | None, Body(media_type=RequestEncodingType.URL_ENCODED)] = None,
) -> Template:
    verdict = await _verdict(request, token, "match")
    context = _context(request, verdict, token)
    if verdict.status == "valid":
        state = request.app.state
        today = datetime.now(state.settings.tz).date()
        context["match_result"] = await services.id_number_matches(
            verdict, (data or {}).get("id_number", ""), state.secrets, today
        )
    return Template("verification/page.html", context=context, headers=_NO_STORE)


def _is_page(request: Request) -> bool:
    return request.method == "GET"


def _is_match(request: Request) -> bool:
    return request.method == "POST"


def verification_pages(settings: Settings) -> Router:
    """`/v/...` with per-client limits: a page view limit, and a tighter one on matching."""
    identify = client_identity(settings.trusted_proxy_networks)
    page_limit = RateLimitConfig(
        rate_limit=("minute", settings.verify_page_rate_per_minute),
        check_throttle_handler=_is_page,
        identifier_for_request=identify,
        store=PAGE_LIMIT_STORE,
        middleware_class=PageViewLimit,
    )
    match_limit = RateLimitConfig(
        rate_limit=("minute", settings.id_match_rate_per_minute),
        check_throttle_handler=_is_match,
        identifier_for_request=identify,
        store=MATCH_LIMIT_STORE,
        middleware_class=MatchLimit,
    )
    return Router(
        path="/v",
        route_handlers=[verification_page, id_match],
        middleware=[page_limit.middleware, match_limit.middleware],
    )
