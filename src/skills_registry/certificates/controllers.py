from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from ..web import ANY_ROLE, WRITERS, CurrentPrincipal, Offset, ServiceContext, require
from . import printing, services
from .schemas import (
    CertificateCorrection,
    CertificateCreate,
    CertificateIssued,
    CertificateOut,
    CertificatePage,
    RevokeRequest,
    Source,
    Status,
)
from .services import CertificateFilter, Signing


def provide_signing(request: Request) -> Signing:
    state = request.app.state
    return Signing(keys=state.keystore, public_base_url=state.settings.public_base_url)


CertificateSigning = NamedDependency[Signing]


class CertificateController(Controller):
    path = "/certificates"
    tags = ["certificates"]
    dependencies = {"signing": Provide(provide_signing, sync_to_thread=False)}

    @post(
        "/",
        guards=[require(*WRITERS)],
        summary="Issue one certificate (bureau-admin naming the provider, or a provider key)",
        description="The holder is `trainee_id` or the person's fields (create-or-link). "
        "201 when issued; 200 when the same certificate was already issued (idempotent). "
        "422 lists every field at fault (scope, level, number, issue date...); 409 when the "
        "ID number is registered under another name or the number belongs to another "
        "certificate.",
        status_code=201,
    )
    async def issue(
        self, data: JSONBody[CertificateCreate], ctx: ServiceContext, signing: CertificateSigning
    ) -> Response[CertificateIssued]:
        result = await services.issue(data, ctx, signing)
        return Response(result, status_code=201 if result.created else 200)

    @get(
        "/",
        guards=[require(*ANY_ROLE)],
        summary="Certificates visible to the key, newest issue date first",
    )
    async def list(
        self,
        principal: CurrentPrincipal,
        signing: CertificateSigning,
        trainee_id: Annotated[UUID | None, QueryParameter()] = None,
        provider: Annotated[str | None, QueryParameter()] = None,
        occupation_code: Annotated[str | None, QueryParameter()] = None,
        level: Annotated[int | None, QueryParameter(ge=-1, le=5)] = None,
        kind: Annotated[str | None, QueryParameter()] = None,
        status: Annotated[Status | None, QueryParameter()] = None,
        source: Annotated[Source | None, QueryParameter()] = None,
        issued_from: Annotated[dt.date | None, QueryParameter()] = None,
        issued_to: Annotated[dt.date | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> CertificatePage:
        filters = CertificateFilter(
            trainee_id=trainee_id,
            provider=provider,
            occupation_code=occupation_code,
            level=level,
            kind=kind,
            status=status,
            source=source,
            issued_from=issued_from,
            issued_to=issued_to,
        )
        return await services.list_certificates(
            principal, filters, signing, limit=limit, offset=offset
        )

    @get(
        "/pdfs.zip",
        guards=[require(*ANY_ROLE)],
        summary="Many certificates' PDFs as one ZIP (an import batch, or the list filters)",
        description="Rendered in recycled worker processes; at most 2,000 per download.",
        media_type="application/zip",
    )
    async def pdf_zip(
        self,
        principal: CurrentPrincipal,
        signing: CertificateSigning,
        batch_id: Annotated[str | None, QueryParameter(description="import batch id")] = None,
        provider: Annotated[str | None, QueryParameter()] = None,
        occupation_code: Annotated[str | None, QueryParameter()] = None,
        level: Annotated[int | None, QueryParameter(ge=-1, le=5)] = None,
        status: Annotated[Status | None, QueryParameter()] = None,
        issued_from: Annotated[dt.date | None, QueryParameter()] = None,
        issued_to: Annotated[dt.date | None, QueryParameter()] = None,
        lang: Annotated[str, QueryParameter(description="zh | zh-en")] = "zh",
    ) -> Stream:
        filters = CertificateFilter(
            source_ref=batch_id,
            provider=provider,
            occupation_code=occupation_code,
            level=level,
            status=status,
            issued_from=issued_from,
            issued_to=issued_to,
        )
        chosen = await printing.certificates_for_zip(principal, filters, signing)
        archive = await printing.zip_file(chosen, lang)

        name = f"certificates-{batch_id or dt.date.today().isoformat()}.zip"
        return Stream(
            printing.read_chunks(archive),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/{number:str}/pdf",
        guards=[require(*ANY_ROLE)],
        summary="The certificate as PDF (A4; `lang=zh-en` for the bilingual layout)",
        description="The same certificate state gives the same bytes (cached); a revocation "
        "or correction changes the document.",
        media_type="application/pdf",
    )
    async def pdf(
        self,
        number: FromPath[str],
        principal: CurrentPrincipal,
        signing: CertificateSigning,
        lang: Annotated[str, QueryParameter(description="zh | zh-en")] = "zh",
    ) -> Response[bytes]:
        name, content = await printing.certificate_pdf(number, principal, signing, lang)
        return Response(
            content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    @get(
        "/{number:str}",
        guards=[require(*ANY_ROLE)],
        summary="One certificate, with its token and verify_url",
        description="Bureau roles and the issuing provider; anyone else gets 404.",
    )
    async def get(
        self, number: FromPath[str], principal: CurrentPrincipal, signing: CertificateSigning
    ) -> CertificateOut:
        return await services.get_certificate(number, principal, signing)

    @post(
        "/{number:str}/revoke",
        guards=[require(*WRITERS)],
        summary="Revoke (bureau-admin or the issuing provider); revoking twice is 409",
        status_code=200,
    )
    async def revoke(
        self,
        number: FromPath[str],
        data: JSONBody[RevokeRequest],
        ctx: ServiceContext,
        signing: CertificateSigning,
    ) -> CertificateOut:
        return await services.revoke(number, data.reason, ctx, signing)

    @post(
        "/{number:str}/correct",
        guards=[require(*WRITERS)],
        summary="Correct: supersede with a new certificate that points back",
        description="The replacement keeps the holder, the provider and the original issue "
        "date, gets a new number (allocated, or `number` for certificates not numbered by "
        "the registry) and a new token; the old one answers `superseded` with the new number.",
        status_code=201,
    )
    async def correct(
        self,
        number: FromPath[str],
        data: JSONBody[CertificateCorrection],
        ctx: ServiceContext,
        signing: CertificateSigning,
    ) -> CertificateOut:
        return await services.correct(number, data, ctx, signing)
