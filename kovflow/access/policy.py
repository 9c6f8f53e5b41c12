"""The access policy as one readable table: relation to the case x role group -> actions.

The service layer computes the actor's relation to a case and asks ``allowed``; the web, API and
CLI never decide access themselves. A forbidden case answers exactly like a missing one
(``NotFound``), so nobody can probe which case numbers exist.

Relations (from the privacy issue):
- ``participant``: the actor takes part in the case;
- ``same_location``: not a participant, but works at the case's location (or its organisation);
- ``other``: any other organisation;
- ``coordinator`` and ``admin``: the municipality's coordinator and functioneel beheer.

Route compartments come on top: the meldcode routes are readable only by their own lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Relation(StrEnum):
    PARTICIPANT = "participant"
    SAME_LOCATION = "same_location"
    OTHER = "other"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Action(StrEnum):
    READ = "read"  # the case with names, data and free text (within consent for other orgs)
    READ_PSEUDONYMISED = "read_pseudonymised"  # case number, location, routes, states, dates
    WRITE = "write"  # take steps, start routes, record consent, add participants
    SEARCH = "search"  # find the case by number or name


# Roles of the childcare organisation: they work at a location and carry the placement.
CHILDCARE_ROLES = frozenset({"pm", "coach", "manager", "aandachtsfunctionaris", "houder"})
# Partners from other organisations: they see a case only as its participant.
PARTNER_ROLES = frozenset({"wijkcoach", "ambulant_begeleider", "jgz", "logopedist",
                           "zorgaanbieder", "voogd"})

_ALL = frozenset(Action)
_NONE: frozenset[Action] = frozenset()

# The table. Read it row by row: "a <group> who is <relation> may <actions>".
POLICY: Mapping[tuple[Relation, str], frozenset[Action]] = {
    (Relation.PARTICIPANT, "childcare"): _ALL,
    (Relation.PARTICIPANT, "partner"): _ALL,
    (Relation.SAME_LOCATION, "childcare"): _ALL,
    (Relation.SAME_LOCATION, "partner"): _NONE,  # a wijkcoach sees only the cases they are in
    (Relation.OTHER, "childcare"): _NONE,
    (Relation.OTHER, "partner"): _NONE,
    (Relation.COORDINATOR, "coordinator"): frozenset({Action.READ_PSEUDONYMISED}),
    (Relation.ADMIN, "admin"): _NONE,  # functioneel beheer manages accounts, not case content
}

# Compartments: routes whose existence and content only these roles (or people) may see.
MELDCODE_READERS = frozenset({"aandachtsfunctionaris", "coach", "manager"})  # + the initiator
MELDCODE_MEDEWERKER_READERS = frozenset({"houder", "aandachtsfunctionaris"})  # minus exclusions
COMPARTMENTS: Mapping[str, frozenset[str]] = {
    "meldcode": MELDCODE_READERS,
    "meldcode_medewerker": MELDCODE_MEDEWERKER_READERS,
}


def group_of(roles: frozenset[str]) -> str:
    """The role group that decides: childcare staff, a partner, the coordinator or admin."""
    if roles & CHILDCARE_ROLES:
        return "childcare"
    if roles & PARTNER_ROLES:
        return "partner"
    if "coordinator" in roles:
        return "coordinator"
    if "admin" in roles:
        return "admin"
    return "none"


def allowed(relation: Relation, roles: frozenset[str], action: Action) -> bool:
    """True when the table grants ``action`` to an actor with ``roles`` in ``relation``."""
    return action in POLICY.get((relation, group_of(roles)), _NONE)


def sees_route(route_id: str, roles: frozenset[str], username: str, initiator: str = "",
               excluded: frozenset[str] = frozenset()) -> bool:
    """Whether a route instance is visible at all (compartments); other routes always are."""
    readers = COMPARTMENTS.get(route_id)
    if readers is None:
        return True
    if username in excluded:
        return False  # the staff member concerned never sees it, whatever their role
    return bool(roles & readers) or (bool(initiator) and username == initiator)
