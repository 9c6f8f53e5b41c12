"""The JSON API (``/api/v1``): cases, route instances, steps, tasks, consents, audit, monitor."""

from __future__ import annotations

from fastapi import FastAPI

from kovflow.services import App


def build_api(kapp: App) -> FastAPI:
    """The API sub-application; its OpenAPI document is served at ``/api/v1/openapi.json``."""
    api = FastAPI(title="kovflow API", version="1")
    api.state.kapp = kapp
    return api
