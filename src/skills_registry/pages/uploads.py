"""The clerk's upload page: choose a sheet, upload, read the result, fix the rows in Excel.

Works without JavaScript. The result shows the counts and the first errors; the full
error sheet (the clerk's rows plus an error column) and, for a results sheet, the batch's
certificate PDFs download from here with the session cookie.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, FromPath
from litestar.response import Stream, Template

from ..certificates import printing
from ..certificates import services as certificates
from ..context import Context
from ..errors import DomainError, RuleViolation, ServiceUnavailableError
from ..imports import services as imports
from ..imports.pipeline import (
    Limits,
    UploadTooLarge,
    human_size,
    run_import,
    too_many_bytes_message,
)
from ..imports.sheets import error_workbook, template_csv, template_xlsx
from ..imports.spec import ImportKind
from ..openapi_problems import ALSO_MEDIA_TYPES, html_response
from ..principal import Role
from ..providers.services import list_providers
from ..settings import Settings
from ..web import CSV, XLSX, error_page
from .session import CurrentPageUser, PageUser, check_csrf, require_page_role

SHOWN_ERRORS = 200
UPLOADERS = (Role.BUREAU_ADMIN, Role.PROVIDER)
ANYONE = (Role.BUREAU_ADMIN, Role.BUREAU_VIEWER, Role.PROVIDER)


@dataclass
class UploadPageForm:
    file: UploadFile
    kind: str = ""
    csrf_token: str = ""
    mode: str = "all"
    provider: str | None = None


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


def upload_pages(settings: Settings, kinds: Sequence[ImportKind]) -> list[Any]:
    by_name = {kind.name: kind for kind in kinds}
    limits = Limits.from_settings(settings)

    def kind_of(name: str) -> ImportKind:
        if name not in by_name:
            raise NotFoundException("没有这种表格 / unknown sheet")
        return by_name[name]

    def chosen_kind(name: str) -> ImportKind:
        """The form's `kind`: a bad value is a field error, not a missing page."""
        if name not in by_name:
            raise RuleViolation.single(
                "kind",
                f"没有这种表格，可选：{'、'.join(by_name)} / unknown sheet: {', '.join(by_name)}",
            )
        return by_name[name]

    async def page_context(user: PageUser, **extra: Any) -> dict[str, Any]:
        providers = await list_providers(user.principal) if user.role is Role.BUREAU_ADMIN else []
        return {
            "user": user,
            "kinds": kinds,
            "providers": providers,
            "batches": await imports.list_batches(user.principal, limit=20),
            "can_upload": user.role in UPLOADERS,
            "max_size": human_size(limits.max_bytes),
            "max_rows": limits.max_rows,
            "result": None,
            "error": None,
            **extra,
        }

    @get("/uploads", tags=["pages"], summary="Upload page for clerks")
    async def uploads_page(user: CurrentPageUser) -> Template:
        require_page_role(user, *ANYONE)
        return Template("pages/uploads.html", context=await page_context(user))

    too_large = too_many_bytes_message(limits.max_bytes)

    def body_too_large(_: Request, __: RequestEntityTooLarge) -> Response[Any]:
        # Refused before the form is read: say the limit, as the API does.
        return error_page(413, too_large)

    @post(
        "/uploads",
        tags=["pages"],
        summary="Upload a sheet from the page",
        status_code=200,
        request_max_body_size=limits.max_bytes + 64 * 1024,
        exception_handlers={RequestEntityTooLarge: body_too_large},
        responses={413: html_response("文件超出上传限制 / beyond the upload limits")},
    )
    async def upload_from_page(
        request: Request,
        user: CurrentPageUser,
        data: Annotated[UploadPageForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template:
        require_page_role(user, *UPLOADERS)
        check_csrf(user, data.csrf_token)
        kind = chosen_kind(data.kind)
        state = request.app.state
        ctx = Context(principal=user.principal, secrets=state.secrets, tz=state.settings.tz)
        try:
            result = await run_import(
                kind,
                data.file.file,
                file_name=data.file.filename or "",
                ctx=ctx,
                provider_code=data.provider or None,
                mode="valid_only" if data.mode == "valid_only" else "all",
                limits=limits,
            )
        except (UploadTooLarge, DomainError) as exc:
            return Template(
                "pages/uploads.html",
                context=await page_context(user, error=exc.detail),
                status_code=413
                if isinstance(exc, UploadTooLarge)
                else 503
                if isinstance(exc, ServiceUnavailableError)
                else 422,
            )
        finally:
            await data.file.close()
        shown = {
            "batch_id": str(result.batch_id),
            "kind": kind,
            "status": result.status,
            "rows": result.rows,
            "stored": result.stored,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "errors": result.errors[:SHOWN_ERRORS],
            "more_errors": max(0, len(result.errors) - SHOWN_ERRORS) or result.errors_truncated,
            "warnings": result.warnings,
            "details": result.details[:SHOWN_ERRORS],
            "has_error_sheet": any(e.row is not None for e in result.errors),
        }
        return Template(
            "pages/uploads.html",
            context=await page_context(user, result=shown),
            status_code=200 if result.status == "stored" else 422,
        )

    @get(
        "/uploads/templates/{name:str}",
        tags=["pages"],
        summary="Blank sheet from the page (`<kind>.xlsx` or `<kind>.csv`)",
        media_type=XLSX,
        opt={ALSO_MEDIA_TYPES: [CSV]},
    )
    async def template(name: FromPath[str], user: CurrentPageUser) -> Response[bytes]:
        require_page_role(user, *ANYONE)
        stem, _, extension = name.rpartition(".")
        kind = kind_of(stem)
        if extension == "xlsx":
            return Response(template_xlsx(kind), media_type=XLSX, headers=_attachment(name))
        if extension == "csv":
            return Response(template_csv(kind), media_type=CSV, headers=_attachment(name))
        raise NotFoundException("模板只有 .xlsx 和 .csv / templates are .xlsx or .csv")

    @get(
        "/uploads/{batch_id:uuid}/errors.xlsx",
        tags=["pages"],
        summary="Rows to fix",
        media_type=XLSX,
    )
    async def errors_sheet(
        request: Request, batch_id: FromPath[UUID], user: CurrentPageUser
    ) -> Response[bytes]:
        require_page_role(user, *ANYONE)
        kind, plain = await imports.error_sheet(batch_id, user.principal, request.app.state.secrets)
        return Response(
            error_workbook(plain, kind),
            media_type=XLSX,
            headers=_attachment(f"{kind}-errors-{str(batch_id)[:8]}.xlsx"),
        )

    @get(
        "/uploads/{batch_id:uuid}/certificates.zip",
        tags=["pages"],
        summary="The batch's PDFs",
        media_type="application/zip",
    )
    async def batch_pdfs(
        request: Request, batch_id: FromPath[UUID], user: CurrentPageUser
    ) -> Stream:
        require_page_role(user, *ANYONE)
        batch = await imports.get_batch(batch_id, user.principal)  # scoped: 404 if not theirs
        state = request.app.state
        signing = certificates.Signing(state.keystore, state.settings.public_base_url)
        chosen = await printing.certificates_for_zip(
            user.principal, certificates.CertificateFilter(source_ref=str(batch.batch_id)), signing
        )
        if not chosen:
            raise NotFoundException("该批次没有新颁发的证书 / this batch issued no certificates")
        archive = await printing.zip_file(chosen, "zh")

        return Stream(
            printing.read_chunks(archive),
            media_type="application/zip",
            headers=_attachment(f"certificates-{str(batch_id)[:8]}.zip"),
        )

    return [uploads_page, upload_from_page, template, errors_sheet, batch_pdfs]
