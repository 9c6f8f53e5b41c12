"""Every (state, trigger) pair of every shipped route, fired through the services.

For each pair an instance is put in the state (``start_route`` with a state) and the trigger is
fired by a user holding an allowed role with valid data generated from the field types. The step
must either succeed (landing where the route file says) or be refused with at least one reason;
a trigger that does not leave from the state must be refused with ``wrong-state`` among its
reasons (the engine lists every unmet condition, so guards may be named too). Nothing crashes
and no transition stays untested.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from kovflow.access.policy import COMPARTMENTS, PARTNER_ROLES
from kovflow.actor import Actor
from kovflow.errors import NotFound, TransitionNotAllowed
from kovflow.routes.catalog import load_catalog
from kovflow.routes.spec import ROLES, FieldSpec, RouteSpec
from kovflow.services import add_location, add_user, fire, open_case, resolve_actor, start_route
from tests.conftest import World, join_team

CATALOG = load_catalog()
ROUTES = CATALOG.latest()
_counter = itertools.count(1)


def sample(f: FieldSpec) -> Any:
    """A valid value for the field's type."""
    if f.type == "date":
        return "2027-03-01"
    if f.type == "datetime":
        return "2027-03-01T10:00"
    if f.type == "enum":
        return f.choices[0]
    if f.type == "bool":
        return "nee"
    if f.type == "int":
        return f.minimum if f.minimum is not None else 1
    if f.type == "person":
        return "u_pm"
    if f.type == "list":
        return "eerste; tweede; derde" if f.items in (None, "text", "person") else "2027-03-01"
    return "Tekst"


def data_for(fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    return {f.name: sample(f) for f in fields}


@pytest.fixture
def actors(world: World) -> dict[str, Actor]:
    for role in ROLES:
        add_user(world.app, world.operator, f"u_{role}", [role], email=f"{role}@example.org",
                 location=world.location)
    return {role: resolve_actor(world.app, f"u_{role}") for role in ROLES}


def _place(world: World, route: RouteSpec, state: str) -> dict[str, str]:
    """A fresh target with an instance of ``route`` standing in ``state``."""
    data = data_for(route.start_fields)
    if route.per == "location":
        code = f"L{next(_counter)}"
        add_location(world.app, world.operator, code, f"Locatie {code}")
        start_route(world.app, world.operator, route.id, location=code, state=state, data=data)
        return {"location": code}
    case = open_case(world.app, world.operator, first_name="Kind", initial="K",
                     birth_date=date(2024, 1, 1), location=world.location, routes=()).case_number
    join_team(world.app, case, *(f"u_{role}" for role in sorted(PARTNER_ROLES)))
    start_route(world.app, world.operator, route.id, case=case, state=state, data=data)
    return {"case": case}


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_every_state_and_trigger_succeeds_or_is_refused_with_reasons(
        world: World, actors: dict[str, Actor], route: RouteSpec) -> None:
    triggers = list(dict.fromkeys(t.trigger for t in route.transitions))
    tried = succeeded = 0
    for state, trigger in itertools.product(route.states, triggers):
        target = _place(world, route, state)
        spec = route.transition(trigger, state) or route.transitions_for(trigger)[0]
        readers = COMPARTMENTS.get(route.id)
        # In a compartment (meldcode) act as someone who may see it: the others get "not found".
        roles = [r for r in spec.roles if readers is None or r in readers] or list(spec.roles)
        role = roles[0] if roles else "coach"
        try:
            result = fire(world.app, actors[role], route.id, trigger,
                          data=data_for(spec.fields), **target)
        except NotFound:
            assert readers is not None and role not in readers, (state, trigger)
        except TransitionNotAllowed as refused:
            assert refused.reasons, (state, trigger)
            assert all(r.code and r.message for r in refused.reasons)
            if route.transition(trigger, state) is None:
                assert "wrong-state" in {r.code for r in refused.reasons}, (state, trigger)
            else:
                codes = {r.code for r in refused.reasons}
                # A valid pair may only be refused by a guard of the route, never by the basics.
                assert not codes & {"wrong-state", "role-not-allowed", "field-missing"}, (
                    state, trigger, codes)
        else:
            assert route.transition(trigger, state) is not None, (state, trigger)
            assert result.to_state == (spec.dest or state)
            succeeded += 1
        tried += 1
    assert tried == len(route.states) * len(triggers)
    assert succeeded > 0  # an engine that refuses everything must not pass
