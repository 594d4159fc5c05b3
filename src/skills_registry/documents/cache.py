"""Cached rendering: the same certificate state gives the same bytes, rendered once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from .certificate_pdf import CertificateView, render_pdf
from .tables import RenderedPdf


async def cached_pdf(view: CertificateView, lang: str) -> bytes:
    key = view.cache_key(lang)
    row = await RenderedPdf.select(RenderedPdf.content).where(RenderedPdf.cache_key == key).first()
    if row is not None:
        return bytes(row["content"])
    # WeasyPrint is CPU-bound: keep the event loop answering while it renders.
    content = await asyncio.to_thread(render_pdf, view, lang)
    await RenderedPdf.delete().where(
        (RenderedPdf.number == view.number) & (RenderedPdf.lang == lang)
    )
    await RenderedPdf.raw(
        "INSERT INTO rendered_pdf (cache_key, number, lang, content, created_at) "
        "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (cache_key) DO NOTHING",
        key,
        view.number,
        lang,
        content,
        datetime.now(UTC),
    )
    return content
