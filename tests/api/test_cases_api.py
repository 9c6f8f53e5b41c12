"""The case endpoints through HTTP: opening, reading, steps with If-Match, history, consents,
tasks and the access report, each with its errors as problem details."""

from __future__ import annotations

from typing import Any

import pytest

from kovflow.actor import Actor
from kovflow.services import fire, resolve_actor
from kovflow.services.accounts import revoke_api_token
from tests.api.conftest import CANARY_NAME, Api, assert_problem, open_child_case
from tests.conftest import join_team


def _plaatsing(api: Api, case: str, user: str = "coach") -> dict[str, Any]:
    routes = api.get(f"/cases/{case}/routes", user).json()
    return next(r for r in routes if r["route"] == "plaatsing")


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic Y29hY2g6eA==", "Bearer "])
def test_without_a_valid_token_every_answer_is_401_with_a_bearer_challenge(
        api: Api, header: str | None) -> None:
    case = open_child_case(api)
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/cases", f"/cases/{case}", "/tasks", "/monitor?from=2026-01-01&to=2026-12-31"):
        res = api.get(path, headers=headers)
        assert_problem(res, 401, "unauthenticated")
        assert res.headers["www-authenticate"].startswith("Bearer")
    res = api.post("/cases", headers=headers, json={})
    assert_problem(res, 401, "unauthenticated")  # authentication before validation


def test_a_revoked_token_is_refused_like_an_unknown_one(api: Api) -> None:
    from kovflow.services.accounts import list_api_tokens

    op = Actor.installation_operator()
    assert api.get("/tasks", "pm").status_code == 200
    token_id = next(t["id"] for t in list_api_tokens(api.app, op, "pm"))
    revoke_api_token(api.app, op, token_id)
    res = api.get("/tasks", "pm")
    assert_problem(res, 401, "unauthenticated")
    assert 'error="invalid_token"' in res.headers["www-authenticate"]


# --- cases ---------------------------------------------------------------------------------


def test_open_a_case_then_read_it(api: Api) -> None:
    res = api.post("/cases", "coach", json={
        "first_name": CANARY_NAME, "initial": "J", "birth_date": "2024-05-01", "location": "ZON",
        "routes": ["plaatsing"]})
    assert res.status_code == 201, res.text
    case = res.json()["case_number"]
    assert res.headers["location"].endswith(f"/api/v1/cases/{case}")
    assert [s["route"] for s in res.json()["started"]] == ["plaatsing"]
    res = api.get(f"/cases/{case}", "coach")
    assert res.headers["cache-control"] == "no-store"  # case data stays out of caches
    body = res.json()
    assert body["first_name"] == CANARY_NAME and body["birth_date"] == "2024-05-01"
    assert body["pseudonymised"] is False
    assert [p["role"] for p in body["participants"]] == ["coach"]
    plaatsing = body["routes"][0]
    assert (plaatsing["state"], plaatsing["revision"]) == ("aangemeld", 0)
    assert {"plan_intake", "plaats"} <= {s["trigger"] for s in plaatsing["steps"]}
    assert [t["title"] for t in body["open_tasks"]] == ["Plan de intake of plaats het kind"]


def test_opening_a_case_with_bad_input_is_refused_and_changes_nothing(api: Api) -> None:
    good = {"first_name": "Sam", "initial": "J", "birth_date": "2024-05-01", "location": "ZON"}
    # Schema: a missing and a malformed member; the problem says where, never what was sent.
    res = api.post("/cases", "coach", json={"first_name": CANARY_NAME, "birth_date": "gisteren"})
    body = assert_problem(res, 422, "invalid-request")
    assert {e["location"] for e in body["errors"]} == {"body.birth_date", "body.location"}
    assert "gisteren" not in res.text
    # Service: a birth date in the future, an unknown location, a location route.
    res = api.post("/cases", "coach", json={**good, "birth_date": "2030-01-01"})
    assert "future" in assert_problem(res, 422, "invalid-input")["detail"]
    assert_problem(api.post("/cases", "coach", json={**good, "location": "NERGENS"}), 404,
                   "not-found")
    res = api.post("/cases", "coach", json={**good, "routes": ["locatie_uitrol"]})
    assert_problem(res, 422, "invalid-input")
    # A role that may not start the placement route: refused with its reason.
    body = assert_problem(api.post("/cases", "wijkcoach", json=good), 422, "step-refused")
    assert [r["code"] for r in body["reasons"]] == ["role-not-allowed"]
    assert api.get("/cases", "coach").json()["items"] == []


