"""Due dates in Dutch, counted in werkdagen: "vandaag", "over 3 werkdagen", "2 werkdagen te laat".

Coaches plan in working days, so a task due next Monday on a Friday is "over 1 werkdag", and a
Dutch public holiday or an extra closing day of the installation does not count (``WorkCalendar``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from kovflow.calendar import WorkCalendar

__all__ = ["Due", "due_phrase"]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
Status = Literal["te_laat", "vandaag", "later", "geen"]
# Sort order of Mijn taken: overdue first, then today, then later, then tasks without a term.
RANK: dict[str, int] = {"te_laat": 0, "vandaag": 1, "later": 2, "geen": 3}


@dataclass(frozen=True, slots=True)
class Due:
    text: str
    status: Status

    @property
    def rank(self) -> int:
        return RANK[self.status]


def _werkdagen(n: int) -> str:
    return "1 werkdag" if n == 1 else f"{n} werkdagen"


def due_phrase(due: datetime | None, now: datetime, calendar: WorkCalendar) -> Due:
    """How a coach reads the due moment ``due`` at ``now``."""
    if due is None:
        return Due("geen termijn", "geen")
    due_day = due.astimezone(AMSTERDAM).date()
    today = now.astimezone(AMSTERDAM).date()
    if due_day == today:
        return Due("vandaag", "vandaag")
    if due_day > today:
        n = calendar.werkdagen_between(now, due)
        if n >= 1:
            return Due(f"over {_werkdagen(n)}", "later")
        # Only closed days lie in between (a weekend): say it in calendar days.
        days = (due_day - today).days
        return Due("morgen" if days == 1 else f"over {days} dagen", "later")
    late = calendar.werkdagen_between(due, now)
    return Due(f"{_werkdagen(late)} te laat" if late >= 1 else "te laat", "te_laat")
