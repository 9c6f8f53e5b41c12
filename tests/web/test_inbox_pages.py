"""The consultatie inbox page: the wijkcoach sees the anonymous question (never the child) and
answers it once; wrong roles, forged forms and empty answers change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from starlette.testclient import TestClient

from kovflow.services import open_case
from kovflow.services.consultation import ask, for_case
from tests.conftest import World
from tests.web.conftest import csrf_of

QUESTION = "Peuter bijt vaak andere kinderen en ouders willen geen hulp; wat raadt u aan?"
ADVICE = "Bespreek het met de mentor en observeer twee weken; bel mij daarna."


def _question(world: World, to_role: str = "wijkcoach") -> tuple[str, int]:
    case = open_case(world.app, world.coach, first_name="Zwaantje", initial="Q",
                     birth_date=date(2024, 2, 29), location=world.location).case_number
    return case, ask(world.app, world.coach, case, to_role, QUESTION)


def test_the_wijkcoach_reads_the_question_without_the_child_and_answers(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    case, cid = _question(world)
    client = login_as("wijkcoach")
    page = client.get("/consultaties")
    assert page.status_code == 200
    assert QUESTION in page.text and "2-3 jaar" in page.text and "Presikhaaf" in page.text
    for secret in ("Zwaantje", case, "2024", "ZON", "Zonnebloem"):
        assert secret not in page.text
    assert 'for="advies-' in page.text  # the answer field has a label

    done = client.post(f"/consultaties/{cid}/antwoord",
                       data={"advies": ADVICE, "csrf_token": csrf_of(page.text)},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/consultaties"
    after = client.get("/consultaties")
    assert "Uw advies is opgeslagen" in after.text
    assert "Er staan geen open vragen voor u klaar." in after.text and ADVICE in after.text
    (item,) = for_case(world.app, world.coach, case)
    assert item.advice == ADVICE  # the asker has the advice on the case


def test_the_jgz_sees_only_questions_to_the_jgz(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    _question(world, "wijkcoach")
    assert QUESTION not in login_as("jgz").get("/consultaties").text


def test_other_roles_get_the_missing_page(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    _, cid = _question(world)
    for username in ("coach", "pm", "admin"):
        client = login_as(username)
        missing = client.get("/casus/KOV-99999")
        page = client.get("/consultaties")
        assert (page.status_code, page.text) == (404, missing.text)
        token = csrf_of(page.text)  # the logout form of the error page carries the session's token
        posted = client.post(f"/consultaties/{cid}/antwoord",
                             data={"advies": ADVICE, "csrf_token": token})
        assert posted.status_code == 404
    assert QUESTION in login_as("wijkcoach").get("/consultaties").text  # still unanswered


def test_a_forged_form_and_an_empty_answer_change_nothing(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    _, cid = _question(world)
    client = login_as("wijkcoach")
    page = client.get("/consultaties")

    forged = client.post(f"/consultaties/{cid}/antwoord", data={"advies": ADVICE})
    assert forged.status_code == 403
    wrong = client.post(f"/consultaties/{cid}/antwoord",
                        data={"advies": ADVICE, "csrf_token": "niet-de-goede"})
    assert wrong.status_code == 403

    empty = client.post(f"/consultaties/{cid}/antwoord",
                        data={"advies": "   ", "csrf_token": csrf_of(page.text)})
    assert empty.status_code == 400
    assert "advies is leeg" in empty.text and QUESTION in empty.text
    assert 'aria-invalid="true"' in empty.text

    unknown = client.post("/consultaties/99999/antwoord",
                          data={"advies": ADVICE, "csrf_token": csrf_of(page.text)})
    assert unknown.status_code == 404
    assert "Er staan geen open vragen" not in client.get("/consultaties").text  # still open


def test_a_second_answer_is_refused_with_a_reason(
        world: World, login_as: Callable[[str], TestClient]) -> None:
    _, cid = _question(world)
    client = login_as("wijkcoach")
    token = csrf_of(client.get("/consultaties").text)
    first = client.post(f"/consultaties/{cid}/antwoord",
                        data={"advies": ADVICE, "csrf_token": token}, follow_redirects=False)
    assert first.status_code == 303
    again = client.post(f"/consultaties/{cid}/antwoord",
                        data={"advies": "Iets anders", "csrf_token": token})
    assert again.status_code == 400 and "al beantwoord" in again.text
    assert "Iets anders" not in client.get("/consultaties").text
