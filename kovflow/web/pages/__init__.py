"""The server-rendered Dutch pages: login, Mijn taken, case page, inbox, dashboard, beheer."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
