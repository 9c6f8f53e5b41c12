"""The coordinator's pages: stalled cases, monitor, rollout tracker, outbox incidents, downloads."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
