"""Sign-in pages: a session cookie (never the key), 303 to /login, CSRF on forms."""

import re

from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from tests.conftest import Keys


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def sign_in(client: AsyncTestClient, key: str, next_path: str = "/") -> None:
    form = await client.get("/login", params={"next": next_path})
    response = await client.post(
        "/login",
        data={"api_key": key, "login_csrf": _hidden(form.text, "login_csrf"), "next": next_path},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_path


async def test_pages_redirect_to_login(client: AsyncTestClient) -> None:
    response = await client.get("/keys", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/keys"


async def test_session_cookie_is_httponly_strict_and_not_the_key(
    client: AsyncTestClient, keys: Keys
) -> None:
    key = await keys.make(Role.BUREAU_ADMIN, label="王科长")
    form = await client.get("/login")
    response = await client.post(
        "/login",
        data={"api_key": key, "login_csrf": _hidden(form.text, "login_csrf"), "next": "/keys"},
        follow_redirects=False,
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("sr_session="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Secure" in cookie
    assert key not in cookie
    assert key not in response.headers.get("location", "")
    page = await client.get("/keys")
    assert page.status_code == 200
    assert "王科长" in page.text
    assert key not in page.text


async def test_wrong_key_and_missing_login_csrf(client: AsyncTestClient) -> None:
    form = await client.get("/login")
    wrong = await client.post(
        "/login",
        data={"api_key": "sr_wrong", "login_csrf": _hidden(form.text, "login_csrf"), "next": "/"},
    )
    assert wrong.status_code == 401
    assert "密钥无效" in wrong.text
    client.cookies.clear()
    forged = await client.post("/login", data={"api_key": "x", "login_csrf": "guess", "next": "/"})
    assert forged.status_code == 403


async def test_open_redirect_is_refused(client: AsyncTestClient, keys: Keys) -> None:
    key = await keys.make(Role.BUREAU_VIEWER)
    form = await client.get("/login", params={"next": "//evil.example/x"})
    assert _hidden(form.text, "next") == "/"
    response = await client.post(
        "/login",
        data={
            "api_key": key,
            "login_csrf": _hidden(form.text, "login_csrf"),
            "next": "https://evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_keys_page_issues_and_revokes_with_csrf(client: AsyncTestClient, keys: Keys) -> None:
    await sign_in(client, await keys.make(Role.BUREAU_ADMIN), "/keys")
    page = await client.get("/keys")
    csrf = _hidden(page.text, "csrf_token")
    no_csrf = await client.post("/keys", data={"label": "赵老师", "role": "bureau-viewer"})
    assert no_csrf.status_code == 403
    created = await client.post(
        "/keys",
        data={"label": "赵老师", "role": "bureau-viewer", "provider": "", "csrf_token": csrf},
    )
    assert created.status_code == 200
    new_key = re.search(r'class="secret">(sr_[^<]+)<', created.text)
    assert new_key
    assert (await client.get("/api/v1/me", headers=keys.auth(new_key.group(1)))).status_code == 200
    key_id = re.findall(r'action="/keys/(\d+)/revoke"', created.text)[-1]
    revoked = await client.post(
        f"/keys/{key_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert (await client.get("/api/v1/me", headers=keys.auth(new_key.group(1)))).status_code == 401


async def test_provider_cannot_open_keys_page(
    client: AsyncTestClient, keys: Keys, two_providers
) -> None:
    await sign_in(client, await keys.make(Role.PROVIDER, "PA"))
    assert (await client.get("/keys")).status_code == 403


async def test_logout_ends_the_session(client: AsyncTestClient, keys: Keys) -> None:
    await sign_in(client, await keys.make(Role.BUREAU_ADMIN))
    home = await client.get("/")
    csrf = _hidden(home.text, "csrf_token")
    out = await client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert (await client.get("/keys", follow_redirects=False)).status_code == 303


async def test_security_headers(client: AsyncTestClient) -> None:
    response = await client.get("/login")
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_page_errors_are_pages_for_browsers(
    client: AsyncTestClient, keys: Keys, two_providers
) -> None:
    await sign_in(client, await keys.make(Role.PROVIDER, "PA"))
    response = await client.get("/keys", headers={"accept": "text/html"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "无权" in response.text
