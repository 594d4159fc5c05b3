"""The upload pipeline: one generic piece that knows spreadsheets, not domains.

It reads CSV (strict UTF-8 with the BOM stripped, else GB18030 — a superset of GBK — else a
clear error; no guessing) or XLSX (openpyxl, read-only streaming, date cells as dates),
finds the header (the first row holding at least three known column names; title and
blank rows above it are skipped), maps Chinese or English headers (spaces, full-width
characters, `*` marks and bracketed notes ignored, any column order), skips blank rows,
numbers rows as Excel shows them, collects row errors, refuses duplicate rows, enforces
MAX_UPLOAD_BYTES / MAX_UPLOAD_ROWS, stores in ONE write transaction, records the batch
(`ImportBatch`) and keeps the error sheet encrypted for download.

The batch record and its audit event are written in that same transaction, so a process
killed half-way leaves no trace (no "in progress" batch to clean up). Uploads take turns
(`database.bulk_write_transaction`, across app servers too), and an attempt that loses a
race to another writer on PostgreSQL is run again from the top of the file.

How a domain plugs in (see `trainees/enrolments.py` for a complete one)::

    from skills_registry.imports.spec import (
        STORED, UNCHANGED, Column, ImportContext, ImportKind, Outcome, Row,
    )

    class CertificateRows:                                # a RowHandler
        def check(self, row: Row) -> tuple[Value | None, list[FieldError]]:
            # No database. row.number (Excel's), row.text("key") (NFKC, stripped, "" when
            # blank), row.date("key") (2024-05-01, 2024/5/1, 2024年5月1日, date cells;
            # ValueError with a message), row.raw("key"). FieldError.field is a Column.key
            # (the pipeline turns it into the header as written) or "" for the whole row.
        def key(self, value) -> Hashable:                 # natural key: in-file duplicates
        async def store(self, rows: Sequence[tuple[int, Value]]) -> Sequence[Outcome]:
            # Chunks of ≤ 2,000 valid rows, inside the upload's single write transaction.
            # One Outcome per row, in order: STORED, UNCHANGED, Outcome.rejected(key, msg),
            # or Outcome("stored", detail={"number": ...}) to echo per-row details.
            # Use imports.bulk.insert_rows() for multi-row INSERTs (argument limits handled).
        def warnings(self) -> list[str]:                  # file-level warnings, deduplicated

    async def open_rows(ictx: ImportContext) -> CertificateRows:
        # Once per upload, inside the transaction: ictx.ctx (principal, secrets, today()),
        # ictx.provider (the provider row: id, code, kind, ...), ictx.batch_id, ictx.mode.

    # Optional, for sheets that come in 100,000 rows: the checks in a worker process.
        def worker_checker(self) -> RowChecker:           # see spec.RowChecker, imports.worker
            # A picklable object with check/key/warnings answering as the handler would,
            # with picklable values (plain tuples, strings, dates).
    # Files of IMPORT_WORKER_MIN_ROWS rows or more are then read and checked there (blank
    # rows, numbering, duplicates, the row limit included) while this process stores them.

    CERTIFICATE_IMPORT = ImportKind(
        name="certificates",                  # POST /api/v1/imports/certificates, ImportBatch.kind
        title="证书表 / certificate sheet",
        columns=(Column("name", "姓名"), Column("number", "证书编号", required=False), ...),
        open=open_rows,
        details_key="certificates",           # answer gains "certificates": [{"row", **detail}]
    )

and in `app.py`: `*import_route_handlers(settings, [ENROLMENT_IMPORT, CERTIFICATE_IMPORT])`,
which adds, per kind, `POST /imports/{name}`, `GET /imports/templates/{name}.xlsx|.csv`,
and once `GET /imports`, `GET /imports/{batch_id}`, `GET /imports/{batch_id}/errors.xlsx`.
Outside HTTP (the CLI, a page): `pipeline.run_import(kind, binary_file, file_name=...,
ctx=..., provider_code=..., mode="all"|"valid_only", limits=Limits(...), progress=cb)`.

Modes: "all" (default) stores nothing when any row is bad (the transaction is rolled
back); "valid_only" stores the good rows, and is `rejected` only when none is stored or
unchanged. Stored errors are capped at 1,000 with long numbers masked; the full error sheet
(the clerk's own rows, ID numbers included) is AES-GCM encrypted at rest.
"""