def test_the_case_list_is_pseudonymous_filtered_and_paged(api: Api) -> None:
    first, second, third = (open_child_case(api) for _ in range(3))
    fire(api.app, resolve_actor(api.app, "coach"), "plaatsing", "plan_intake",
         case=second, data={"intake_datum": "2026-11-30"})
    res = api.get("/cases", "coach")
    assert res.status_code == 200
    assert CANARY_NAME not in res.text  # a list carries no names
    assert [c["case_number"] for c in res.json()["items"]] == [first, second, third]
    found = api.get("/cases?route=plaatsing&state=intake_gepland", "coach").json()["items"]
    assert [c["case_number"] for c in found] == [second]
    page = api.get("/cases?limit=2", "coach").json()
    assert [c["case_number"] for c in page["items"]] == [first, second]
    rest = api.get(f"/cases?limit=2&after={page['next_after']}", "coach").json()
    assert [c["case_number"] for c in rest["items"]] == [third] and rest["next_after"] is None
    # The cursor is compared, not looked up: a number that does not exist pages the same way.
    assert api.get(f"/cases?after={first}", "coach").json() == api.get(
        f"/cases?after={first}5", "coach").json()
    assert api.get("/cases?location=MAAN", "coach").json()["items"] == []
    assert_problem(api.get("/cases?location=NERGENS", "coach"), 400, "invalid-input")
    assert_problem(api.get("/cases?route=onbekend", "coach"), 404, "not-found")
    assert_problem(api.get("/cases?limit=0", "coach"), 422, "invalid-request")


def test_an_unknown_or_malformed_case_number(api: Api) -> None:
    body = assert_problem(api.get("/cases/KOV-99999", "coach"), 404, "not-found")
    assert body["detail"] == "No case 'KOV-99999' was found"
    assert_problem(api.get("/cases/KOV%00X", "coach"), 422, "invalid-request")
    assert_problem(api.get("/cases/KOV-99999/routes/1", "coach"), 404, "not-found")


# --- route instances and steps -------------------------------------------------------------


def test_an_instance_carries_its_revision_as_etag(api: Api) -> None:
    case = open_child_case(api)
    inst = _plaatsing(api, case)
    res = api.get(f"/cases/{case}/routes/{inst['id']}", "coach")
    assert res.status_code == 200 and res.headers["etag"] == '"0"'
    assert res.json() == inst
    assert_problem(api.get(f"/cases/{case}/routes/999999", "coach"), 404, "not-found")


def test_a_step_with_the_current_etag_moves_the_route_and_returns_the_new_etag(api: Api) -> None:
    case = open_child_case(api)
    inst = _plaatsing(api, case)
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/plan_intake", "coach",
                   headers={"If-Match": '"0"'}, json={"data": {"intake_datum": "2026-11-30"}})
    assert res.status_code == 200, res.text
    assert res.headers["etag"] == '"1"'
    assert res.json()["from_state"] == "aangemeld" and res.json()["to_state"] == "intake_gepland"
    assert res.json()["instance_id"] == inst["id"]
    now = api.get(f"/cases/{case}/routes/{inst['id']}", "coach")
    assert now.headers["etag"] == '"1"' and now.json()["state"] == "intake_gepland"


def test_a_step_without_if_match_is_428_with_a_stale_one_412_and_nothing_changes(
        api: Api) -> None:
    case = open_child_case(api)
    path = f"/cases/{case}/routes/plaatsing/fire/plan_intake"
    data = {"data": {"intake_datum": "2026-11-30"}}
    assert_problem(api.post(path, "coach", json=data), 428, "precondition-required")
    # "²" counts as a digit for str.isdigit; sent as Latin-1, the only other header charset.
    for malformed in ("0", '"\u00b2"'.encode("latin-1"), '"1', "revisie"):
        assert_problem(api.post(path, "coach", json=data, headers={"If-Match": malformed}), 400,
                       "bad-precondition")
    assert_problem(api.post(path, "coach", json=data, headers={"If-Match": 'W/"0"'}), 412,
                   "precondition-failed")  # weak tags never match
    assert _plaatsing(api, case)["revision"] == 0
    fire(api.app, resolve_actor(api.app, "coach"), "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-12-01"})  # someone else, meanwhile
    res = api.post(path, "coach", json=data, headers={"If-Match": '"0"'})
    assert_problem(res, 412, "precondition-failed")
    assert res.headers["etag"] == '"1"'
    assert _plaatsing(api, case)["revision"] == 1
    # "*" takes the step on whatever revision is current.
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/plaats", "coach",
                   headers={"If-Match": "*"}, json={"data": {
                       "groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm",
                       "vve_indicatie": "nee"}})
    assert res.status_code == 200, res.text
    assert res.headers["etag"] == '"2"'


