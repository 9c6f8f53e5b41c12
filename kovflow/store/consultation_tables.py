"""Tables of the anonymous consultation."""

from __future__ import annotations
