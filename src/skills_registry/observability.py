"""Logs (one JSON object per line in production, readable lines in development), request
ids, and the request metrics.

Every HTTP request gets an id (a sane incoming `X-Request-ID`, else a new one), echoed in
the `X-Request-ID` response header and attached to every log line written while the
request is handled (a context variable, read by a logging filter). One access line per
request names the route's template (`/v/{token}`), never the raw path or the query string:
tokens, ID numbers and keys travel in those. A path no route matches (404, 405) keeps only
the segments that are words of our own routes; any other segment is replaced.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, cast

from litestar import Litestar
from litestar._asgi.utils import wrap_in_exception_handler
from litestar.logging.config import LoggingConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from .settings import Settings

REQUEST_ID_HEADER = "x-request-id"
ACCESS_LOGGER = "skills_registry.access"
HTTP_METRICS_PREFIX = "skills_registry_http"
METRICS_PATH = "/metrics"

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Fields a log call may pass with `extra=` that belong in the JSON object.
_REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms")
REDACTED = "{redacted}"


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's id when it is a short token of letters, digits and hyphens, else a new one
    (anything else could forge log lines or smuggle data into them)."""
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            incoming = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(incoming):
                return incoming
            break
    return uuid.uuid4().hex


def route_path(scope: Scope, known_segments: frozenset[str]) -> str:
    """The route's template when a route matched; else the path with every segment that is not
    a word of our own routes replaced (it could be a token, an ID number, a name, a key)."""
    template = scope.get("path_template")
    if template:
        return str(template)
    return "/".join(
        part if not part or part in known_segments else REDACTED
        for part in scope["path"].split("/")
    )


def route_words(app: Litestar) -> frozenset[str]:
    """The fixed segments of every route's path (`api`, `v1`, `certificates`, `match`…)."""
    return frozenset(
        part for route in app.routes for part in route.path_format.split("/") if "{" not in part
    )


class RequestContextFilter(logging.Filter):
    """Stamps the current request's id on every record (in the thread that logs it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, and request fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # json.dumps escapes newlines, so a message can never split into two lines.
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Development: `12:00:01 INFO skills_registry.access [3f2a…] GET /v/{token} 200 (4.1 ms)`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_tag = f" [{request_id}]" if request_id else ""
        return super().format(record)


def logging_config(settings: Settings) -> LoggingConfig:
    """Litestar's logging config (dictConfig underneath): one stderr handler on the root."""
    formatter = "json" if settings.environment == "production" else "text"
    return LoggingConfig(
        logging_module="logging",
        formatters={"json": {"()": JsonFormatter}, "text": {"()": TextFormatter}},
        filters={"request_context": {"()": RequestContextFilter}},
        handlers={
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": formatter,
                "filters": ["request_context"],
            },
            # Litestar adds its queue-backed handler (one thread per app) unless a handler of
            # this name exists; lines are written directly, so none is needed.
            "queue_listener": {"class": "logging.NullHandler"},
        },
        loggers={
            "litestar": {"level": settings.log_level, "handlers": [], "propagate": True},
            # uvicorn's own lines in the same format; its access log (raw URLs, query strings
            # included) stays off: ours replaces it.
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            # At DEBUG aiosqlite logs every statement with its parameters (names, tokens).
            "aiosqlite": {"level": "INFO"},
        },
        root={"handlers": ["console"], "level": settings.log_level},
        # Our exception handlers log unexpected errors themselves (with the route template).
        log_exceptions="never",
    )


class RequestLogMiddleware:
    """Outermost ASGI layer: request id in, `X-Request-ID` out, one access line per request.

    It wraps the app's whole handler (routing included), so 404s and 405s are logged too and
    the status is the one sent after every exception handler ran.
    """

    def __init__(self, app: ASGIApp, known_segments: frozenset[str]) -> None:
        self.app = app
        self.known_segments = known_segments
        self.logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = cast("HTTPScope", scope)["method"]
        request_id = request_id_from(scope["headers"])
        reset = current_request_id.set(request_id)
        status = 500  # when the app fails before answering, uvicorn sends a 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.logger.isEnabledFor(logging.INFO):
                self._log(method, route_path(scope, self.known_segments), status, started)
            current_request_id.reset(reset)

    def _log(self, method: str, path: str, status: int, started: float) -> None:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        self.logger.info(
            "%s %s %s (%.1f ms)",
            method,
            path,
            status,
            duration_ms,
            extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
        )


def install_request_logging(app: Litestar) -> None:
    """Put RequestLogMiddleware around the app's handler, outside routing (as Litestar's own
    OpenTelemetry plugin does), so it sees every request and its final status."""
    app.asgi_handler = RequestLogMiddleware(app.asgi_handler, route_words(app))


# --- request metrics (Litestar's Prometheus plugin) ----------------------------------


class StatusAwarePrometheusMiddleware(PrometheusMiddleware):
    """Litestar's middleware, with exceptions raised by the middleware inside it (the API-key
    check's 401, the rate limit's 429) made into responses inside it, as Litestar does around
    each handler. Otherwise they pass through it as exceptions and it counts them as 200."""

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(wrap_in_exception_handler(app), config)


def prometheus_config() -> PrometheusConfig:
    """Request count, duration and in-flight gauges labelled by route template.

    `group_path` labels requests with the route's template (`/v/{token}`), never the raw
    path, so a token or a number never becomes a label value; unrouted paths (404) never
    reach route middleware, so they add no series either. Scrapes are not counted.
    """
    return PrometheusConfig(
        app_name="skills_registry",
        prefix=HTTP_METRICS_PREFIX,
        group_path=True,
        exclude=[f"^{METRICS_PATH}$"],
        middleware_class=StatusAwarePrometheusMiddleware,
    )


class MetricsController(PrometheusController):
    """`GET /metrics` in Prometheus' text format; not part of the public API's schema."""

    path = METRICS_PATH
    include_in_schema = False
