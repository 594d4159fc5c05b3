"""The application factory: settings in, a Litestar app out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from . import __version__, database
from .audit.controllers import list_audit_events
from .auth.controllers import ApiKeyController, who_am_i
from .crypto import Secrets
from .health import live, ready
from .providers.controllers import ProviderController
from .settings import Settings
from .trainees.controllers import TraineeController
from .web import EXCEPTION_HANDLERS, ApiKeyAuthMiddleware, provide_context, provide_principal

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    engine = database.build_engine(settings)
    database.activate(engine)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Tests build several apps in one process: each re-points the tables at its engine.
        database.activate(engine)
        async with database.connection_pool(settings):
            yield

    api = Router(
        path="/api/v1",
        route_handlers=[
            ProviderController,
            TraineeController,
            ApiKeyController,
            who_am_i,
            list_audit_events,
        ],
        middleware=[ApiKeyAuthMiddleware],
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
            "ctx": Provide(provide_context, sync_to_thread=False),
        },
        security=[{"apiKey": []}],
    )

    logging.basicConfig(level=settings.log_level)
    return Litestar(
        route_handlers=[live, ready, api],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings, "secrets": Secrets(settings.secret_key)}),
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
        debug=False,
    )