def test_a_change_during_the_step_is_409(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer changes the route after the API checked If-Match and before the step runs:
    the service's compare-and-set refuses the step (409) and nothing of it is written."""
    from kovflow.web.api import cases as api_cases

    case = open_child_case(api)
    checked = api_cases.current_instance

    def check_then_someone_else_steps(*args: Any) -> Any:
        view = checked(*args)
        fire(api.app, resolve_actor(api.app, "coach"), "plaatsing", "plan_intake",
             case=case, data={"intake_datum": "2026-12-01"})
        return view

    monkeypatch.setattr(api_cases, "current_instance", check_then_someone_else_steps)
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/annuleer", "coach",
                   headers={"If-Match": '"0"'}, json={"data": {"reden": "verhuisd"}})
    assert "gewijzigd" in assert_problem(res, 409, "conflict")["detail"]
    monkeypatch.setattr(api_cases, "current_instance", checked)
    inst = _plaatsing(api, case)
    assert (inst["state"], inst["revision"]) == ("intake_gepland", 1)


def test_a_refused_step_is_422_with_every_reason(api: Api) -> None:
    case = open_child_case(api)
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/plaats", "pm",
                   headers={"If-Match": '"0"'},
                   json={"data": {"groep": "Bijen", "onbekend": "x"}})
    body = assert_problem(res, 422, "step-refused")
    codes = [r["code"] for r in body["reasons"]]
    assert "role-not-allowed" in codes and "field-unknown" in codes
    assert codes.count("field-missing") == 3  # startdatum, mentor, vve_indicatie
    assert all(r["message"] for r in body["reasons"])
    assert _plaatsing(api, case)["revision"] == 0
    # An unknown trigger, or a route the case does not run: not found, with the steps there are.
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/vlieg", "coach",
                   headers={"If-Match": '"0"'}, json={"data": {}})
    assert "plan_intake" in assert_problem(res, 404, "not-found")["detail"]
    res = api.post(f"/cases/{case}/routes/meldcode/fire/x", "coach",
                   headers={"If-Match": '"0"'}, json={"data": {}})
    assert_problem(res, 404, "not-found")


def test_a_refused_value_is_not_repeated_in_the_problem(api: Api) -> None:
    case = open_child_case(api)
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/plan_intake", "coach",
                   headers={"If-Match": '"0"'}, json={"data": {"intake_datum": CANARY_NAME}})
    assert_problem(res, 422, "step-refused")


def test_a_step_body_with_a_nul_character_is_refused_before_the_database(api: Api) -> None:
    case = open_child_case(api)
    res = api.post(f"/cases/{case}/routes/plaatsing/fire/annuleer", "coach",
                   headers={"If-Match": '"0"'}, json={"data": {"reden": "a\u0000b"}})
    assert_problem(res, 422, "invalid-request")


def test_start_a_route_by_hand(api: Api) -> None:
    case = open_child_case(api)
    res = api.post(f"/cases/{case}/routes/wijkcoach/start", "coach", json={"data": {}})
    assert res.status_code == 201, res.text
    assert res.headers["etag"] == '"0"'
    started = res.json()
    assert started["route"] == "wijkcoach" and started["revision"] == 0
    assert res.headers["location"].endswith(f"/cases/{case}/routes/{started['instance_id']}")
    assert res.headers["location"].startswith("http://testserver/api/v1/")
    assert api.get(res.headers["location"][len("http://testserver/api/v1"):], "coach").json()[
        "state"] == started["to_state"]
    res = api.post(f"/cases/{case}/routes/wijkcoach/start", "coach", json={"data": {}})
    assert "already runs" in assert_problem(res, 422, "invalid-input")["detail"]
    res = api.post(f"/cases/{case}/routes/onbekend/start", "coach", json={"data": {}})
    assert_problem(res, 404, "not-found")
    res = api.post(f"/cases/{case}/routes/wijkcoach/start", "jgz", json={"data": {}})
    assert [r["code"] for r in assert_problem(res, 422, "step-refused")["reasons"]] == [
        "role-not-allowed"]


