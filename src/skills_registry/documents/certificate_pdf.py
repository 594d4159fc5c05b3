"""Render one certificate to PDF bytes with WeasyPrint (A4, Noto Serif CJK SC, QR image).

The same view renders to the same bytes: the PDF carries no creation time and a fixed
identifier, so a cache keyed by the view's content is exact.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from .environment import check_environment, missing_glyphs
from .fonts import QR_URL, CertificateResources

TEMPLATE_VERSION = "certificate-v3"
TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "templates"

KIND_ENGLISH = {
    "职业技能等级证书": "Vocational Skill Level Certificate",
    "职业资格证书": "Vocational Qualification Certificate",
    "专项职业能力证书": "Specific Vocational Competency Certificate",
}
LEVEL_ENGLISH = {
    5: "Level 5 / Elementary Worker",
    4: "Level 4 / Intermediate Worker",
    3: "Level 3 / Senior Worker",
    2: "Level 2 / Technician",
    1: "Level 1 / Senior Technician",
    0: "Principal Technician",
    -1: "Chief Technician",
}
QR_MASK = 2
NATIONAL_LOOKUP = "技能人才评价证书全国联网查询 zscx.osta.org.cn"


class UnrenderableText(ValueError):
    """Some field holds characters the certificate font cannot draw."""

    def __init__(self, characters: list[str]) -> None:
        self.characters = characters
        super().__init__(
            f"证书字体无法显示这些字符：{''.join(characters)}，请联系人社局处理"
            " / the certificate font cannot draw these characters"
        )


@dataclass(frozen=True)
class CertificateView:
    """Everything printed on a certificate, and nothing else."""

    number: str
    kind: str
    holder_name: str
    id_type_name: str
    id_number_masked: str
    occupation_code: str
    occupation_name: str
    trade: str | None
    level: int | None
    level_name: str
    issuer_name: str
    issued_on: date
    verify_url: str
    status: str = "valid"
    revoked_on: date | None = None

    def cache_key(self, lang: str) -> str:
        payload = json.dumps(
            {"v": TEMPLATE_VERSION, "lang": lang, **asdict(self)}, default=str, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@cache
def _jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
    )


def qr_png(url: str) -> bytes:
    """The QR matrix from the qrcode library (error correction M, 4-module quiet zone) as a
    PNG of one pixel per module; the template prints it 45 mm wide with
    `image-rendering: pixelated`, which WeasyPrint writes as an image PDF viewers must not
    smooth. An SVG path of the same code costs WeasyPrint ~40 % of a render to parse.

    The mask is fixed because choosing the best of eight costs ~30 ms a code in pure
    Python; every mask is valid and the tests decode the result from the rasterised PDF.
    """
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, mask_pattern=QR_MASK
    )
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    out = io.BytesIO()
    Image.frombytes("L", (size, size), pixels).save(out, format="PNG")
    return out.getvalue()


def render_html(view: CertificateView, lang: str = "zh") -> str:
    host = urlsplit(view.verify_url).netloc
    return (
        _jinja()
        .get_template("certificate.html")
        .render(
            v=view,
            lang=lang,
            qr_url=QR_URL,
            verify_host=host,
            kind_en=KIND_ENGLISH.get(view.kind, ""),
            level_en=LEVEL_ENGLISH.get(view.level, "") if view.level is not None else "",
            national_lookup=NATIONAL_LOOKUP,
        )
    )


def render_pdf(view: CertificateView, lang: str = "zh") -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    check_environment()
    missing = missing_glyphs(
        view.holder_name, view.occupation_name, view.trade or "", view.issuer_name, view.kind
    )
    if missing:
        raise UnrenderableText(missing)
    page = render_html(view, lang)
    resources = CertificateResources(html.unescape(page), qr_png(view.verify_url))
    try:
        document = HTML(string=page, base_url=str(TEMPLATES_DIR), url_fetcher=resources).render()
    except FatalURLFetchingError as exc:
        # A BaseException in WeasyPrint: it would pass every `except Exception`, kill a pool
        # worker and leave its batch waiting forever. Only a template edit can cause it.
        raise RuntimeError(f"the certificate template asks for a resource: {exc}") from None
    document.metadata.title = f"{view.kind} {view.number}"
    document.metadata.authors = [view.issuer_name]
    document.metadata.created = None
    document.metadata.modified = None
    identifier = hashlib.md5(view.cache_key(lang).encode(), usedforsecurity=False).hexdigest()
    return bytes(document.write_pdf(pdf_identifier=identifier.encode(), uncompressed_pdf=False))
