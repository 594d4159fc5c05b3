"""The page an employer sees after scanning a QR code: phone-first, no login, no scripts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from time import time
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ServiceUnavailableException
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.params import Body, FromPath
from litestar.response import Template
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..settings import Settings
from . import services

logger = logging.getLogger(__name__)

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


class PageViewLimit(RateLimitMiddleware):
    """Page views fail open: with the budget store down, an employer still gets the verdict."""

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        try:
            return await super().retrieve_cached_history(key, store)
        except RedisError:
            logger.warning("rate-limit store unavailable: page views are not counted")
            return CacheObject(history=[], reset=int(time()) + DURATION_VALUES[self.unit])

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        with contextlib.suppress(RedisError):
            await super().set_cached_history(key, cache_object, store)


MATCH_UNAVAILABLE = "核对功能暂不可用，请稍后再试 / the ID check is unavailable, try again shortly"


class MatchLimit(RateLimitMiddleware):
    """The match check fails closed: without its budget it would be an unlimited oracle."""

    async def retrieve_cached_history(self, key: str, store: Store) -> CacheObject:
        try:
            return await super().retrieve_cached_history(key, store)
        except RedisError as exc:
            logger.warning("rate-limit store unavailable: the match check is refused")
            raise ServiceUnavailableException(MATCH_UNAVAILABLE) from exc

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        try:
            await super().set_cached_history(key, cache_object, store)
        except RedisError as exc:  # the check must not run uncounted
            logger.warning("rate-limit store unavailable: the match check is refused")
            raise ServiceUnavailableException(MATCH_UNAVAILABLE) from exc


PAGE_LIMIT_STORE = "rate_limit_verify_page"
MATCH_LIMIT_STORE = "rate_limit_id_match"

Networks = Sequence[IPv4Network | IPv6Network]


def _within(address: str, networks: Networks) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_identity(trusted_proxies: Networks) -> Callable[[Request], str]:
    """Who a request counts against: the address it connects from.

    Only when that address is a configured proxy is X-Forwarded-For read, from the right:
    the first hop not itself a trusted proxy is the client (anything further left was
    written by the client and proves nothing).
    """

    def identify(request: Request) -> str:
        remote = request.client.host if request.client else "unknown"
        if not trusted_proxies or not _within(remote, trusted_proxies):
            return remote
        hops = [
            hop.strip()
            for header in request.headers.getall("x-forwarded-for", [])
            for hop in header.split(",")
            if hop.strip()
        ]
        for hop in reversed(hops):
            if not _within(hop, trusted_proxies):
                return hop
        return hops[0] if hops else remote

    return identify


@dataclass
class RateLimitStores:
    """The stores the two budgets are counted in, and the Redis client to close with the app."""

    stores: dict[str, Store]
    redis: Redis | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self.redis is not None:
                await self.redis.aclose()


def rate_limit_stores(settings: Settings) -> RateLimitStores:
    """Redis when configured (one budget shared by every worker and server), else this
    process's memory (right for one worker only)."""
    if settings.redis_url is None:
        return RateLimitStores({PAGE_LIMIT_STORE: MemoryStore(), MATCH_LIMIT_STORE: MemoryStore()})
    # Short timeouts: a Redis that does not answer must not hold a scan for long.
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
    shared = RedisStore(client, namespace=settings.redis_namespace)
    return RateLimitStores(
        {
            PAGE_LIMIT_STORE: shared.with_namespace(PAGE_LIMIT_STORE),
            MATCH_LIMIT_STORE: shared.with_namespace(MATCH_LIMIT_STORE),
        },
        client,
    )


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
