"""Tables of retention: what was removed, when, by which rule (no personal data)."""

from __future__ import annotations
