"""The exception tree of kovflow.

Every error says what went wrong and, where it can, how to fix it. The CLI maps the classes to
exit codes (see ``exit_code``), the web layer to HTTP statuses. Messages for people are Dutch where
a coach reads them (refusal reasons) and English for operators (definition and setup errors).
"""

from __future__ import annotations

from dataclasses import dataclass


class KovflowError(Exception):
    """Something went wrong in kovflow."""

    exit_code = 1

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(KovflowError):
    """The configuration is invalid."""

    exit_code = 2


class InvalidInput(KovflowError):
    """A value given on the command line or in a form cannot be used."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in a route file, with a stable code and a hint on how to fix it."""

    code: str
    file: str
    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.file}: {self.path}: [{self.code}] {self.message}{hint}"


class RouteDefinitionError(KovflowError):
    """One or more route files are invalid."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in route files:\n{lines}")


@dataclass(frozen=True)
class Reason:
    """Why a transition was refused: a stable machine code and a Dutch sentence for the coach."""

    code: str
    message: str


class TransitionNotAllowed(KovflowError):
    """The step cannot be taken now; ``reasons`` lists every unmet condition."""

    exit_code = 3

    def __init__(self, route: str, state: str, trigger: str, reasons: list[Reason]) -> None:
        self.route = route
        self.state = state
        self.trigger = trigger
        self.reasons = reasons
        text = "; ".join(r.message for r in reasons)
        super().__init__(f"Stap '{trigger}' in route '{route}' (stand '{state}') kan niet: {text}")


class NotFound(KovflowError, LookupError):
    """The requested object does not exist (or you may not see it: the answer is the same)."""

    exit_code = 4

    def __init__(self, kind: str, key: object) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"No {kind} {key!r} was found")


class UnknownState(KovflowError):
    """A stored state is not defined in the route version the instance is pinned to."""

    exit_code = 4

    def __init__(self, route: str, version: int, state: str) -> None:
        super().__init__(
            f"State {state!r} is not defined in route {route!r} v{version}; "
            "restore that route version or migrate the instance"
        )


class ConcurrentUpdate(KovflowError):
    """Someone else changed this route instance since you looked at it; reload and try again."""

    exit_code = 5

    def __init__(self, instance_id: int, expected: int, actual: int) -> None:
        self.instance_id = instance_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Route instance {instance_id} is at revision {actual}, not {expected}: "
            "deze casus is intussen gewijzigd, laad hem opnieuw"
        )


class DatabaseUnavailable(KovflowError):
    """The database cannot be reached."""

    exit_code = 6
