"""CLI: retention and the subject-access export (`kovflow retention run`, `kovflow case export`)."""

from __future__ import annotations
