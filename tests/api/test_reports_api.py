"""The coordinator's reports, the consultations and the API's own documents through HTTP."""

from __future__ import annotations

from datetime import timedelta

from kovflow.clock import FixedClock
from kovflow.services import fire, resolve_actor
from tests.api.conftest import CANARY_NAME, Api, assert_problem, open_child_case


def test_the_stalled_case_audit_for_the_coordinator(api: Api) -> None:
    case = open_child_case(api)
    clock = api.app.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(days=60))  # the coach's task ("plan de intake") is long overdue
    res = api.get("/audit/stalled", "coordinator")
    assert res.status_code == 200, res.text
    report = res.json()
    assert case in [f["case_number"] for f in report["findings"]]
    assert CANARY_NAME not in res.text
    finding = next(f for f in report["findings"] if f["case_number"] == case)
    assert finding["location"] == "ZON" and finding["werkdagen"] > 0 and finding["next_step"]
    filtered = api.get("/audit/stalled?location=MAAN", "coordinator").json()
    assert filtered["findings"] == []
    assert_problem(api.get("/audit/stalled?rule=onbekend", "coordinator"), 400, "invalid-input")
    assert_problem(api.get("/audit/stalled?min_werkdagen=-1", "coordinator"), 422,
                   "invalid-request")
    assert_problem(api.get("/audit/stalled", "coach"), 403, "forbidden")


def test_the_monitor_for_a_period(api: Api) -> None:
    case = open_child_case(api)
    fire(api.app, resolve_actor(api.app, "coach"), "plaatsing", "plaats", case=case, data={
        "groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"})
    res = api.get("/monitor?from=2026-01-01&to=2026-12-31&by=location", "coordinator")
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["total"]["trajecten"] == 1
    groups = {g["key"]: g["figures"]["trajecten"] for g in report["groups"]}
    assert groups == {"MAAN": 0, "ZON": 1}
    assert report["previous"] is None
    compared = api.get("/monitor?from=2026-01-01&to=2026-12-31&compare_from=2025-01-01"
                       "&compare_to=2025-12-31", "admin").json()
    assert compared["previous"]["total"]["trajecten"] == 0 and compared["changes"]
    assert_problem(api.get("/monitor?from=2026-12-31&to=2026-01-01", "coordinator"), 400,
                   "invalid-input")
    assert_problem(api.get("/monitor?from=2026-01-01&to=2026-12-31&compare_from=2025-01-01",
                           "coordinator"), 400, "invalid-input")
    assert_problem(api.get("/monitor?from=2026-01-01", "coordinator"), 422, "invalid-request")
    assert_problem(api.get("/monitor?from=2026-01-01&to=2026-12-31&by=straat", "coordinator"),
                   422, "invalid-request")
    assert_problem(api.get("/monitor?from=2026-01-01&to=2026-12-31", "coach"), 403, "forbidden")


def test_an_anonymous_consultation_round_trip(api: Api) -> None:
    case = open_child_case(api)
    res = api.post(f"/cases/{case}/consultations", "coach",
                   json={"to_role": "wijkcoach", "question": "Hoe bespreek ik zorgen over taal?"})
    assert res.status_code == 201, res.text
    cid = res.json()["id"]
    inbox = api.get("/consultations", "wijkcoach")
    assert [q["id"] for q in inbox.json()] == [cid]
    assert case not in inbox.text and CANARY_NAME not in inbox.text
    assert inbox.json()[0]["age_band"] == "2-3 jaar"
    assert api.get("/consultations", "wijkcoach_maan").json() == []  # another location
    assert_problem(api.post(f"/consultations/{cid}/answer", "wijkcoach_maan",
                            json={"advice": "x"}), 404, "not-found")
    res = api.post(f"/consultations/{cid}/answer", "wijkcoach",
                   json={"advice": "Vraag de logopedist mee te kijken."})
    assert res.status_code == 204, res.text
    assert_problem(api.post(f"/consultations/{cid}/answer", "wijkcoach", json={"advice": "x"}),
                   422, "invalid-input")  # answered already
    [mine] = api.get(f"/cases/{case}/consultations", "coach").json()
    assert mine["advice"] == "Vraag de logopedist mee te kijken."
    assert api.get(f"/cases/{case}/consultations", "pm").json() == []  # the asker's only
    # A question naming the child is refused without repeating the name.
    res = api.post(f"/cases/{case}/consultations", "coach",
                   json={"to_role": "jgz", "question": f"Wat doen we met {CANARY_NAME}?"})
    assert_problem(res, 422, "invalid-input")
    assert_problem(api.post(f"/cases/{case}/consultations", "coach_maan",
                            json={"to_role": "jgz", "question": "Vraag"}), 404, "not-found")


def test_the_openapi_document_and_the_docs_page_are_served_by_kovflow(api: Api) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    fire_op = doc["paths"]["/cases/{case_number}/routes/{route}/fire/{trigger}"]["post"]
    assert {"200", "404", "409", "412", "422", "428"} <= set(fire_op["responses"])
    assert "application/problem+json" in fire_op["responses"]["412"]["content"]
    assert {p["name"].lower() for p in fire_op["parameters"]} >= {"if-match", "instance"}
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "POST /cases/{case_number}/routes/{route}/fire/{trigger}" in page.text
    assert "<script" not in page.text and "https://" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert api.get("/redoc").status_code == 404
