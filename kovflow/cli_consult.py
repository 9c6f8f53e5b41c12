"""CLI: the anonymous consultation (`kovflow consult ask|inbox|answer`)."""

from __future__ import annotations
