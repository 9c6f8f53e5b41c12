"""Authorization through the API, driven by the policy table (``kovflow.access.policy.POLICY``).

For every row of the table (relation to the case x role group) one user of the fixture world
stands in that relation to a case; each endpoint must answer what the row grants, and a refusal
must be indistinguishable from a case that does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from kovflow.access.policy import POLICY, Action, Relation, group_of
from kovflow.services import resolve_actor
from kovflow.services.access import relation
from kovflow.store import repo
from tests.api.conftest import Api, assert_problem, open_child_case
from tests.conftest import join_team

# Who stands in which relation to a case the coach opened at ZON (see conftest.USERS).
STANDS_IN: dict[tuple[Relation, str], str] = {
    (Relation.PARTICIPANT, "childcare"): "coach",
    (Relation.PARTICIPANT, "partner"): "wijkcoach",
    (Relation.SAME_LOCATION, "childcare"): "pm",
    (Relation.SAME_LOCATION, "partner"): "jgz",
    (Relation.OTHER, "childcare"): "coach_maan",
    (Relation.OTHER, "partner"): "wijkcoach_maan",
    (Relation.COORDINATOR, "coordinator"): "coordinator",
    (Relation.ADMIN, "admin"): "admin",
}
MISSING = "KOV-99999"


def test_every_row_of_the_policy_table_has_a_user_here() -> None:
    assert set(STANDS_IN) == set(POLICY)


def _like_missing(api: Api, res: Any, user: str, case: str, path: str) -> None:
    """The refusal is the answer for a case that does not exist, word for word."""
    missing = api.call(res.request.method, path.replace(case, MISSING), user,
                       json=_BODIES.get(res.request.method))
    assert_problem(res, 404, "not-found")
    assert res.json() == {**missing.json(), "detail": missing.json()["detail"].replace(
        MISSING, case)}


_BODIES = {"POST": {"scope": "kinderopvang_naar_wijkcoach", "status": "gevraagd"}}


@pytest.mark.parametrize("row", sorted(POLICY, key=str), ids=lambda r: f"{r[0]}-{r[1]}")
def test_each_endpoint_answers_what_the_policy_grants(api: Api, row: tuple[Relation, str]
                                                      ) -> None:
    case = open_child_case(api)
    join_team(api.app, case, "wijkcoach")
    user = STANDS_IN[row]
    actor = resolve_actor(api.app, user)
    with api.app.engine.connect() as conn:  # the fixture world is what the test assumes
        assert relation(conn, actor, repo.case_by_number(conn, case)) == row[0]
    assert group_of(actor.roles) == row[1]
    granted = POLICY[row]
    reads = Action.READ in granted or Action.READ_PSEUDONYMISED in granted

    for path in (f"/cases/{case}", f"/cases/{case}/routes", f"/cases/{case}/history"):
        res = api.get(path, user)
        if reads:
            assert res.status_code == 200, (path, res.text)
        else:
            _like_missing(api, res, user, case, path)
    body = api.get(f"/cases/{case}", user).json()
    if Action.READ_PSEUDONYMISED in granted and Action.READ not in granted:
        assert body["pseudonymised"] is True and body["birth_date"] is None
        assert all(p["who"] == "" for p in body["participants"])
        assert all(e["data"] == {} for e in api.get(f"/cases/{case}/history", user).json())

    res = api.get(f"/cases/{case}/consents", user)
    if Action.READ in granted:
        assert res.status_code == 200
    else:
        _like_missing(api, res, user, case, f"/cases/{case}/consents")

    listed = [c["case_number"] for c in api.get("/cases", user).json()["items"]]
    assert listed == ([case] if reads else [])

    res = api.post(f"/cases/{case}/consents", user, json=_BODIES["POST"])
    if Action.WRITE in granted:
        assert res.status_code == 201, res.text
    else:
        _like_missing(api, res, user, case, f"/cases/{case}/consents")

    path = f"/cases/{case}/routes/plaatsing/fire/plan_intake"
    res = api.post(path, user, headers={"If-Match": "*"},
                   json={"data": {"intake_datum": "2026-11-30"}})
    if Action.WRITE in granted:
        assert res.status_code in (200, 422), res.text  # then the route's roles decide
    else:
        assert_problem(res, 404, "not-found")


def test_a_meldcode_outside_its_compartment_does_not_exist(api: Api) -> None:
    """The pm of the location reads the case, but the meldcode route is not there for them:
    not in the routes, not in the list filter, and a step on it is 'no such route instance'."""
    case = open_child_case(api)
    other = open_child_case(api)
    res = api.post(f"/cases/{case}/routes/meldcode/start", "coach", json={"data": {}})
    assert res.status_code == 201, res.text
    assert "meldcode" in [r["route"] for r in api.get(f"/cases/{case}/routes", "coach").json()]
    assert "meldcode" not in [r["route"] for r in api.get(f"/cases/{case}/routes", "pm").json()]
    assert api.get("/cases?route=meldcode", "pm").json()["items"] == []
    assert "meldcode" not in api.get(f"/cases/{case}/history", "pm").text
    hidden = api.post(f"/cases/{case}/routes/meldcode/fire/x", "pm", headers={"If-Match": "*"},
                      json={"data": {}})
    absent = api.post(f"/cases/{other}/routes/meldcode/fire/x", "pm", headers={"If-Match": "*"},
                      json={"data": {}})
    assert_problem(hidden, 404, "not-found")
    assert hidden.json()["detail"].replace(case, "?") == absent.json()["detail"].replace(other, "?")
