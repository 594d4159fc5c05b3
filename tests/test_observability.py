"""Logs and metrics: JSON access lines with request ids, no personal data, Prometheus counters.

The app is built in production mode (JSON logs) on the usual test databases; both engines,
because their drivers' own log lines are part of what must not leak.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from skills_registry.app import create_app
from skills_registry.certificates.signing import KeyStore
from skills_registry.observability import request_id_from, route_path
from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.conftest import Keys, make_settings
from tests.factories import nth_resident_id
from tests.test_certificate_pdf import VIEW
from tests.test_verification import PERSON_ID, issue
from tests.upload_files import csv_bytes, row


@pytest.fixture
def settings(backend_settings: Settings) -> Settings:
    """Production mode on the migrated test database (conftest's `app` builds from this)."""
    return make_settings(backend_settings.database_url, environment="production")


@contextmanager
def app_log() -> Iterator[io.StringIO]:
    """What the log handler that `create_app` configured on the root logger writes,
    redirected from stderr into a buffer."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    # httpx is the test client here: it logs the URLs it requests, tokens included.
    # (Not caplog.set_level: that would also raise caplog's own handler to WARNING.)
    client_log = logging.getLogger("httpx")
    client_level = client_log.level
    client_log.setLevel(logging.WARNING)
    try:
        yield buffer
    finally:
        client_log.setLevel(client_level)
        handler.setStream(previous)  # type: ignore[arg-type]


@pytest.fixture
def log_output(app: Litestar) -> Iterator[io.StringIO]:
    with app_log() as buffer:
        yield buffer


def json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    lines = buffer.getvalue().splitlines()
    assert lines, "nothing was logged"
    return [json.loads(line) for line in lines]  # every line is one JSON object


def access_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [e for e in json_lines(buffer) if e["logger"] == "skills_registry.access"]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- request ids and the access line -------------------------------------------------


async def test_production_access_line_is_json_with_the_response_request_id(
    client: AsyncTestClient, log_output: io.StringIO
) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and request_id.isalnum()

    [line] = access_lines(log_output)
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
    }
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["status"], line["level"]) == (
        "GET",
        "/health/live",
        200,
        "INFO",
    )
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")

    second = await client.get("/health/live")
    assert second.headers["x-request-id"] != request_id  # one id per request


async def test_incoming_request_id_is_kept_and_a_hostile_one_replaced(
    client: AsyncTestClient, log_output: io.StringIO
) -> None:
    kept = await client.get("/health/live", headers={"X-Request-ID": "lb-7f3a-0001"})
    assert kept.headers["x-request-id"] == "lb-7f3a-0001"

    hostile = [
        "a" * 65,
        'x", "level": "CRITICAL',
        "abc def",
        "id_number=35020319900101123X;",
        "",
    ]
    answered = []
    for value in hostile:
        response = await client.get("/health/live", headers={"X-Request-ID": value})
        answered.append(response.headers["x-request-id"])
    assert all(len(a) == 32 and a.isalnum() for a in answered)
    assert len(set(answered)) == len(answered)

    logged = [line["request_id"] for line in access_lines(log_output)]
    assert logged == ["lb-7f3a-0001", *answered]
    text = log_output.getvalue()
    assert "a" * 65 not in text and "CRITICAL" not in text and "35020319900101123X" not in text


def test_request_id_rules_on_raw_headers() -> None:
    # Raw ASGI headers: what a client could send that no HTTP client library would.
    assert request_id_from([(b"x-request-id", b"abc\r\nfake: line")]) != "abc\r\nfake: line"
    assert request_id_from([(b"X-Request-ID", b"Good-1")]) == "Good-1"
    assert request_id_from([(b"x-request-id", "编号".encode())]).isalnum()
    assert request_id_from([]) != request_id_from([])


async def test_lines_written_during_a_request_carry_its_id_and_no_raw_path(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A database that disappeared: the 503 handler logs a warning while handling the request.
    number = "S000035020001255000123"
    settings = make_settings(f"sqlite:///{tmp_path}/db/registry.db", environment="production")
    app = create_app(settings)
    (tmp_path / "db" / "registry.db").unlink()
    (tmp_path / "db").rmdir()
    api_key = "sr_secret-key-that-must-not-be-logged"
    with app_log() as buffer:
        async with AsyncTestClient(app=app) as client:
            response = await client.get(
                f"/api/v1/certificates/{number}",
                headers={"Authorization": f"Bearer {api_key}", "X-Request-ID": "req-42"},
            )
    assert response.status_code == 503
    lines = json_lines(buffer)
    warning = next(e for e in lines if e["logger"] == "skills_registry")
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == "req-42"
    assert "/api/v1/certificates/{number}" in warning["message"]
    access = next(e for e in lines if e["logger"] == "skills_registry.access")
    assert (access["request_id"], access["status"]) == ("req-42", 503)
    for secret in (api_key, number):
        assert secret not in buffer.getvalue()
        assert secret not in caplog.text


# --- no personal data in logs ---------------------------------------------------------


async def test_tokens_id_numbers_and_keys_never_reach_the_logs(
    client: AsyncTestClient,
    keys: Keys,
    two_providers: tuple[str, str],
    log_output: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # what LOG_LEVEL=DEBUG would write, libraries included
    admin_key = await keys.make(Role.BUREAU_ADMIN)
    certificate = await issue(client, keys)
    token = certificate["token"]

    page = await client.get(f"/v/{token}", params={"id_number": PERSON_ID, "k": admin_key})
    assert page.status_code == 200
    match = await client.post(
        f"/v/{token}/match",
        data={"id_number": PERSON_ID},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert match.status_code == 200 and "match-yes" in match.text
    assert (await client.get(f"/api/v1/verify/{token}")).json()["status"] == "valid"
    # A GET on the match URL matches no route (405): the raw path is not logged either.
    assert (await client.get(f"/v/{token}/match")).status_code == 405
    lookup = await client.post(
        "/api/v1/trainees/lookup",
        json={"id_type": "居民身份证", "id_number": PERSON_ID},
        headers=keys.auth(admin_key),
    )
    assert lookup.status_code == 200

    captured = log_output.getvalue() + "\n" + caplog.text
    assert "skills_registry.access" in {r.name for r in caplog.records}  # caplog saw them too
    claims = token.split(".")[1]  # a token's header is the same for all; its claims are not
    for secret in (claims, PERSON_ID, admin_key, "林晓燕"):
        assert secret not in captured
    paths = [line["path"] for line in access_lines(log_output)]
    assert paths == [
        "/api/v1/certificates",
        "/v/{token}",
        "/v/{token}/match",
        "/api/v1/verify/{token}",
        "/v/{redacted}/match",
        "/api/v1/trainees/lookup",
    ]


def test_unrouted_paths_keep_only_words_of_our_routes() -> None:
    words = frozenset({"api", "v1", "v", "match", "trainees"})

    def logged(path: str) -> str:
        return route_path({"path": path}, words)  # type: ignore[arg-type]

    assert logged("/v/eyJhbGc.x.y/match") == "/v/{redacted}/match"
    assert logged("/api/v1/trainees/林晓燕") == "/api/v1/trainees/{redacted}"
    assert logged("/wp-admin/setup.php") == "/{redacted}/{redacted}"
    assert route_path({"path": "/v/x", "path_template": "/v/{token}"}, words) == "/v/{token}"  # type: ignore[arg-type]


# --- metrics --------------------------------------------------------------------------


def http_requests(text: str) -> dict[tuple[str, str, str], float]:
    counts = {}
    for family in text_string_to_metric_families(text):
        if family.name == "skills_registry_http_requests":
            for s in family.samples:
                if s.name.endswith("_total"):
                    key = (s.labels["method"], s.labels["path"], s.labels["status_code"])
                    counts[key] = s.value
    return counts


async def test_metrics_label_requests_by_route_template(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    certificate = await issue(client, keys)
    before = http_requests((await client.get("/metrics")).text)
    await client.get(f"/v/{certificate['token']}")
    await client.get(f"/api/v1/verify/{certificate['token']}")
    await client.get("/api/v1/me")  # no key: 401 from the auth middleware

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = http_requests(response.text)

    def delta(key: tuple[str, str, str]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert delta(("GET", "/v/{token}", "200")) == 1
    assert delta(("GET", "/api/v1/verify/{token}", "200")) == 1
    # Litestar's own middleware would count this 401 as a 200 (see observability.py).
    assert delta(("GET", "/api/v1/me", "401")) == 1
    assert delta(("GET", "/api/v1/me", "200")) == 0
    assert not any(path == "/metrics" for _, path, _ in after)  # scrapes are not counted
    assert certificate["token"] not in response.text
    assert certificate["number"] not in response.text


async def test_domain_counters_move(
    client: AsyncTestClient,
    keys: Keys,
    two_providers: tuple[str, str],
    settings: Settings,
    log_output: io.StringIO,
) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))

    # Uploads: one stored sheet of two rows, one rejected sheet (one bad row of two).
    stored_before = sample("skills_registry_imports_total", kind="enrolments", outcome="stored")
    rejected_before = sample("skills_registry_imports_total", kind="enrolments", outcome="rejected")
    rows_before = sample("skills_registry_import_rows_total", kind="enrolments", outcome="stored")
    bad_rows_before = sample(
        "skills_registry_import_rows_total", kind="enrolments", outcome="rejected"
    )
    good = csv_bytes([row(101), row(102)])
    answer = await client.post(
        "/api/v1/imports/enrolments", files={"file": ("名单.csv", good)}, headers=pa
    )
    assert answer.status_code == 200, answer.text
    bad = csv_bytes([row(103), row(104, id_number="350203199001011230")])
    answer = await client.post(
        "/api/v1/imports/enrolments", files={"file": ("名单.csv", bad)}, headers=pa
    )
    assert answer.status_code == 422
    assert sample("skills_registry_imports_total", kind="enrolments", outcome="stored") == (
        stored_before + 1
    )
    assert sample("skills_registry_imports_total", kind="enrolments", outcome="rejected") == (
        rejected_before + 1
    )
    assert sample("skills_registry_import_rows_total", kind="enrolments", outcome="stored") == (
        rows_before + 2
    )
    assert sample("skills_registry_import_rows_total", kind="enrolments", outcome="rejected") == (
        bad_rows_before + 1
    )

    # A PDF: rendered once, then served from the cache without another render.
    renders_before = sample("skills_registry_pdf_renders_total", mode="single", outcome="ok")
    timed_before = sample("skills_registry_pdf_render_seconds_count", mode="single")
    first = await issue(client, keys)
    for _ in range(2):
        pdf = await client.get(f"/api/v1/certificates/{first['number']}/pdf", headers=admin)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert sample("skills_registry_pdf_renders_total", mode="single", outcome="ok") == (
        renders_before + 1
    )
    assert sample("skills_registry_pdf_render_seconds_count", mode="single") == timed_before + 1
    assert sample("skills_registry_pdf_render_seconds_sum", mode="single") > 0

    # Verifications of every result.
    second = await issue(client, keys, level=4)
    revoked = await client.post(
        f"/api/v1/certificates/{first['number']}/revoke", json={"reason": "考试作弊"}, headers=admin
    )
    assert revoked.status_code == 200
    corrected = await client.post(
        f"/api/v1/certificates/{second['number']}/correct",
        json={"reason": "工种更正", "trade": "电力电工"},
        headers=admin,
    )
    assert corrected.status_code in (200, 201), corrected.text
    unknown, _ = KeyStore(settings.keys_dir).sign(
        {"n": "S000035999999259000001", "k": "SL", "o": "6-31-01-03", "l": 3, "d": "2025-01-01"}
    )
    tokens = {
        "valid": corrected.json()["token"],
        "revoked": first["token"],
        "superseded": second["token"],
        "not_found": unknown,
        "invalid": "not.a.token",
    }
    results = ["valid", "revoked", "superseded", "not_found", "invalid"]
    before = {
        r: sample("skills_registry_verifications_total", result=r, channel="api") for r in results
    }
    for result, token in tokens.items():
        body = (await client.get(f"/api/v1/verify/{token}")).json()
        assert body["status"] == result
    page_before = sample("skills_registry_verifications_total", result="valid", channel="page")
    await client.get(f"/v/{tokens['valid']}")
    for result in results:
        assert sample("skills_registry_verifications_total", result=result, channel="api") == (
            before[result] + 1
        ), result
    assert sample("skills_registry_verifications_total", result="valid", channel="page") == (
        page_before + 1
    )

    # The sheets' ID numbers were not logged either.
    for n in (101, 102, 103):
        assert nth_resident_id(n) not in log_output.getvalue()


def test_batch_renders_are_counted_in_the_parent() -> None:
    from skills_registry.documents.pool import render_many

    ok_before = sample("skills_registry_pdf_renders_total", mode="batch", outcome="ok")
    failed_before = sample("skills_registry_pdf_renders_total", mode="batch", outcome="failed")
    views = [replace(VIEW, number=f"S00003502000125300{n:04d}") for n in range(2)]
    assert len(dict(render_many(views, workers=1))) == 2
    assert sample("skills_registry_pdf_renders_total", mode="batch", outcome="ok") == ok_before + 2
    assert sample("skills_registry_pdf_render_seconds_count", mode="batch") >= 2

    unprintable = [replace(VIEW, holder_name="陈\U0001f600明")]
    with pytest.raises(Exception, match=r"\U0001f600"):
        list(render_many(unprintable, workers=1))
    assert sample("skills_registry_pdf_renders_total", mode="batch", outcome="failed") == (
        failed_before + 1
    )


async def test_metrics_endpoint_is_off_the_schema_and_can_be_turned_off(
    app: Litestar, backend_settings: Settings
) -> None:
    async with AsyncTestClient(app=app) as client:
        schema = (await client.get("/schema/openapi.json")).json()
        assert "/metrics" not in schema["paths"]
        assert (await client.get("/metrics")).status_code == 200
    off = create_app(make_settings(backend_settings.database_url, metrics_enabled=False))
    async with AsyncTestClient(app=off) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_development_lines_are_readable_text(
    backend_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(backend_settings.database_url, environment="development"))
    with app_log() as buffer:
        async with AsyncTestClient(app=app) as client:
            await client.get("/health/live", headers={"X-Request-ID": "dev-1"})
    [line] = [x for x in buffer.getvalue().splitlines() if "skills_registry.access" in x]
    assert " INFO skills_registry.access [dev-1] GET /health/live 200 (" in line
    assert line.endswith(" ms)") and not line.startswith("{")
