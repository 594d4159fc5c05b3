"""Cached rendering: the same certificate state gives the same bytes, rendered once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from ..metrics import count_render
from .certificate_pdf import CertificateView, render_pdf
from .tables import RenderedPdf


async def cached_pdf(view: CertificateView, lang: str) -> bytes:
    key = view.cache_key(lang)
    row = await RenderedPdf.select(RenderedPdf.content).where(RenderedPdf.cache_key == key).first()
    if row is not None:
        return bytes(row["content"])
    # WeasyPrint is CPU-bound: keep the event loop answering while it renders.
    content = await asyncio.to_thread(_timed_render, view, lang)
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


def _timed_render(view: CertificateView, lang: str) -> bytes:
    started = time.perf_counter()
    try:
        content = render_pdf(view, lang)
    except Exception:
        count_render("single", None)
        raise
    count_render("single", time.perf_counter() - started)
    return content
