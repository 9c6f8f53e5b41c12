"""The consultatie inbox of the wijkcoach and the JGZ nurse: anonymous questions and the answer form.

A professional asks the location's wijkcoach or JGZ nurse a question about a child without the
child (``kovflow.services.consultation``); this page shows the consulted party only what the
service gives: the age band, the wijk, the question and when it was asked, and lets them answer
once. The page is for the consulted roles; anyone else gets the same 404 as a missing page, and
an answer to a question outside one's inbox is refused by the service in the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kovflow.actor import Actor
from kovflow.errors import InvalidInput, NotFound
from kovflow.services import App
from kovflow.web.deps import current_actor, kapp, redirect, render, require_csrf

router = APIRouter()

CONSULTED_ROLES = frozenset({"wijkcoach", "jgz"})


def _require_consulted(actor: Actor, path: str) -> None:
    if not actor.roles & CONSULTED_ROLES:
        raise NotFound("page", path)


def _page(request: Request, app: App, actor: Actor, *, status_code: int = 200,
          error_for: int | None = None, error: str = "", draft: str = "") -> Response:
    from kovflow.services.consultation import inbox

    items = inbox(app, actor)  # the service picks the actor's questions and logs the read
    open_items = [i for i in items if i.answered_at is None]
    answered = [i for i in items if i.answered_at is not None]
    return render(request, "inbox.html", status_code=status_code, open_items=open_items,
                  answered=answered, error_for=error_for, error=error, draft=draft)


@router.get("/consultaties")
def inbox_page(request: Request, actor: Annotated[Actor, Depends(current_actor)],
               app: Annotated[App, Depends(kapp)]) -> Response:
    _require_consulted(actor, request.url.path)
    return _page(request, app, actor)


@router.post("/consultaties/{consultation_id}/antwoord", dependencies=[Depends(require_csrf)])
async def answer_question(request: Request, consultation_id: int,
                          actor: Annotated[Actor, Depends(current_actor)],
                          app: Annotated[App, Depends(kapp)]) -> Response:
    from kovflow.services.consultation import answer

    _require_consulted(actor, request.url.path)
    form = await request.form()
    advice = form.get("advies")
    text = advice if isinstance(advice, str) else ""
    try:
        answer(app, actor, consultation_id, text)
    except InvalidInput as exc:
        # Nothing was stored: show the inbox again with the reason next to the form and the
        # typed advice kept.
        return _page(request, app, actor, status_code=400, error_for=consultation_id,
                     error=str(exc), draft=text)
    return redirect("/consultaties", flash="Uw advies is opgeslagen. De vrager krijgt bericht.")
