"""Mijn taken (``/``, also ``/taken``, where the mails link): the open tasks of the user and
their roles, overdue first.

Due moments read in werkdagen (``kovflow.web.dutch``). The location filter is a GET form, so a
filtered list can be bookmarked; a location code is not personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from kovflow.actor import Actor
from kovflow.services import App
from kovflow.web.deps import current_actor, kapp, render
from kovflow.web.dutch import due_phrase

router = APIRouter()


def task_rows(app: App, actor: Actor, location: str = "") -> tuple[list[dict[str, Any]],
                                                                   list[str]]:
    """The rows of Mijn taken (sorted: overdue, today, later, no term) and the locations seen."""
    from kovflow.services import my_tasks

    now = app.clock.now()
    titles = {spec.id: spec.title for spec in app.catalog.latest()}
    rows = []
    locations: set[str] = set()
    for t in my_tasks(app, actor):
        due = datetime.fromisoformat(t["due"]) if t["due"] else None
        loc = str(t.get("location") or "")
        if loc:
            locations.add(loc)
        if location and loc != location:
            continue
        rows.append({**t, "location": loc, "due_at": due,
                     "route_title": titles.get(t["route"], t["route"]),
                     "phrase": due_phrase(due, now, app.calendar)})
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (r["phrase"].rank, r["due_at"] or far, r["task"]))
    return rows, sorted(locations)


@router.get("/")
@router.get("/taken")  # the link in every notification mail (kovflow.notify.render.link_for)
def tasks_page(request: Request, actor: Annotated[Actor, Depends(current_actor)],
               app: Annotated[App, Depends(kapp)]) -> Response:
    if actor.user_id is None:  # cannot happen for a logged-in user; keeps the types honest
        return render(request, "tasks.html", rows=[], locations=[], location="")
    location = request.query_params.get("locatie", "").strip()
    rows, locations = task_rows(app, actor, location)
    return render(request, "tasks.html", rows=rows, locations=locations, location=location)
