"""The access policy table itself: every role x relation x action, and the compartments."""

from __future__ import annotations

import itertools

import pytest

from kovflow.access.policy import (
    CHILDCARE_ROLES,
    PARTNER_ROLES,
    Action,
    Relation,
    allowed,
    sees_route,
)
from kovflow.routes.spec import ROLES

# The expectations, written out independently of POLICY: who may read, write and search.
FULL = {Action.READ, Action.READ_PSEUDONYMISED, Action.WRITE, Action.SEARCH}


def expected(relation: Relation, role: str) -> set[Action]:
    if role in CHILDCARE_ROLES and relation in (Relation.PARTICIPANT, Relation.SAME_LOCATION):
        return FULL
    if role in PARTNER_ROLES and relation is Relation.PARTICIPANT:
        return FULL
    if role == "coordinator" and relation is Relation.COORDINATOR:
        return {Action.READ_PSEUDONYMISED}
    return set()


@pytest.mark.parametrize(("relation", "role"), list(itertools.product(Relation, ROLES)),
                         ids=[f"{r.value}-{role}" for r, role in itertools.product(Relation, ROLES)])
def test_policy_table_has_no_deviation(relation: Relation, role: str) -> None:
    granted = {a for a in Action if allowed(relation, frozenset({role}), a)}
    assert granted == expected(relation, role)


def test_coordinator_never_reads_names_and_admin_never_reads_content() -> None:
    for relation in Relation:
        assert not allowed(relation, frozenset({"coordinator"}), Action.READ)
        assert not allowed(relation, frozenset({"admin"}), Action.READ)


@pytest.mark.parametrize("role", ROLES)
def test_meldcode_compartment(role: str) -> None:
    visible = sees_route("meldcode", frozenset({role}), "iemand")
    assert visible == (role in {"aandachtsfunctionaris", "coach", "manager"})
    assert sees_route("meldcode", frozenset({role}), "melder", initiator="melder")


@pytest.mark.parametrize("role", ROLES)
def test_meldcode_medewerker_compartment_and_exclusion(role: str) -> None:
    assert sees_route("meldcode_medewerker", frozenset({role}), "x") == (
        role in {"houder", "aandachtsfunctionaris"})
    assert not sees_route("meldcode_medewerker", frozenset({"houder"}), "betrokkene",
                          excluded=frozenset({"betrokkene"}))


def test_other_routes_are_not_compartments() -> None:
    assert sees_route("plaatsing", frozenset({"wijkcoach"}), "w")
