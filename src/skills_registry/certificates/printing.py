"""From a certificate to the document printed for it (PDF, alone or many in a ZIP)."""

from __future__ import annotations

import asyncio
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from ..documents.cache import cached_pdf
from ..documents.certificate_pdf import CertificateView, UnrenderableText
from ..documents.environment import RenderingUnavailable
from ..documents.pool import render_many
from ..errors import RuleViolation, ServiceUnavailableError
from ..principal import Principal
from . import services
from .schemas import CertificateOut
from .services import CertificateFilter, Signing

LANGUAGES = ("zh", "zh-en")
MAX_ZIP_CERTIFICATES = 2000


def view_of(certificate: CertificateOut) -> CertificateView:
    return CertificateView(
        number=certificate.number,
        kind=certificate.kind,
        holder_name=certificate.holder.name,
        id_type_name=certificate.holder.id_type_name,
        id_number_masked=certificate.holder.id_number_masked,
        occupation_code=certificate.occupation_code,
        occupation_name=certificate.occupation_name,
        trade=certificate.trade,
        level=certificate.level,
        level_name=certificate.level_name,
        issuer_name=certificate.issuer_name,
        issued_on=certificate.issued_on,
        verify_url=certificate.verify_url,
        status=certificate.status,
        revoked_on=certificate.revoked_on,
    )


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise RuleViolation.single("lang", "lang 应为 zh 或 zh-en / lang must be zh or zh-en")


async def certificate_pdf(
    number: str, viewer: Principal, signing: Signing, lang: str = "zh"
) -> tuple[str, bytes]:
    """(file name, PDF) for a certificate the viewer may see."""
    _check_lang(lang)
    certificate = await services.get_certificate(number, viewer, signing)
    try:
        content = await cached_pdf(view_of(certificate), lang)
    except UnrenderableText as exc:
        raise RuleViolation.single("holder_name", str(exc)) from None
    except RenderingUnavailable as exc:
        raise ServiceUnavailableError(f"证书暂时无法生成 / rendering unavailable: {exc}") from None
    return f"{certificate.number}.pdf", content


async def certificates_for_zip(
    viewer: Principal, filters: CertificateFilter, signing: Signing
) -> list[CertificateOut]:
    page = await services.list_certificates(
        viewer, filters, signing, limit=MAX_ZIP_CERTIFICATES + 1, offset=0
    )
    if page.total > MAX_ZIP_CERTIFICATES:
        raise RuleViolation.single(
            "filter",
            f"一次最多下载 {MAX_ZIP_CERTIFICATES} 本证书（本次 {page.total} 本），请缩小范围"
            f" / at most {MAX_ZIP_CERTIFICATES} certificates per download",
        )
    return page.items


def write_zip(
    certificates: Iterable[CertificateOut],
    target: IO[bytes],
    *,
    lang: str = "zh",
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> int:
    """Render in recycled worker processes and write each PDF into the ZIP as it finishes."""
    _check_lang(lang)
    views = [view_of(c) for c in certificates]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for number, content in render_many(views, lang=lang, workers=workers, on_done=on_done):
            archive.writestr(f"{number}.pdf", content)
    return len(views)


async def zip_file(certificates: list[CertificateOut], lang: str) -> IO[bytes]:
    """A temporary file holding the ZIP (PDFs are already compressed: stored, not deflated)."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    await asyncio.to_thread(write_zip, certificates, target, lang=lang)
    target.seek(0)
    return target


def read_chunks(archive: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """Stream a temporary file to the client, closing (and so deleting) it at the end."""
    with archive:
        while block := archive.read(size):
            yield block
