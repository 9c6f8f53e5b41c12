"""Queries of the monitor passende kinderopvang (aggregates over route data)."""

from __future__ import annotations
