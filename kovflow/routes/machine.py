"""One ``transitions`` machine per route version, built once and cached.

The machine is the referee of the graph: it holds no case rows (a SQLModel row cannot be a
transitions model) and keeps no resident models. Each step restores the state on one cached token
with ``set_state``, fires the trigger and reads the new state back; the caller writes it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from transitions import Machine, MachineError

from kovflow.routes.spec import RouteSpec


class _Token:
    """The throwaway model the machine moves; ``state`` is set by transitions."""

    state: str


class RouteMachine:
    """A cached machine for one route version."""

    def __init__(self, spec: RouteSpec) -> None:
        self.spec = spec
        transitions: list[dict[str, Any]] = [
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest or None}
            for t in spec.transitions
        ]
        self._token = _Token()
        # auto_transitions=False: no to_<state>() shortcuts that would let a caller skip a route.
        self._machine = Machine(
            model=self._token,
            states=list(spec.states),
            transitions=transitions,
            initial=spec.initial,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        # One token, several threads (web workers): restore + trigger + read must not interleave.
        self._lock = threading.Lock()

    def next_state(self, state: str, trigger: str) -> str | None:
        """The state after firing ``trigger`` in ``state``, or None when the graph forbids it."""
        with self._lock:
            self._machine.set_state(state, model=self._token)
            try:
                self._token.trigger(trigger)  # type: ignore[attr-defined]
            except (MachineError, AttributeError, ValueError):
                return None
            return self._token.state


@lru_cache(maxsize=512)
def machine_for(spec: RouteSpec) -> RouteMachine:
    """The machine of ``spec``, built on first use (specs are frozen, hence hashable)."""
    return RouteMachine(spec)
