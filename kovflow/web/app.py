"""The ASGI application: the Dutch pages at ``/`` and the JSON API mounted at ``/api/v1``.

The API is a sub-application so that it carries its own OpenAPI document
(``/api/v1/openapi.json``) and docs page; the pages need none. Both work on the same ``App``.
"""

from __future__ import annotations

from fastapi import FastAPI

from kovflow.services import App


def create_app(kapp: App) -> FastAPI:
    """The whole web application for one kovflow ``App`` (database, routes, clock)."""
    from kovflow.web.api import build_api
    from kovflow.web.pages import router

    web = FastAPI(title="kovflow", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.kapp = kapp
    web.mount("/api/v1", build_api(kapp))
    web.include_router(router)
    return web
