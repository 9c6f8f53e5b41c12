"""Beheer (admin): users and roles, locations, loaded route files with their versions and checks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
