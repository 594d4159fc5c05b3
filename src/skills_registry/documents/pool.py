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
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from .certificate_pdf import CertificateView, render_pdf

DEFAULT_RENDERS_PER_WORKER = 100


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _render(view: CertificateView, lang: str) -> tuple[str, bytes]:
    return view.number, render_pdf(view, lang)


def render_many(
    views: Iterable[CertificateView],
    *,
    lang: str = "zh",
    workers: int | None = None,
    renders_per_worker: int = DEFAULT_RENDERS_PER_WORKER,
    on_done: Callable[[int], None] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield (number, pdf) as they finish; at most 2 × workers renders are in flight."""
    count = workers or default_workers()
    context = multiprocessing.get_context("spawn")
    done_count = 0

    def collect(finished: set[Future[tuple[str, bytes]]]) -> Iterator[tuple[str, bytes]]:
        nonlocal done_count
        for future in finished:
            done_count += 1
            if on_done:
                on_done(done_count)
            yield future.result()

    with ProcessPoolExecutor(
        max_workers=count, mp_context=context, max_tasks_per_child=renders_per_worker
    ) as executor:
        pending: set[Future[tuple[str, bytes]]] = set()
        for view in views:
            pending.add(executor.submit(_render, view, lang))
            if len(pending) >= 2 * count:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from collect(finished)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from collect(finished)
