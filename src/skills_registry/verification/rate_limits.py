"""Per-client budgets for the public /v/ pages: who a request counts against, where the
counts live (Redis across workers when configured, else this process's memory), and what
happens when Redis is down (page views fail open, the ID match check fails closed)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from time import time

from litestar import Request
from litestar.exceptions import ServiceUnavailableException
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..settings import Settings

logger = logging.getLogger(__name__)


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
            raise _match_refused() from exc

    async def set_cached_history(self, key: str, cache_object: CacheObject, store: Store) -> None:
        try:
            await super().set_cached_history(key, cache_object, store)
        except RedisError as exc:  # the check must not run uncounted
            raise _match_refused() from exc


def _match_refused() -> ServiceUnavailableException:
    logger.warning("rate-limit store unavailable: the match check is refused")
    return ServiceUnavailableException(MATCH_UNAVAILABLE)


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
