"""The /v/ budgets: per client (its own address, X-Forwarded-For only from a trusted proxy),
and one budget across every worker when they count in Redis."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from litestar.stores.redis import RedisStore
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from skills_registry.app import create_app
from skills_registry.settings import Settings
from tests.ports import spare_port

REDIS_URL = "redis://127.0.0.1:6379/0"
PAGE = "/v/not-a-token"  # an invalid token still costs a page view
MATCH = "/v/not-a-token/match"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_namespace() -> str:
    if not redis_answers():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Redis does not answer on 127.0.0.1:6379")
        pytest.skip("Redis does not answer on 127.0.0.1:6379 (the shared-budget test needs it)")
    return f"sr-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_cleanup(redis_namespace: str) -> AsyncIterator[Redis]:
    """A client of our own; afterwards only this test's namespace is deleted."""
    client = Redis.from_url(REDIS_URL)
    yield client
    await RedisStore(client, namespace=redis_namespace).delete_all()
    assert await client.keys(f"{redis_namespace}*") == []
    await client.aclose()


def from_address(app: Litestar, host: str) -> httpx.AsyncClient:
    """Requests arriving from `host`, as a server would see the TCP peer."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver.local")


async def codes(client: httpx.AsyncClient, n: int, **headers: str) -> list[int]:
    return [(await client.get(PAGE, headers=headers)).status_code for _ in range(n)]


async def test_a_client_is_its_address_and_a_forged_forwarded_for_buys_nothing(
    app: Litestar, settings: Settings
) -> None:
    limited = create_app(settings.model_copy(update={"verify_page_rate_per_minute": 2}))
    async with (
        from_address(limited, "203.0.113.7") as one,
        from_address(limited, "203.0.113.8") as other,
    ):
        assert await codes(one, 2) == [200, 200]
        spoofed = await one.get(PAGE, headers={"X-Forwarded-For": "198.51.100.1"})
        assert spoofed.status_code == 429
        assert (await one.get(PAGE, headers={"X-Real-IP": "198.51.100.2"})).status_code == 429
        assert await codes(other, 2) == [200, 200]  # another address, its own budget


async def test_behind_a_trusted_proxy_the_forwarded_client_counts(
    app: Litestar, settings: Settings
) -> None:
    proxied = create_app(
        settings.model_copy(
            update={"verify_page_rate_per_minute": 2, "trusted_proxies": "10.0.0.0/8, ::1"}
        )
    )
    async with from_address(proxied, "10.0.0.5") as proxy:
        assert await codes(proxy, 2, **{"X-Forwarded-For": "198.51.100.1"}) == [200, 200]
        assert await codes(proxy, 1, **{"X-Forwarded-For": "198.51.100.1"}) == [429]
        # The client wrote the left part itself; the proxy appended the real address.
        forged_left = {"X-Forwarded-For": "192.0.2.99, 198.51.100.1"}
        assert await codes(proxy, 1, **forged_left) == [429]
        # A second trusted hop is skipped: the client is the first untrusted one from the right.
        two_proxies = {"X-Forwarded-For": "198.51.100.1, 10.0.0.9"}
        assert await codes(proxy, 1, **two_proxies) == [429]
        assert await codes(proxy, 2, **{"X-Forwarded-For": "198.51.100.2"}) == [200, 200]
    # Not from the proxy: the header is the client's own claim and is ignored.
    async with from_address(proxied, "203.0.113.9") as direct:
        assert await codes(direct, 2, **{"X-Forwarded-For": "198.51.100.3"}) == [200, 200]
        assert await codes(direct, 1, **{"X-Forwarded-For": "198.51.100.4"}) == [429]


def test_trusted_proxies_must_be_addresses(settings: Settings) -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(**{**settings.model_dump(), "trusted_proxies": "proxy.example"})
    assert Settings(**settings.model_dump()).trusted_proxy_networks == []


async def test_memory_budgets_are_per_process(app: Litestar, settings: Settings) -> None:
    """Why several workers need Redis: each process counts its own budget in memory."""
    one_setting = settings.model_copy(update={"verify_page_rate_per_minute": 2})
    first, second = create_app(one_setting), create_app(one_setting)
    async with from_address(first, "203.0.113.7") as a, from_address(second, "203.0.113.7") as b:
        assert await codes(a, 3) == [200, 200, 429]
        assert await codes(b, 1) == [200]


async def test_two_servers_share_both_budgets_through_redis(
    app: Litestar, settings: Settings, redis_namespace: str, redis_cleanup: Redis
) -> None:
    shared = settings.model_copy(
        update={
            "redis_url": REDIS_URL,
            "redis_namespace": redis_namespace,
            "verify_page_rate_per_minute": 3,
            "id_match_rate_per_minute": 2,
        }
    )
    first, second = create_app(shared), create_app(shared)
    async with (
        AsyncTestClient(app=first, base_url="https://testserver.local") as a,
        AsyncTestClient(app=second, base_url="https://testserver.local") as b,
    ):
        pages = [(await c.get(PAGE)).status_code for c in (a, b, a, b, a)]
        assert pages == [200, 200, 200, 429, 429]
        matches = [(await c.post(MATCH, data={"id_number": "x"})).status_code for c in (b, a, b, a)]
        assert matches == [200, 200, 429, 429]
        stored = await redis_cleanup.keys(f"{redis_namespace}*")
        assert len(stored) == 2, stored  # one key per budget for this client, nothing else


async def test_with_redis_down_pages_still_answer_and_the_match_check_is_refused(
    app: Litestar, settings: Settings
) -> None:
    """Page views fail open (an employer still gets the verdict); the match check fails
    closed (without its budget it would be an unlimited oracle)."""
    nobody = f"redis://127.0.0.1:{spare_port()}/0"
    down = create_app(settings.model_copy(update={"redis_url": nobody}))
    async with from_address(down, "203.0.113.7") as client:
        page = await client.get(PAGE, headers={"accept": "text/html"})
        assert page.status_code == 200 and "无效" in page.text
        refused = await client.post(MATCH, data={"id_number": "x"}, headers={"accept": "text/html"})
        assert refused.status_code == 503
        assert "暂不可用" in refused.text


async def test_redis_failing_after_the_count_was_read_still_refuses_the_match_check(
    app: Litestar,
    settings: Settings,
    redis_namespace: str,
    redis_cleanup: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading the budget worked, writing it back did not: the check must not run uncounted."""

    async def cannot_write(*_: object, **__: object) -> None:
        raise RedisConnectionError("connection lost")

    monkeypatch.setattr(RedisStore, "set", cannot_write)
    shared = settings.model_copy(
        update={"redis_url": REDIS_URL, "redis_namespace": redis_namespace}
    )
    async with from_address(create_app(shared), "203.0.113.8") as client:
        refused = await client.post(MATCH, data={"id_number": "x"}, headers={"accept": "text/html"})
        assert refused.status_code == 503
        assert "暂不可用" in refused.text
        page = await client.get(PAGE, headers={"accept": "text/html"})
        assert page.status_code == 200  # page views fail open, as when Redis is down
