"""CLI: the stalled-case audit and the rollout tracker (`kovflow audit stalled`, `kovflow rollout`)."""

from __future__ import annotations
