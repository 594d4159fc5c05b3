"""Browser sessions: an HttpOnly, SameSite=Strict cookie holding a random token (never the key).

Pages that need a signed-in user depend on `page_user`; without a live session it raises
`LoginRequired`, which the app answers with a 303 to /login. Scripts may send the
`Authorization` header instead of a cookie. Forms carry the session's CSRF token.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect

from ..auth.services import SESSION_LIFETIME, authenticate, session_principal
from ..crypto import Secrets
from ..principal import Principal, Role
from ..settings import Settings

SESSION_COOKIE = "sr_session"
LOGIN_CSRF_COOKIE = "sr_login_csrf"


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class PageUser:
    principal: Principal
    csrf_token: str

    @property
    def role(self) -> Role:
        return self.principal.role


def secure_cookies(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def session_cookie(token: str, settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
        path="/",
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )


async def page_user(request: Request) -> PageUser:
    secrets: Secrets = request.app.state.secrets
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        principal = await authenticate(key.strip(), secrets)
        if principal is not None:
            return PageUser(principal, csrf_token="")
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        found = await session_principal(token, secrets)
        if found is not None:
            return PageUser(*found)
    raise LoginRequired(request.url.path)


CurrentPageUser = NamedDependency[PageUser]


def require_page_role(user: PageUser, *roles: Role) -> None:
    if user.role not in roles:
        raise PermissionDeniedException(
            "该密钥的角色无权打开此页面 / this key's role may not open this page"
        )


def check_csrf(user: PageUser, submitted: str | None) -> None:
    """Header-authenticated scripts have no session and no CSRF token to present."""
    if not user.csrf_token:
        return
    if not submitted or not hmac.compare_digest(submitted, user.csrf_token):
        raise PermissionDeniedException(
            "表单已过期，请刷新页面后重试 / the form expired: reload and retry"
        )


def redirect_to_login(_: Request, exc: LoginRequired) -> Response:
    target = exc.next_path if exc.next_path.startswith("/") else "/"
    return Redirect(f"/login?next={quote(target)}", status_code=303)


def safe_next(value: str | None) -> str:
    """Only same-site paths: `//evil.example` and absolute URLs go home instead."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
