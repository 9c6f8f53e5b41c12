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

Consent limits come last: a partner (``PARTNER_ROLES``) who takes part in a case reads, of the
case's data, only the categories that a given, not withdrawn consent for their role covers (the
tables ``ROUTE_CATEGORIES``, ``SCOPE_RECIPIENTS`` and ``DEFAULT_CATEGORIES`` below). The
childcare organisation's own view stays complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


# --- consent-limited views ---------------------------------------------------------------------
#
# What a partner participant sees of a case (case_overview, history, consents_of):
#   always        case number, location, routes, states, dates, open tasks, the professionals
#                 taking part (username, role, organisation), and the data they recorded themselves;
#   with consent  the data categories below that a given (not withdrawn) consent for their role
#                 covers; "medisch" only when that consent was recorded as explicit;
#   otherwise     nothing, and the view says so: "niet gedeeld: geen toestemming voor <categorie>".


class Category(StrEnum):
    PERSONALIA = "personalia"  # the child's first name, initial, birth date; parents' names
    PLAATSING = "plaatsing"  # the placement: group, dates, mentor, VVE, outflow, bridging, hours
    ONTWIKKELING = "ontwikkeling"  # development and support: referral facts, goals, evaluations
    GEZIN = "gezin"  # the family situation: wijkcoach contact, the beschikking via the wijkteam
    MEDISCH = "medisch"  # JGZ findings and health: needs explicitly recorded consent


# The data of a route belongs to one category. Read: "what <route> records is <category>".
ROUTE_CATEGORIES: Mapping[str, Category] = {
    "plaatsing": Category.PLAATSING,
    "beeindiging_plaatsing": Category.PLAATSING,
    "overbrugging": Category.PLAATSING,
    "taakuren": Category.PLAATSING,
    "evaluatie": Category.ONTWIKKELING,
    "ambulante_inzet": Category.ONTWIKKELING,
    "wijkcoach": Category.GEZIN,
    "opschaling_beschikking": Category.GEZIN,
    "warme_overdracht_jgz": Category.MEDISCH,
}
_CATEGORY_VALUES = frozenset(c.value for c in Category)

# Case-level data that is not a route's: the child's identity and the facts of the referral.
CASE_CATEGORIES: Mapping[str, Category] = {
    "first_name": Category.PERSONALIA,
    "initial": Category.PERSONALIA,
    "birth_date": Category.PERSONALIA,
    "participant_name": Category.PERSONALIA,  # people without an account: parents, a voogd
    "case_opened": Category.ONTWIKKELING,  # referral facts such as "JGZ has concerns"
}
# The meldcode needs no consent (the law allows sharing within the compartment): whoever the
# compartment lets see it, sees all of it. Routes in neither table are never shared by consent.
CONSENT_FREE = frozenset(COMPARTMENTS)

# Who receives data under a consent scope "<from>_naar_<to>": the <to> part names the role(s).
# A consent whose ``recipient`` is a role name goes to that role instead.
SCOPE_RECIPIENTS: Mapping[str, frozenset[str]] = {
    "wijkcoach": frozenset({"wijkcoach"}),
    "ambulant": frozenset({"ambulant_begeleider"}),
    "ambulant_begeleider": frozenset({"ambulant_begeleider"}),
    "jgz": frozenset({"jgz"}),
    "logopedist": frozenset({"logopedist"}),
    "zorgaanbieder": frozenset({"zorgaanbieder"}),
    "voogd": frozenset({"voogd"}),
    "kinderopvang": CHILDCARE_ROLES,
}
# What a consent covers when it was recorded without a list of categories, by receiving role.
# "medisch" is never implied: it must be listed and the consent recorded as explicit.
DEFAULT_CATEGORIES: Mapping[str, frozenset[Category]] = {
    "wijkcoach": frozenset({Category.PERSONALIA, Category.PLAATSING, Category.ONTWIKKELING,
                            Category.GEZIN}),
    "ambulant_begeleider": frozenset({Category.PERSONALIA, Category.PLAATSING,
                                      Category.ONTWIKKELING}),
    "jgz": frozenset({Category.PERSONALIA, Category.PLAATSING, Category.ONTWIKKELING}),
    "logopedist": frozenset({Category.PERSONALIA, Category.ONTWIKKELING}),
    "zorgaanbieder": frozenset({Category.PERSONALIA, Category.ONTWIKKELING}),
    "voogd": frozenset({Category.PERSONALIA}),
}


@dataclass(frozen=True)
class ConsentFacts:
    """The parts of a consent record that decide what it covers (the latest record of a scope)."""

    scope: str
    status: str
    recipient: str = ""
    categories: tuple[str, ...] = ()
    medical_explicit: bool = False


def scope_sides(scope: str, recipient: str = "") -> tuple[frozenset[str], frozenset[str]]:
    """(giving roles, receiving roles) of a consent scope such as ``kinderopvang_naar_wijkcoach``."""
    giver, sep, receiver = scope.partition("_naar_")
    if not sep:
        giver = receiver = ""
    receiving = frozenset({recipient}) if recipient in DEFAULT_CATEGORIES or \
        recipient in CHILDCARE_ROLES else SCOPE_RECIPIENTS.get(receiver, frozenset())
    return SCOPE_RECIPIENTS.get(giver, frozenset()), receiving


def limited_view(roles: frozenset[str]) -> bool:
    """True when the actor's reading is limited to what consent covers (partners)."""
    return group_of(roles) == "partner"


def shared_categories(roles: frozenset[str], consents: Iterable[ConsentFacts]
                      ) -> frozenset[Category]:
    """The categories given consents share with an actor holding ``roles``."""
    found: set[Category] = set()
    for c in consents:
        if c.status != "gegeven":
            continue
        receiving = scope_sides(c.scope, c.recipient)[1] & roles
        if not receiving:
            continue
        listed = {Category(x) for x in c.categories if x in _CATEGORY_VALUES}
        cats = listed or set().union(*(DEFAULT_CATEGORIES.get(r, frozenset()) for r in receiving))
        if not c.medical_explicit:
            cats.discard(Category.MEDISCH)
        found |= cats
    return frozenset(found)


def concerns(roles: frozenset[str], scope: str, recipient: str = "") -> bool:
    """Whether a consent scope is about the actor's role (they give or receive under it)."""
    giving, receiving = scope_sides(scope, recipient)
    return bool((giving | receiving) & roles)


def withheld_note(category: Category | str) -> str:
    """The Dutch sentence a view shows where data was left out."""
    return f"niet gedeeld: geen toestemming voor {category}"
