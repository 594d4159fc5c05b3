"""Render many certificates in worker processes that are recycled.

WeasyPrint's memory grows with every render in one process (~0.25 MB a render, 363 MB
after 1,000 with the fonts cut per document; it was ~800 MB after 400 before), so each
worker renders at most `renders_per_worker` documents and is then replaced; the parent
only receives bytes. `spawn` keeps workers free of the parent's state (database
connections, event loop).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator

from ..metrics import count_render
from .certificate_pdf import CertificateView, render_pdf

# A new worker costs ~1 s (imports, fonts): every 250 renders keeps RSS under ~190 MB.
DEFAULT_RENDERS_PER_WORKER = 250


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _render(job: tuple[CertificateView, str]) -> tuple[str, bytes, float]:
    """In a worker: the PDF and how long it took (the parent counts it: a worker's own
    metrics would die with the worker)."""
    view, lang = job
    started = time.perf_counter()
    content = render_pdf(view, lang)
    return view.number, content, time.perf_counter() - started


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
        results = pool.imap_unordered(_render, jobs)
        done = 0
        while True:
            try:
                number, content, seconds = next(results)
            except StopIteration:
                return
            except Exception:
                count_render("batch", None)
                raise
            count_render("batch", seconds)
            done += 1
            if on_done:
                on_done(done)
            yield number, content
