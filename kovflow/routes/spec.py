"""Frozen specifications of routes, parsed from ``workflows/<route>/v<N>.toml``.

A spec is plain data: states, transitions, fields, guards by name, deadlines, notifications and
effects. The engine decides on it; the store pins instances to ``(route id, version)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

FieldType = Literal["text", "date", "datetime", "enum", "bool", "int", "person", "list"]
FIELD_TYPES: tuple[str, ...] = ("text", "date", "datetime", "enum", "bool", "int", "person", "list")
DurationUnit = Literal["days", "werkdagen", "weeks", "months"]
DURATION_UNITS: tuple[str, ...] = ("days", "werkdagen", "weeks", "months")
DeadlineKind = Literal["reminder", "escalation", "recurring"]

# The roles of ROUTES.md (Concepts). A route file naming any other role is refused by the checks.
ROLES: tuple[str, ...] = (
    "pm",
    "coach",
    "manager",
    "aandachtsfunctionaris",
    "houder",
    "wijkcoach",
    "ambulant_begeleider",
    "jgz",
    "logopedist",
    "zorgaanbieder",
    "voogd",
    "coordinator",
    "admin",
)

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Duration:
    """An offset: ``amount`` (may be negative) in calendar days, werkdagen, weeks or months."""

    amount: int
    unit: DurationUnit

    def __str__(self) -> str:
        names = {"days": "dagen", "werkdagen": "werkdagen", "weeks": "weken", "months": "maanden"}
        return f"{self.amount} {names[self.unit]}"


@dataclass(frozen=True, slots=True)
class Condition:
    """``field`` equals ``equals``: used by ``required_if`` on fields."""

    field: str
    equals: Any


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A data field a transition asks for."""

    name: str
    type: FieldType
    label: str
    required: bool = True
    choices: tuple[str, ...] = ()
    items: FieldType | None = None
    min_items: int = 0
    minimum: int | None = None
    maximum: int | None = None
    required_if: Condition | None = None
    default_after: Duration | None = None
    help: str = ""


@dataclass(frozen=True, slots=True)
class GuardRef:
    """A guard named in a route file, with its parameters; resolved against the registry."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    message: str = ""


@dataclass(frozen=True, slots=True)
class NotifySpec:
    """Send template ``template`` to the participants holding ``role``.

    With ``instead``, the message goes to ``instead.role`` while the instance has recorded
    ``instead.field`` = ``instead.equals`` (e.g. a voogd who became the first contact).
    """

    template: str
    role: str
    instead: Condition | None = None
    instead_role: str = ""
    instead_route: str = ""  # look the condition up in this route's instance on the case


@dataclass(frozen=True, slots=True)
class FireSpec:
    """Take step ``trigger`` on the running ``route`` of the same case, in the same transaction."""

    route: str
    trigger: str
    carry: Mapping[str, str] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class AlsoStart:
    """When this route starts and the case fact ``when_fact`` is true, start ``route`` too."""

    route: str
    when_fact: str


@dataclass(frozen=True, slots=True)
class StartSpec:
    """Start route ``route`` on the same case, in ``state`` (its initial state when empty).

    ``carry`` maps a field of the new instance to a field of the firing transition's data.
    """

    route: str
    state: str = ""
    carry: Mapping[str, str] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What a state asks of a role while it is current."""

    role: str
    title: str
    due: Duration | None = None


@dataclass(frozen=True, slots=True)
class DeadlineSpec:
    """A durable reminder set on entering a state and cancelled on leaving it."""

    rule: str
    kind: DeadlineKind
    after: Duration
    role: str
    template: str
    relative_to: str = "entered"
    every: Duration | None = None
    escalate_role: str = ""
    escalate_after: Duration | None = None
    escalate_template: str = ""
    instead: Condition | None = None
    instead_role: str = ""
    instead_route: str = ""


@dataclass(frozen=True, slots=True)
class InviteSpec:
    """Send a calendar invitation for the date in ``field`` to the participants with ``roles``.

    The invitation's UID is stable per instance and field, so a later step that records a new
    date sends an update (higher sequence); ``cancel`` sends a cancellation instead.
    """

    field: str
    roles: tuple[str, ...]
    cancel: bool = False
    minutes: int = 60


@dataclass(frozen=True, slots=True)
class StateSpec:
    """One state of a route."""

    name: str
    label: str
    final: bool = False
    task: TaskSpec | None = None
    idle: Duration | None = None
    deadlines: tuple[DeadlineSpec, ...] = ()
    source: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    """A step: ``trigger`` from any of ``sources`` to ``dest`` (empty ``dest``: stay)."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    label: str
    roles: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    guards: tuple[GuardRef, ...] = ()
    notify: tuple[NotifySpec, ...] = ()
    start: tuple[StartSpec, ...] = ()
    close_routes: tuple[str, ...] = ()
    fire: tuple[FireSpec, ...] = ()
    sets: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    invite: InviteSpec | None = None
    source: str = ""
    note: str = ""

    @property
    def internal(self) -> bool:
        """True when the step records something without changing the state."""
        return not self.dest


@dataclass(frozen=True, slots=True, eq=False)
class RouteSpec:
    """A route version: the unit a route instance is pinned to (hashed by identity)."""

    id: str
    version: int
    title: str
    per: Literal["child", "location"]
    initial: str
    states: Mapping[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    start_fields: tuple[FieldSpec, ...] = ()
    starters: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    also_start: tuple[AlsoStart, ...] = ()
    file: str = ""
    source: str = ""
    note: str = ""
    _by_trigger: Mapping[str, tuple[TransitionSpec, ...]] = field(default_factory=lambda: EMPTY, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def transitions_for(self, trigger: str) -> tuple[TransitionSpec, ...]:
        """All transitions named ``trigger`` (one per distinct source set)."""
        return self._by_trigger.get(trigger, ())

    def transition(self, trigger: str, state: str) -> TransitionSpec | None:
        """The transition ``trigger`` may take from ``state``, if any."""
        for t in self.transitions_for(trigger):
            if state in t.sources:
                return t
        return None

    def available(self, state: str) -> tuple[TransitionSpec, ...]:
        """The transitions whose sources include ``state``, in file order."""
        return tuple(t for t in self.transitions if state in t.sources)

    @property
    def final_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states.values() if s.final)


def index_transitions(transitions: tuple[TransitionSpec, ...]) -> Mapping[str, tuple[TransitionSpec, ...]]:
    """Group transitions by trigger, keeping file order."""
    grouped: dict[str, list[TransitionSpec]] = {}
    for t in transitions:
        grouped.setdefault(t.trigger, []).append(t)
    return MappingProxyType({k: tuple(v) for k, v in grouped.items()})


def routed_role(spec: NotifySpec | DeadlineSpec, recorded: Mapping[str, Any]) -> str:
    """The role a message goes to: ``instead_role`` while ``recorded`` holds the ``instead``
    condition (e.g. NB-2: the voogd), else the spec's own role."""
    cond = spec.instead
    if cond is not None and spec.instead_role and recorded.get(cond.field) == cond.equals:
        return spec.instead_role
    return spec.role
