"""The server-rendered Dutch pages: login, Mijn taken, case page, inbox, dashboard, beheer."""

from __future__ import annotations

from fastapi import APIRouter

from kovflow.web.pages import auth, beheer, case, coordinator, inbox, tasks

router = APIRouter()
for _sub in (auth.router, tasks.router, case.router, beheer.router, coordinator.router,
             inbox.router):
    router.include_router(_sub)
