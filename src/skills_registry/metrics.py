"""Domain metrics for Prometheus (the HTTP ones come from Litestar's plugin: observability.py).

Each domain metric is incremented at the one place its event happens: uploads in
`imports.pipeline.run_import`, PDF renders in `documents.cache` (one certificate) and
`documents.pool` (batches, counted in the parent as each result arrives), verifications in
`verification.services.verify_token`. Labels are small closed sets (never a token, a
number or a path), so a scrape stays small whatever the traffic.

This module imports nothing from the project, nor Litestar (PDF worker processes import it):
every layer may use it.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter, Histogram

IMPORTS = Counter(
    "skills_registry_imports",
    "Uploaded sheets, by kind and outcome (stored | rejected | too_large)",
    ["kind", "outcome"],
)
IMPORT_ROWS = Counter(
    "skills_registry_import_rows",
    "Rows of uploaded sheets, by kind and what became of them (stored | unchanged | rejected)",
    ["kind", "outcome"],
)
PDF_RENDERS = Counter(
    "skills_registry_pdf_renders",
    "Certificate PDFs rendered, by mode (single | batch) and outcome (ok | failed)",
    ["mode", "outcome"],
)
PDF_RENDER_SECONDS = Histogram(
    "skills_registry_pdf_render_seconds",
    "Time to render one certificate PDF, by mode (single | batch)",
    ["mode"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0),
)
VERIFICATIONS = Counter(
    "skills_registry_verifications",
    "Certificate verifications, by result and channel (api | page | match)",
    ["result", "channel"],
)

RenderMode = Literal["single", "batch"]


def count_import(kind: str, outcome: str, *, stored: int, unchanged: int, rejected: int) -> None:
    IMPORTS.labels(kind, outcome).inc()
    for row_outcome, rows in (("stored", stored), ("unchanged", unchanged), ("rejected", rejected)):
        if rows:
            IMPORT_ROWS.labels(kind, row_outcome).inc(rows)


def count_render(mode: RenderMode, seconds: float | None) -> None:
    """A finished render (seconds measured where it ran) or, with None, a failed one."""
    if seconds is None:
        PDF_RENDERS.labels(mode, "failed").inc()
        return
    PDF_RENDERS.labels(mode, "ok").inc()
    PDF_RENDER_SECONDS.labels(mode).observe(seconds)


def count_verification(result: str, channel: str) -> None:
    VERIFICATIONS.labels(result, channel).inc()
