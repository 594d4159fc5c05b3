"""HTTP for uploads: one upload route and two templates per sheet kind, and the batch list.

No `from __future__ import annotations` here: the upload handler's answer schema is made
per kind at run time, and Litestar reads the annotations of the nested function.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, MultipartBody, QueryParameter

from ..openapi_problems import problem_response
from ..settings import Settings
from ..web import (
    ANY_ROLE,
    CSV,
    WRITERS,
    XLSX,
    CurrentPrincipal,
    Offset,
    ServiceContext,
    problem,
    require,
)
from . import services
from .pipeline import Limits, UploadTooLarge, run_import, too_many_bytes_message
from .schemas import ImportBatchOut, result_model
from .sheets import error_workbook, template_csv, template_xlsx
from .spec import ImportKind

logger = logging.getLogger("skills_registry.imports")

# Room for the multipart envelope around a file of exactly MAX_UPLOAD_BYTES.
MULTIPART_SLACK = 64 * 1024


@dataclass
class UploadForm:
    """multipart/form-data: `file` (CSV or XLSX) and, for bureau keys, `provider` (its code)."""

    file: UploadFile
    provider: str | None = None


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def import_route_handlers(settings: Settings, kinds: Sequence[ImportKind]) -> list[Any]:
    """Everything under /imports for these sheet kinds (mount in the /api/v1 router)."""
    handlers: list[Any] = [ImportBatchController]
    for kind in kinds:
        handlers.extend(_kind_handlers(settings, kind))
    return handlers


def _kind_handlers(settings: Settings, kind: ImportKind) -> list[HTTPRouteHandler]:
    limits = Limits.from_settings(settings)
    answer = result_model(kind.name, kind.details_key)
    too_large = too_many_bytes_message(limits.max_bytes)

    def body_too_large(_: Request, __: RequestEntityTooLarge) -> Response[dict[str, Any]]:
        return problem(413, too_large, limit_bytes=limits.max_bytes)

    async def upload(
        data: MultipartBody[UploadForm],
        ctx: ServiceContext,
        mode: Annotated[
            Literal["all", "valid_only"],
            QueryParameter(
                description="all (default): one bad row and nothing is stored; "
                "valid_only: store the valid rows, report the rest"
            ),
        ] = "all",
    ) -> Response[Any]:
        upload_file = data.file
        try:
            result = await run_import(
                kind,
                upload_file.file,
                file_name=upload_file.filename or "",
                ctx=ctx,
                provider_code=data.provider,
                mode=mode,
                limits=limits,
            )
        except UploadTooLarge as exc:
            return problem(
                413, exc.detail, limit_bytes=limits.max_bytes, limit_rows=limits.max_rows
            )
        finally:
            await upload_file.close()
        return Response(result.as_json(), status_code=200 if result.status == "stored" else 422)

    upload.__annotations__["return"] = Response[answer]  # type: ignore[valid-type]
    upload.__name__ = upload.__qualname__ = f"upload_{kind.name}"

    upload_handler = post(
        f"/imports/{kind.name}",
        guards=[require(*WRITERS)],
        status_code=200,
        request_max_body_size=limits.max_bytes + MULTIPART_SLACK,
        exception_handlers={RequestEntityTooLarge: body_too_large},
        tags=["imports"],
        operation_id=f"upload_{kind.name}",
        summary=f"Upload {kind.title} (CSV or XLSX)",
        description=(
            "multipart/form-data with field `file` (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030, "
            "or XLSX) and, for bureau keys, `provider` (the provider code). 200 when stored, "
            "422 when rejected (same body), 413 beyond MAX_UPLOAD_BYTES / MAX_UPLOAD_ROWS. "
            f"Columns: {', '.join(f'{c.title} {c.key}' + ('' if c.required else ' (optional)') for c in kind.columns)}."
        ),
        responses={
            422: ResponseSpec(data_container=answer, description="rejected: nothing stored"),
            413: problem_response(413, "beyond the upload limits"),
        },
    )(upload)

    async def xlsx_template() -> Response[bytes]:
        return Response(
            template_xlsx(kind), media_type=XLSX, headers=_attachment(f"{kind.name}.xlsx")
        )

    async def csv_template() -> Response[bytes]:
        return Response(template_csv(kind), media_type=CSV, headers=_attachment(f"{kind.name}.csv"))

    xlsx_template.__name__ = xlsx_template.__qualname__ = f"{kind.name}_template_xlsx"
    csv_template.__name__ = csv_template.__qualname__ = f"{kind.name}_template_csv"
    return [
        upload_handler,
        get(
            f"/imports/templates/{kind.name}.xlsx",
            guards=[require(*ANY_ROLE)],
            tags=["imports"],
            operation_id=f"{kind.name}_template_xlsx",
            summary=f"Blank {kind.title} template (.xlsx, ID columns formatted as text)",
            media_type=XLSX,
        )(xlsx_template),
        get(
            f"/imports/templates/{kind.name}.csv",
            guards=[require(*ANY_ROLE)],
            tags=["imports"],
            operation_id=f"{kind.name}_template_csv",
            summary=f"Blank {kind.title} template (.csv, UTF-8 with BOM)",
            media_type=CSV,
        )(csv_template),
    ]


class ImportBatchController(Controller):
    path = "/imports"
    tags = ["imports"]

    @get("/", guards=[require(*ANY_ROLE)], summary="Recorded uploads, newest first (scoped)")
    async def list_batches(
        self,
        principal: CurrentPrincipal,
        kind: Annotated[str | None, QueryParameter(description="e.g. enrolments")] = None,
        provider: Annotated[str | None, QueryParameter(description="provider code")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[ImportBatchOut]:
        return await services.list_batches(
            principal, kind=kind, provider=provider, limit=limit, offset=offset
        )

    @get("/{batch_id:uuid}", guards=[require(*ANY_ROLE)], summary="One recorded upload")
    async def get_batch(
        self, batch_id: FromPath[UUID], principal: CurrentPrincipal
    ) -> ImportBatchOut:
        return await services.get_batch(batch_id, principal)

    @get(
        "/{batch_id:uuid}/errors.xlsx",
        guards=[require(*ANY_ROLE)],
        summary="The batch's rows to fix, with an error column (the batch's provider and the bureau)",
        media_type=XLSX,
    )
    async def errors_xlsx(self, batch_id: FromPath[UUID], ctx: ServiceContext) -> Response[bytes]:
        kind, plain = await services.error_sheet(batch_id, ctx.principal, ctx.secrets)
        return Response(
            error_workbook(plain, kind),
            media_type=XLSX,
            headers={
                **_attachment(f"{kind}-errors-{str(batch_id)[:8]}.xlsx"),
                "Cache-Control": "no-store",
            },
        )
