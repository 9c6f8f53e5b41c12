"""The consultatie inbox of the wijkcoach and the JGZ nurse: anonymous questions and the answer form."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
