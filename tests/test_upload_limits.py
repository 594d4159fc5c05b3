"""Every upload route — each sheet kind over the API and on the clerk's page — answers 413
with a message naming the limit: too many rows, too many bytes, and a body beyond the
limit that the server refuses before reading it."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from skills_registry.app import create_app
from skills_registry.imports.tables import ImportBatch
from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.conftest import Keys
from tests.test_pages_auth import _hidden, sign_in

LIMITS = {"max_upload_rows": 3, "max_upload_bytes": 4000}


def upload_kinds(app: Litestar) -> list[str]:
    """The sheet kinds, read from the app's own upload routes (a new kind is covered)."""
    prefix = "/api/v1/imports/"
    kinds = [
        route.path.removeprefix(prefix)
        for route in app.routes
        if route.path.startswith(prefix)
        and "POST" in getattr(route, "methods", set())
        and "{" not in route.path
    ]
    assert {"enrolments", "certificates"} <= set(kinds), kinds
    return sorted(kinds)


def sheets(template_csv: bytes) -> dict[str, bytes]:
    """Over the row limit, over the byte limit, and far over it (beyond the body limit)."""
    header = template_csv.decode("utf-8-sig").splitlines()[0]
    junk = ",".join(["x"] * len(header.split(",")))
    rows = "\r\n".join([header] + [junk] * (LIMITS["max_upload_rows"] + 1)).encode()
    return {
        "MAX_UPLOAD_ROWS": rows,
        "MAX_UPLOAD_BYTES": header.encode() + b"\r\n" + b"," * LIMITS["max_upload_bytes"],
        "body": b"x" * 200_000,
    }


@pytest.fixture
async def limited(app: Litestar, settings: Settings, two_providers: tuple[str, str]) -> Litestar:
    return create_app(settings.model_copy(update=LIMITS))


async def test_every_api_upload_route_says_the_limit(limited: Litestar, keys: Keys) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    async with AsyncTestClient(app=limited, base_url="https://testserver.local") as client:
        for kind in upload_kinds(limited):
            template = await client.get(f"/api/v1/imports/templates/{kind}.csv", headers=pa)
            for case, content in sheets(template.content).items():
                response = await client.post(
                    f"/api/v1/imports/{kind}", files={"file": ("a.csv", content)}, headers=pa
                )
                where = f"{kind} {case}"
                assert response.status_code == 413, where
                assert response.headers["content-type"].startswith("application/problem+json")
                detail = response.json()["detail"]
                named = "MAX_UPLOAD_ROWS" if case == "MAX_UPLOAD_ROWS" else "MAX_UPLOAD_BYTES"
                assert named in detail, (where, detail)
                limit = LIMITS[named.lower()]
                assert str(limit) in detail, (where, detail)
    assert await ImportBatch.count() == 2 * len(upload_kinds(limited))  # rows + bytes recorded


async def test_every_kind_on_the_clerks_page_says_the_limit(limited: Litestar, keys: Keys) -> None:
    key = await keys.make(Role.PROVIDER, "PA")
    async with AsyncTestClient(app=limited, base_url="https://testserver.local") as client:
        await sign_in(client, key, "/uploads")
        page = await client.get("/uploads")
        csrf = _hidden(page.text, "csrf_token")
        assert "最大 3.90625 KB、3 行" in page.text  # the page states the limits it enforces
        for kind in upload_kinds(limited):
            template = await client.get(f"/uploads/templates/{kind}.csv")
            for case, content in sheets(template.content).items():
                response: Any = await client.post(
                    "/uploads",
                    data={"kind": kind, "csrf_token": csrf},
                    files={"file": ("a.csv", content)},
                    headers={"accept": "text/html"},
                )
                where = f"{kind} {case}"
                assert response.status_code == 413, where
                assert response.headers["content-type"].startswith("text/html"), where
                named = "MAX_UPLOAD_ROWS" if case == "MAX_UPLOAD_ROWS" else "MAX_UPLOAD_BYTES"
                assert named in response.text, (where, response.text[-2000:])
                assert str(LIMITS[named.lower()]) in response.text, where
