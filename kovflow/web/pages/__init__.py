"""The server-rendered Dutch pages: login, Mijn taken, case page, inbox, dashboard, beheer."""

from __future__ import annotations

from fastapi import APIRouter

from kovflow.web.pages import beheer, coordinator, inbox

router = APIRouter()
for _sub in (beheer.router, coordinator.router, inbox.router):
    router.include_router(_sub)
