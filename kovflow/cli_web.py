"""CLI: the web application (`kovflow serve`)."""

from __future__ import annotations
