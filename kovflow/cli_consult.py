"""CLI: the anonymous consultation (`kovflow consult ask|inbox|answer|case`).

The asker writes the question; kovflow shows the consulted wijkcoach or JGZ nurse only the age
band and the wijk beside it. The question must not name the child (see ``QUESTION_WARNING``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kovflow.cli import JsonOpt, _actor, _app, _emit, _run, app

consult_app = typer.Typer(no_args_is_help=True,
                          help="Anonymous consultation of the location's wijkcoach or JGZ nurse.")
app.add_typer(consult_app, name="consult")


def _items_text(items: list[Any], empty: str) -> str:
    lines = []
    for i in items:
        status = "beantwoord" if i.answered_at else "open"
        lines.append(f"#{i.id} [{status}] aan {i.to_role}, kind {i.age_band}, wijk {i.wijk or '-'}"
                     f", gevraagd {i.asked_at.isoformat()[:16]}")
        lines.append(f"  vraag: {i.question}")
        if i.answered_at:
            lines.append(f"  advies: {i.advice}")
    return "\n".join(lines) or empty


@consult_app.command("ask")
def consult_ask(
    case: str,
    to: Annotated[str, typer.Option("--to", help="wijkcoach or jgz (of the case's location).")],
    question: Annotated[str, typer.Option(
        "--question", help="The question. Write it WITHOUT the name, birth date or case number "
        "of the child or its parents: the consulted party sees only the age band and the wijk.")],
    as_json: JsonOpt = False,
) -> None:
    """Ask the location's wijkcoach or JGZ nurse anonymously about a case."""

    def work() -> None:
        from kovflow.services.consultation import ask

        kapp = _app()
        cid = ask(kapp, _actor(kapp), case, to, question)
        _emit(as_json, {"id": cid}, lambda: f"anonieme consultatie #{cid} gevraagd aan de {to}")

    _run(as_json, work)


@consult_app.command("inbox")
def consult_inbox(as_json: JsonOpt = False) -> None:
    """Anonymous questions to your role at your location (wijkcoach, jgz)."""

    def work() -> None:
        from kovflow.services.consultation import inbox

        kapp = _app()
        items = inbox(kapp, _actor(kapp))
        _emit(as_json, items, lambda: _items_text(items, "geen consultatievragen"))

    _run(as_json, work)


@consult_app.command("answer")
def consult_answer(
    consultation: int,
    advice: Annotated[str, typer.Option("--advice", help="Your advice to the asker.")],
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from your inbox; the asker reads the advice in the case."""

    def work() -> None:
        from kovflow.services.consultation import answer

        kapp = _app()
        answer(kapp, _actor(kapp), consultation, advice)
        _emit(as_json, {"id": consultation, "answered": True},
              lambda: f"advies op consultatie #{consultation} vastgelegd")

    _run(as_json, work)


@consult_app.command("case")
def consult_case(case: str, as_json: JsonOpt = False) -> None:
    """Your own consultations about a case, with the advice received."""

    def work() -> None:
        from kovflow.services.consultation import for_case

        kapp = _app()
        items = for_case(kapp, _actor(kapp), case)
        _emit(as_json, items, lambda: _items_text(items, "geen eigen consultaties"))

    _run(as_json, work)
