"""CLI: passwords and API tokens of user accounts (`kovflow users password|token`)."""

from __future__ import annotations
