"""The headers every response carries, error pages and unrouted 404s included.

The CSP allows no script at all and no inline style but the `<style>` blocks written in
the templates, each allowed by its SHA-256 (computed here at start-up, so a template
edit cannot drift from the policy). Pages stay one request and self-contained, which the
phone page opened from WeChat's in-app browser relies on; `style="..."` attributes and
injected `<style>` or `<script>` are refused by the browser.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)

# A year: browsers then refuse plain HTTP to the official domain, even typed by hand.
HSTS = "max-age=31536000"


class TemplateStyleError(ValueError):
    """A `<style>` block whose text is only known once rendered cannot be hashed ahead."""


def inline_style_hashes(templates_dir: Path) -> list[str]:
    """`'sha256-…'` for every `<style>` block in the templates, in a stable order."""
    hashes: set[str] = set()
    for template in sorted(templates_dir.rglob("*.html")):
        for block in _STYLE_BLOCK.findall(template.read_text(encoding="utf-8")):
            if "{{" in block or "{%" in block:
                raise TemplateStyleError(
                    f"{template}: a <style> block may not hold template code (its hash "
                    "must be known before rendering)"
                )
            digest = hashlib.sha256(block.encode("utf-8")).digest()
            hashes.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(hashes)


def content_security_policy(style_hashes: list[str]) -> str:
    styles = " ".join(style_hashes) or "'none'"
    return (
        f"default-src 'none'; style-src {styles}; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def security_headers(
    templates_dir: Path, public_base_url: str
) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before-send hook: it sees every response the app sends, routed or not."""
    headers = {
        "content-security-policy": content_security_policy(inline_style_hashes(templates_dir)),
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
    }
    if public_base_url.startswith("https://"):
        headers["strict-transport-security"] = HSTS

    async def add_headers(message: Message, _: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        present = MutableScopeHeaders.from_message(message)
        for name, value in headers.items():
            if name not in present:
                present[name] = value

    return add_headers
