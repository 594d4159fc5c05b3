"""Documents the problem-details answers every operation can give, in the OpenAPI schema.

Errors are mapped once in `web.py` (auth 401, guards 403, domain errors 404/409/422,
validation 422, database down 503), so they are documented once here, from what each
handler is: behind the API-key middleware, guarded, with path parameters, writing, taking
input, or a signed-in page. A handler's own `responses=` wins for the statuses it names;
what it cannot derive (a 404 for an unknown `?period=`) a handler declares itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType as MediaTypeObject
from litestar.openapi.spec import (
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.routes import HTTPRoute
from pydantic import BaseModel, ConfigDict

from .web import PROBLEM_JSON, ApiKeyAuthMiddleware

HTML = "text/html"
# Handler `opt` key: more media types its success answer may come in (`[CSV]` besides XLSX).
ALSO_MEDIA_TYPES = "also_media_types"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBLEM_REF = "#/components/schemas/ProblemDetail"


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, as `web.problem` writes them."""

    # Some answers add members (`limit_bytes` on a 413, `errors` on a 422).
    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


_DESCRIPTIONS = {
    400: "请求格式错误 / malformed request",
    401: "缺少或无效的 API 密钥 / no, unknown or revoked API key",
    403: "该角色或机构无权执行此操作 / this role or provider may not do this",
    404: "记录不存在或不属于本机构 / no such record, or not this provider's",
    409: "与已登记的记录冲突 / conflicts with a stored record or its state",
    422: "请求内容有误（errors 列出各字段）/ invalid fields, listed in `errors`",
    429: "请求过于频繁，请稍后再试 / too many requests: try again later",
    503: "数据库暂不可用 / the database is unavailable",
}


def problem_response(status: int, description: str | None = None) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetail,
        media_type=PROBLEM_JSON,
        description=description or _DESCRIPTIONS.get(status, "problem details"),
        generate_examples=False,
    )


@dataclass
class ProblemAwareOperation(Operation):
    """Error answers come as problem details, also where a handler documents another body for
    the same status (an upload's 422 report); an error a handler documents as a page stays one."""

    def __post_init__(self) -> None:
        body = self.request_body
        # Litestar marks every body required; an optional `data` (a form a script may leave
        # out) is documented as admitting null.
        if (
            isinstance(body, RequestBody)
            and body.content
            and all(_admits_null(media.schema) for media in body.content.values())
        ):
            body.required = False
        for response in _error_responses(self):
            content = dict(response.content or {})
            if HTML not in content:
                content.setdefault(PROBLEM_JSON, MediaTypeObject(schema=Reference(ref=PROBLEM_REF)))
            response.content = content


@dataclass
class PageOperation(ProblemAwareOperation):
    """Pages answer errors as an HTML page when the browser asks for one."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for response in _error_responses(self):
            content = dict(response.content or {})
            content.setdefault(HTML, MediaTypeObject(schema=Schema(type=OpenAPIType.STRING)))
            response.content = content


def _admits_null(schema: Any) -> bool:
    alternatives = (schema.one_of or []) if isinstance(schema, Schema) else []
    return any(isinstance(a, Schema) and a.type == OpenAPIType.NULL for a in alternatives)


def _error_responses(operation: Operation) -> list[OpenAPIResponse]:
    return [
        response
        for status, response in (operation.responses or {}).items()
        if status.isdigit() and int(status) >= 400 and isinstance(response, OpenAPIResponse)
    ]


def html_response(description: str) -> ResponseSpec:
    """An error a page answers with a page whatever the client asks for."""
    return ResponseSpec(
        data_container=str, media_type=HTML, description=description, generate_examples=False
    )


def document_problem_responses(app: Litestar) -> None:
    """Fill in each handler's error responses; call once on the built app."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            statuses = _problem_statuses(handler, has_path_parameters=bool(route.path_parameters))
            declared: dict[int, ResponseSpec] = dict(handler.responses or {})
            added = {s: problem_response(s) for s in statuses if s not in declared}
            handler.responses = {**added, **declared}
            is_page = not route.path.startswith("/api/")
            if _signs_in(handler) and is_page and 303 not in handler.responses:
                handler.responses[303] = ResponseSpec(
                    data_container=None,
                    description="未登录：转到 /login / not signed in: to /login",
                )
            operation_class = PageOperation if is_page else ProblemAwareOperation
            also = handler.opt.get(ALSO_MEDIA_TYPES)
            if also:
                operation_class = _answering_also(operation_class, str(handler.status_code), also)
            handler.operation_class = operation_class


def _answering_also(
    base: type[ProblemAwareOperation], status: str, media_types: list[str]
) -> type[ProblemAwareOperation]:
    """`base`, documenting the same schema under more media types for one status."""

    def __post_init__(self: ProblemAwareOperation) -> None:
        base.__post_init__(self)
        response = (self.responses or {}).get(status)
        if isinstance(response, OpenAPIResponse) and response.content:
            documented = next(iter(response.content.values()))
            for media_type in media_types:
                response.content.setdefault(media_type, documented)

    return type(base.__name__, (base,), {"__post_init__": __post_init__})


def _problem_statuses(handler: HTTPRouteHandler, *, has_path_parameters: bool) -> set[int]:
    statuses: set[int] = set()
    parameters = handler.parsed_fn_signature.parameters
    takes_input = has_path_parameters or any(
        name not in handler.resolve_dependencies() and name not in _RESERVED for name in parameters
    )
    behind_key = ApiKeyAuthMiddleware in handler.resolve_middleware()
    if takes_input:
        # A body Litestar cannot parse is a 400; a body or parameter that fails validation a 422.
        statuses |= {400, 422}
    if behind_key:
        statuses |= {401, 503}
    if handler.resolve_guards() or _signs_in(handler):
        statuses.add(403)
    if _signs_in(handler):
        statuses.add(503)
    if has_path_parameters:
        statuses.add(404)
    if any(_is_rate_limit(m) for m in handler.resolve_middleware()):
        statuses.add(429)
    if handler.http_methods & WRITE_METHODS and (behind_key or _signs_in(handler)):
        statuses |= {409, 422}
    return statuses


def _is_rate_limit(middleware: Any) -> bool:
    factory = middleware.middleware if isinstance(middleware, DefineMiddleware) else middleware
    return isinstance(factory, type) and issubclass(factory, RateLimitMiddleware)


# Names Litestar injects itself, not input the client sends.
_RESERVED = frozenset({"request", "state", "scope", "socket", "headers", "cookies"})


def _signs_in(handler: HTTPRouteHandler) -> bool:
    """Pages that need a signed-in user depend on `user` (see pages/session.py)."""
    return "user" in handler.parsed_fn_signature.parameters
