"""HTTP plumbing shared by every controller: API-key auth, role guards, problem details."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from .auth.services import authenticate
from .context import Context
from .crypto import Secrets
from .database import is_unavailable_error
from .errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolation,
    ServiceUnavailableError,
)
from .principal import Principal, Role
from .schema_base import MAX_RECORD_ID, NUL_MESSAGE

logger = logging.getLogger("skills_registry")

PROBLEM_JSON = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"  # Litestar adds `; charset=utf-8` to every text/* type itself
# What a 503 asks clients to wait: about as long as a database restart or fail-over takes.
RETRY_AFTER_S = 5


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    """`Authorization: Bearer <key>` only; the API ignores cookies."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise NotAuthorizedException(
                "需要 API 密钥：Authorization: Bearer <key> / API key required"
            )
        secrets: Secrets = connection.app.state.secrets
        principal = await authenticate(key.strip(), secrets)
        if principal is None:
            raise NotAuthorizedException("API 密钥无效或已吊销 / unknown or revoked API key")
        return AuthenticationResult(user=principal, auth=None)


def require(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    allowed = set(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            raise PermissionDeniedException(
                "该密钥的角色无权执行此操作 / this key's role may not do this"
            )

    return guard


BUREAU = (Role.BUREAU_ADMIN, Role.BUREAU_VIEWER)
ADMIN = (Role.BUREAU_ADMIN,)
ANY_ROLE = (Role.BUREAU_ADMIN, Role.BUREAU_VIEWER, Role.PROVIDER)
WRITERS = (Role.BUREAU_ADMIN, Role.PROVIDER)


CurrentPrincipal = NamedDependency[Principal]
ServiceContext = NamedDependency[Context]

# Path ids and list offsets within what the databases' integers hold: beyond, a 422 that says
# the limit rather than an overflow in the driver (409 on SQLite, 500 on PostgreSQL).
RecordIdPath = Annotated[int, PathParameter(ge=1, le=MAX_RECORD_ID)]
MAX_OFFSET = 2**63 - 1
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]


async def refuse_nul_in_url(request: Request) -> None:
    """U+0000 in a path or query parameter is a 422 on both engines (PostgreSQL cannot compare
    text with it: a 500 otherwise); bodies are checked by the schemas (`schema_base`)."""
    if "\x00" in request.scope["path"]:
        raise ValidationException(NUL_MESSAGE, extra=[{"key": "path", "message": NUL_MESSAGE}])
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            field = name if "\x00" not in name else "query"
            raise ValidationException(NUL_MESSAGE, extra=[{"key": field, "message": NUL_MESSAGE}])


def provide_principal(request: Request) -> Principal:
    return request.user  # type: ignore[no-any-return]


def provide_context(request: Request) -> Context:
    state = request.app.state
    return Context(principal=request.user, secrets=state.secrets, tz=state.settings.tz)


# --- problem details --------------------------------------------------------------------

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def wants_html(request: Request) -> bool:
    """Pages (not the API) answer errors as a page when a browser asks."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def error_page(status: int, detail: str) -> Response[Any]:
    return Template(
        "pages/error.html",
        context={"status": status, "title": _TITLES.get(status, "Error"), "detail": detail},
        status_code=status,
    )


def problem(status: int, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (PermissionDeniedError, 403),
    (ServiceUnavailableError, 503),
]


def handle_domain_error(request: Request, exc: DomainError) -> Response[Any]:
    if wants_html(request):
        status = 422 if isinstance(exc, RuleViolation) else _domain_status(exc)
        return error_page(status, exc.detail)
    if isinstance(exc, RuleViolation):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(422, exc.detail, errors=errors)
    return problem(_domain_status(exc), exc.detail)


def _domain_status(exc: DomainError) -> int:
    for kind, status in _DOMAIN_STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def _clean_message(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def handle_validation_error(_: Request, exc: ValidationException) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        key = str(item.get("key") or item.get("source") or "")
        key = key.removeprefix("data.").removeprefix("data")
        errors.append({"field": key or "body", "message": _clean_message(str(item.get("message")))})
    if not errors:
        errors = [{"field": "body", "message": str(exc.detail)}]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    return problem(422, detail, errors=errors)


def handle_http_exception(request: Request, exc: HTTPException) -> Response[Any]:
    if wants_html(request):
        response = error_page(exc.status_code, str(exc.detail))
    else:
        response = problem(exc.status_code, str(exc.detail))
    # Keep what the exception sets, e.g. a 405's `Allow` (required by RFC 9110).
    response.headers.update(exc.headers or {})
    return response


def _is_integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    return type(exc).__module__.startswith("asyncpg") and type(exc).__name__ in {
        "UniqueViolationError",
        "ForeignKeyViolationError",
        "IntegrityConstraintViolationError",
        "NotNullViolationError",
        "CheckViolationError",
    }


def _route(request: Request) -> str:
    """The route's template (`/v/{token}`): the raw path may carry a token or an ID number."""
    return str(request.scope.get("path_template") or "(unrouted)")


def handle_unexpected(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    if _is_integrity_error(exc):
        logger.info(
            "integrity error on %s %s: %s", request.method, _route(request), type(exc).__name__
        )
        return problem(
            409, "与已登记的记录冲突（重复或引用不存在）/ conflicts with a stored record"
        )
    if is_unavailable_error(exc):
        logger.warning("database unavailable on %s: %s", _route(request), type(exc).__name__)
        return problem(
            503, "数据库暂不可用，请稍后重试 / the database is unavailable, try again shortly"
        )
    logger.exception("unhandled error on %s %s", request.method, _route(request))
    return problem(500, "服务器内部错误 / internal server error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
