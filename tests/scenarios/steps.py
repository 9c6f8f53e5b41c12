"""What the scenario tests share: one step of a documented path, and the usual placement data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# `plaats` data of a child without a VVE-indicatie (the common case in these tests).
PLAATS: Mapping[str, str] = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm",
                             "vve_indicatie": "nee"}


@dataclass(frozen=True)
class Step:
    """Fire ``trigger`` on ``route`` as ``who`` (an actor's name); the route must then stand in
    ``to``. ``consents`` are recorded as given just before the step."""

    route: str
    trigger: str
    who: str
    to: str
    data: Mapping[str, Any] = field(default_factory=dict)
    consents: tuple[str, ...] = ()
