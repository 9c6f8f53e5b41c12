"""The throttling rule: ``max_failures`` failed logins within ``window`` lock the key (an
account name or a client address) for ``lockout`` after the failure that crossed the line.

Pure: the caller reads the failure moments of one key and the current moment (``app.clock``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def locked_until(failures: Sequence[datetime], max_failures: int, window: timedelta,
                 lockout: timedelta) -> datetime | None:
    """The end of the latest lockout the failures cause, or None when they cause none.

    A lockout starts the count afresh: once it has passed, one more mistake does not lock the
    key again at once because earlier failures are still inside the window.
    """
    times = sorted(failures)
    until: datetime | None = None
    start = 0
    for i in range(len(times)):
        if i - start + 1 >= max_failures and times[i] - times[i - max_failures + 1] <= window:
            until = times[i] + lockout
            start = i + 1
    return until


def lookback(window: timedelta, lockout: timedelta) -> timedelta:
    """How far back failures can still matter: a lockout may start a window after the first."""
    return window + lockout
