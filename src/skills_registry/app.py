"""The application factory: settings in, a Litestar app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from . import __version__, database
from .apprenticeships.controllers import ApprenticeshipController
from .apprenticeships.imports import apprentice_import
from .audit.controllers import list_audit_events
from .auth.controllers import ApiKeyController, who_am_i
from .certificates.controllers import CertificateController
from .certificates.importing import certificate_import
from .certificates.signing import KeyStore
from .competitions.controllers import CompetitionController
from .competitions.imports import RESULT_IMPORT
from .crypto import Secrets
from .health import live, ready
from .imports.controllers import import_route_handlers
from .observability import (
    MetricsController,
    install_request_logging,
    logging_config,
    prometheus_config,
)
from .openapi_problems import document_problem_responses
from .pages.controllers import PAGE_HANDLERS
from .pages.session import LoginRequired, page_user, redirect_to_login
from .pages.uploads import upload_pages
from .providers.controllers import ProviderController
from .recognition.controllers import RecognitionController
from .reporting.controllers import API_HANDLERS as REPORTING_API
from .reporting.controllers import PAGE_HANDLERS as REPORTING_PAGES
from .security_headers import security_headers
from .settings import Settings
from .trainees.controllers import TraineeController
from .trainees.enrolments import ENROLMENT_IMPORT
from .verification.cache import TimedCache
from .verification.controllers import VERIFICATION_API, VERIFICATION_HANDLERS
from .verification.log import VerificationLog
from .verification.pages import verification_pages
from .verification.rate_limits import rate_limit_stores
from .web import (
    EXCEPTION_HANDLERS,
    ApiKeyAuthMiddleware,
    provide_context,
    provide_principal,
    refuse_nul_in_url,
)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    engine = database.build_engine(settings)
    database.activate(engine)
    verification_log = VerificationLog(settings.verification_log_flush_seconds)
    keystore = KeyStore(settings.keys_dir)
    # The /v/ rate-limit budgets: Redis when REDIS_URL is set (shared by every worker).
    limit_stores = rate_limit_stores(settings)
    import_kinds = [
        ENROLMENT_IMPORT,
        certificate_import(keystore, settings.public_base_url),
        apprentice_import(settings.apprentice_subsidy_by_level),
        RESULT_IMPORT,
    ]

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Tests build several apps in one process: each re-points the tables at its engine.
        database.activate(engine)
        async with (
            database.connection_pool(settings),
            verification_log.running(),
            limit_stores.running(),
        ):
            yield

    api = Router(
        path="/api/v1",
        route_handlers=[
            ProviderController,
            TraineeController,
            ApiKeyController,
            who_am_i,
            list_audit_events,
            *REPORTING_API,
            CertificateController,
            ApprenticeshipController,
            CompetitionController,
            RecognitionController,
            *VERIFICATION_API,
            *import_route_handlers(settings, import_kinds),
        ],
        middleware=[ApiKeyAuthMiddleware],
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
            "ctx": Provide(provide_context, sync_to_thread=False),
        },
        security=[{"apiKey": []}],
    )

    # /metrics answers without an API key (scrapers on the bureau's internal network);
    # METRICS_ENABLED=false removes it and the request metrics altogether.
    metrics = [MetricsController] if settings.metrics_enabled else []
    app = Litestar(
        route_handlers=[
            live,
            ready,
            api,
            *VERIFICATION_HANDLERS,
            verification_pages(settings),
            *PAGE_HANDLERS,
            *upload_pages(settings, import_kinds),
            *REPORTING_PAGES,
            *metrics,
        ],
        dependencies={"user": Provide(page_user)},
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        # Every response, unrouted 404s included: CSP (no scripts), no-referrer, HSTS on https.
        before_send=[security_headers(TEMPLATES_DIR, settings.public_base_url)],
        lifespan=[lifespan],
        stores=limit_stores.stores,
        exception_handlers={**EXCEPTION_HANDLERS, LoginRequired: redirect_to_login},
        before_request=refuse_nul_in_url,
        state=State(
            {
                "settings": settings,
                "secrets": Secrets(settings.secret_key),
                # Signing keys from KEYS_DIR (made by `migrate`, rotated by the CLI).
                "keystore": keystore,
                "verification_log": verification_log,
                "verification_cache": TimedCache(settings.verification_cache_seconds),
                "signature_cache": TimedCache(settings.verification_cache_seconds, 10_000),
            }
        ),
        openapi_config=OpenAPIConfig(
            title="skills-registry",
            version=__version__,
            description="职业技能培训与评价登记系统 / vocational skills training and certification registry",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(
                        type="http", scheme="bearer", description="API key from `keys create`"
                    )
                }
            ),
        ),
        middleware=[prometheus_config().middleware] if settings.metrics_enabled else [],
        logging_config=logging_config(settings),
        debug=False,
    )
    install_request_logging(app)
    document_problem_responses(app)
    return app
