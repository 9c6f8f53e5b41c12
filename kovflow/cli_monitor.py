"""CLI: the monitor passende kinderopvang (`kovflow monitor`)."""

from __future__ import annotations
