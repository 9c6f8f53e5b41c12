"""Route versions: instances stay pinned; migration moves what fits and lists the rest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kovflow.errors import TransitionNotAllowed
from kovflow.resources import template_names
from kovflow.routes.catalog import load_catalog
from kovflow.services import App, fire, migrate_route, open_case
from kovflow.store import repo
from tests.conftest import World

V1 = """
id = "proef"
version = 1
title = "Proefroute"
initial = "open"
starters = ["coach"]
[states.open]
label = "Open"
[states.wacht]
label = "Wacht"
[states.klaar]
label = "Klaar"
final = true
[[transitions]]
trigger = "wacht_af"
from = ["open"]
to = "wacht"
[[transitions]]
trigger = "rond_af"
from = ["open", "wacht"]
to = "klaar"
"""

# v2 drops 'wacht' and adds a review step before 'klaar'.
V2 = """
id = "proef"
version = 2
title = "Proefroute"
initial = "open"
starters = ["coach"]
[states.open]
label = "Open"
[states.review]
label = "Review"
[states.klaar]
label = "Klaar"
final = true
[[transitions]]
trigger = "review"
from = ["open"]
to = "review"
[[transitions]]
trigger = "rond_af"
from = ["review"]
to = "klaar"
"""


def _write(folder: Path, version: int, text: str) -> None:
    (folder / "proef").mkdir(parents=True, exist_ok=True)
    (folder / "proef" / f"v{version}.toml").write_text(text, encoding="utf-8")


def _with_catalog(world: World, folder: Path) -> App:
    world.app.catalog = load_catalog(folder, template_names())
    return world.app


def _instance(world: World, case: str) -> object:
    with world.app.engine.connect() as conn:
        return repo.case_instances(conn, repo.case_by_number(conn, case).id)[0]


def _open(world: World) -> str:
    return open_case(world.app, world.coach, first_name="Sam", initial="J",
                     birth_date=date(2024, 5, 1), location=world.location,
                     routes=("proef",)).case_number


def test_running_instances_stay_on_their_version(world: World, tmp_path: Path) -> None:
    _write(tmp_path, 1, V1)
    app = _with_catalog(world, tmp_path)
    old = _open(world)
    _write(tmp_path, 2, V2)
    _with_catalog(world, tmp_path)
    new = _open(world)
    assert _instance(world, old).route_version == 1  # type: ignore[attr-defined]
    assert _instance(world, new).route_version == 2  # type: ignore[attr-defined]
    # The v1 case still follows v1: 'wacht_af' exists there, 'review' does not.
    assert fire(app, world.coach, "proef", "wacht_af", case=old).to_state == "wacht"
    with pytest.raises(TransitionNotAllowed):
        fire(app, world.coach, "proef", "rond_af", case=new)  # v2 needs review first
    assert fire(app, world.coach, "proef", "review", case=new).to_state == "review"


def test_migration_moves_instances_whose_state_exists_and_lists_the_others(
        world: World, tmp_path: Path) -> None:
    _write(tmp_path, 1, V1)
    app = _with_catalog(world, tmp_path)
    stays_open, waiting = _open(world), _open(world)
    fire(app, world.coach, "proef", "wacht_af", case=waiting)
    _write(tmp_path, 2, V2)
    _with_catalog(world, tmp_path)
    dry = migrate_route(app, world.admin, "proef", 1, 2, dry_run=True)
    assert _instance(world, stays_open).route_version == 1  # type: ignore[attr-defined]
    report = migrate_route(app, world.admin, "proef", 1, 2)
    assert report.moved == dry.moved == (_instance(world, stays_open).id,)  # type: ignore[attr-defined]
    assert report.left == ((_instance(world, waiting).id, "wacht"),)  # type: ignore[attr-defined]
    assert _instance(world, stays_open).route_version == 2  # type: ignore[attr-defined]
    assert _instance(world, waiting).route_version == 1  # type: ignore[attr-defined]
    assert fire(app, world.coach, "proef", "review", case=stays_open).to_state == "review"
