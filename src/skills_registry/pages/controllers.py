"""Sign-in, sign-out, the home page and the bureau's key management page."""

from __future__ import annotations

import hmac
import secrets as random_tokens
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template

from ..auth import services as auth
from ..auth.schemas import ApiKeyCreate
from ..errors import DomainError
from ..openapi_problems import html_response
from ..principal import Role
from ..providers.services import list_providers
from ..web import RecordIdPath
from .session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentPageUser,
    check_csrf,
    require_page_role,
    safe_next,
    secure_cookies,
    session_cookie,
)

FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)


@get("/", include_in_schema=True, tags=["pages"], summary="Home page")
async def home(request: Request) -> Template:
    from .session import LoginRequired, page_user

    try:
        user = await page_user(request)
    except LoginRequired:
        user = None
    return Template("pages/home.html", context={"user": user})


def _login_page(
    settings: Any, next_path: str, error: str | None = None, status_code: int = 200
) -> Template:
    """The sign-in form with a fresh double-submit token (cookie + hidden field)."""
    token = random_tokens.token_urlsafe(24)
    return Template(
        "pages/login.html",
        context={"login_csrf": token, "next": next_path, "error": error},
        status_code=status_code,
        cookies=[
            Cookie(
                key=LOGIN_CSRF_COOKIE,
                value=token,
                httponly=True,
                samesite="strict",
                secure=secure_cookies(settings),
                path="/login",
                max_age=1800,
            )
        ],
    )


@get("/login", tags=["pages"], summary="Sign-in form (API key)")
async def login_form(
    request: Request, next: Annotated[str | None, QueryParameter()] = None
) -> Template:
    return _login_page(request.app.state.settings, safe_next(next))


@post(
    "/login",
    tags=["pages"],
    summary="Sign in: starts a server-side session",
    status_code=303,
    responses={
        401: html_response("密钥无效或已吊销 / unknown or revoked key: the form again"),
        403: html_response("表单已过期 / the form expired (CSRF): the form again"),
    },
)
async def login(request: Request, data: Annotated[dict[str, str], FormBody]) -> Response[Any]:
    settings = request.app.state.settings
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    submitted = data.get("login_csrf", "")
    next_path = safe_next(data.get("next"))
    if not cookie_token or not hmac.compare_digest(cookie_token, submitted):
        return _login_page(
            settings, next_path, "表单已过期，请重新登录 / the form expired: sign in again", 403
        )
    started = await auth.start_session(data.get("api_key", "").strip(), request.app.state.secrets)
    if started is None:
        return _login_page(settings, next_path, "密钥无效或已吊销 / unknown or revoked key", 401)
    token, _, _ = started
    return Redirect(
        next_path,
        status_code=303,
        cookies=[
            session_cookie(token, settings),
            Cookie(key=LOGIN_CSRF_COOKIE, value="", path="/login", max_age=0),
        ],
    )


@post("/logout", tags=["pages"], summary="Sign out", status_code=303)
async def logout(
    request: Request,
    user: CurrentPageUser,
    # Optional: a script signed in by header has no form to send.
    data: Annotated[dict[str, str] | None, FormBody] = None,
) -> Redirect:
    check_csrf(user, (data or {}).get("csrf_token"))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth.end_session(token, request.app.state.secrets)
    return Redirect(
        "/login",
        status_code=303,
        cookies=[Cookie(key=SESSION_COOKIE, value="", path="/", max_age=0)],
    )


@get("/keys", tags=["pages"], summary="API keys page (bureau-admin)")
async def keys_page(user: CurrentPageUser) -> Template:
    require_page_role(user, Role.BUREAU_ADMIN)
    return Template(
        "pages/keys.html",
        context={
            "user": user,
            "keys": await auth.list_keys(),
            "providers": await list_providers(user.principal),
            "created": None,
            "error": None,
        },
    )


@post("/keys", tags=["pages"], summary="Issue a key from the page", status_code=200)
async def keys_create(
    request: Request, user: CurrentPageUser, data: Annotated[dict[str, str], FormBody]
) -> Template:
    require_page_role(user, Role.BUREAU_ADMIN)
    check_csrf(user, data.get("csrf_token"))
    created, error = None, None
    try:
        created = await auth.create_key(
            ApiKeyCreate(
                role=Role(data.get("role", "")),
                provider=data.get("provider") or None,
                label=data.get("label", "").strip() or "",
            ),
            request.app.state.secrets,
            user.principal,
        )
    except (DomainError, ValueError) as exc:
        error = (
            getattr(exc, "detail", None)
            or "请填写持有人姓名并选择角色 / name the holder and pick a role"
        )
    return Template(
        "pages/keys.html",
        context={
            "user": user,
            "keys": await auth.list_keys(),
            "providers": await list_providers(user.principal),
            "created": created,
            "error": error,
        },
        status_code=200 if error is None else 422,
    )


@post(
    "/keys/{key_id:int}/revoke",
    tags=["pages"],
    summary="Revoke a key from the page",
    status_code=303,
)
async def keys_revoke(
    key_id: RecordIdPath, user: CurrentPageUser, data: Annotated[dict[str, str], FormBody]
) -> Redirect:
    require_page_role(user, Role.BUREAU_ADMIN)
    check_csrf(user, data.get("csrf_token"))
    await auth.revoke_key(key_id, user.principal)
    return Redirect("/keys", status_code=303)


PAGE_HANDLERS = [home, login_form, login, logout, keys_page, keys_create, keys_revoke]
