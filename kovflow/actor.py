"""Who is acting: a user with roles, or the installation's operator (CLI without ``--as``)."""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Actor:
    """The acting party; ``operator`` may fire any step and is audited as such."""

    username: str
    roles: frozenset[str]
    user_id: int | None = None
    operator: bool = False

    @classmethod
    def installation_operator(cls) -> Actor:
        return cls(OPERATOR, frozenset(), None, operator=True)

    def may_start(self, starters: tuple[str, ...]) -> bool:
        """True when the actor may start a route by hand; no starters: only other routes do."""
        if self.operator or "admin" in self.roles:
            return True
        return bool(self.roles.intersection(starters))

    def may_act_as(self, roles: tuple[str, ...]) -> bool:
        """True when the actor holds one of ``roles`` (an empty tuple allows every role)."""
        return self.operator or not roles or bool(self.roles.intersection(roles))
