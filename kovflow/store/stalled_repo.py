"""Queries of the stalled-case audit and the rollout tracker (set-based, pseudonymised columns only)."""

from __future__ import annotations
