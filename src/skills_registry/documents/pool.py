"""Render many certificates in worker processes that are recycled.

WeasyPrint's memory grows with every render in one process (~800 MB after 400), so each
worker renders at most `renders_per_worker` documents and is then replaced; the parent
only receives bytes. `spawn` keeps workers free of the parent's state (database
connections, event loop).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator

from .certificate_pdf import CertificateView, render_pdf

DEFAULT_RENDERS_PER_WORKER = 100


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _render(job: tuple[CertificateView, str]) -> tuple[str, bytes]:
    view, lang = job
    return view.number, render_pdf(view, lang)


def render_many(
    views: Iterable[CertificateView],
    *,
    lang: str = "zh",
    workers: int | None = None,
    renders_per_worker: int = DEFAULT_RENDERS_PER_WORKER,
    on_done: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield (number, pdf) as they finish.

    multiprocessing.Pool's `maxtasksperchild` replaces a worker after that many renders
    (concurrent.futures' `max_tasks_per_child` deadlocked here on Python 3.11).
    """
    count = workers or default_workers()
    context = multiprocessing.get_context("spawn")
    jobs = ((view, lang) for view in views)
    with context.Pool(count, maxtasksperchild=renders_per_worker) as pool:
        for done, result in enumerate(pool.imap_unordered(_render, jobs), start=1):
            if on_done:
                on_done(done)
            yield result