# --- history, consents, tasks, access report -----------------------------------------------


def test_history_lists_the_audited_events(api: Api) -> None:
    case = open_child_case(api)
    api.post(f"/cases/{case}/routes/plaatsing/fire/plan_intake", "coach",
             headers={"If-Match": '"0"'}, json={"data": {"intake_datum": "2026-11-30"}})
    events = api.get(f"/cases/{case}/history", "coach").json()
    assert [e["kind"] for e in events] == ["case_opened", "start", "transition"]
    step = events[-1]
    assert (step["from"], step["to"], step["trigger"]) == ("aangemeld", "intake_gepland",
                                                          "plan_intake")
    assert step["data"] == {"intake_datum": "2026-11-30"} and step["actor"] == "coach"
    assert_problem(api.get("/cases/KOV-99999/history", "coach"), 404, "not-found")


def test_consents_are_recorded_and_read(api: Api) -> None:
    case = open_child_case(api)
    scope = "kinderopvang_naar_wijkcoach"
    assert api.get(f"/cases/{case}/consents", "coach").json() == []
    res = api.post(f"/cases/{case}/consents", "coach",
                   json={"scope": scope, "status": "gegeven", "form": "schriftelijk"})
    assert res.status_code == 201 and isinstance(res.json()["id"], int)
    [consent] = api.get(f"/cases/{case}/consents", "coach").json()
    assert (consent["scope"], consent["status"], consent["transferred"]) == (scope, "gegeven",
                                                                             False)
    assert consent["betekenis"]
    res = api.post(f"/cases/{case}/consents", "coach",
                   json={"scope": "medisch_delen", "status": "gegeven", "categories": ["medisch"]})
    assert "explicit" in assert_problem(res, 422, "invalid-input")["detail"]
    res = api.post(f"/cases/{case}/consents", "coach", json={"scope": scope, "status": "misschien"})
    assert_problem(res, 422, "invalid-request")
    res = api.post(f"/cases/{case}/consents", "coach",
                   json={"scope": "andere_scope", "status": "ingetrokken"})
    assert_problem(res, 422, "invalid-input")


def test_tasks_of_the_actor(api: Api) -> None:
    case = open_child_case(api)
    tasks = api.get("/tasks", "coach").json()
    assert [(t["case"], t["route"], t["role"]) for t in tasks] == [(case, "plaatsing", "coach")]
    assert api.get("/tasks", "coach_maan").json() == []
    assert api.get("/tasks", "wijkcoach").json() == []  # a partner outside the case


def test_the_access_report_is_for_functioneel_beheer(api: Api) -> None:
    case = open_child_case(api)
    api.get(f"/cases/{case}", "coach")
    api.get(f"/cases/{case}", "coach_maan")  # refused, and logged as such
    records = api.get(f"/cases/{case}/access-report", "admin").json()
    assert [(r["actor"], r["outcome"]) for r in records][-2:] == [("coach", "allowed"),
                                                                  ("coach_maan", "refused")]
    assert all(r["zin"] for r in records)
    assert_problem(api.get(f"/cases/{case}/access-report", "coach"), 400, "invalid-input")
    assert_problem(api.get("/cases/KOV-99999/access-report", "admin"), 404, "not-found")


def test_a_partner_joins_and_then_sees_the_case(api: Api) -> None:
    case = open_child_case(api)
    assert_problem(api.get(f"/cases/{case}", "wijkcoach"), 404, "not-found")
    join_team(api.app, case, "wijkcoach")
    body = api.get(f"/cases/{case}", "wijkcoach").json()
    # Without the parents' consent the partner's view withholds the child's data, and says so.
    assert body["pseudonymised"] is False and body["first_name"] == ""
    assert any("niet gedeeld" in line for line in body["withheld"])
