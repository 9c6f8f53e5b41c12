"""The ``kovflow`` command line (Typer). Commands translate; the services decide.

Global options: ``--config``, ``--db``, ``--now`` (simulated time) and ``--as`` (the acting user;
without it the installation's operator acts, audited as ``operator``). Every command has
``--json``. Exit codes: 0 ok, 2 usage, 3 refused step, 4 not found, 5 conflict, 6 database down.
Heavy modules are imported inside the commands so that ``kovflow --help`` starts fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from kovflow.actor import Actor
    from kovflow.services import App

# Plain help (no rich formatting) keeps `kovflow --help` fast: rich alone costs ~140 ms to import.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="kovflow: routes of passende kinderopvang as checked, audited steps.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
users_app = typer.Typer(no_args_is_help=True, help="User accounts.")
locations_app = typer.Typer(no_args_is_help=True, help="Childcare locations.")
routes_app = typer.Typer(no_args_is_help=True, help="Route files: list, show, check, graph.")
case_app = typer.Typer(no_args_is_help=True, help="Cases: open, show, fire a step, history.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit: verify the event history.")
outbox_app = typer.Typer(no_args_is_help=True, help="Outgoing mail: list, retry dead letters.")
for sub, name in ((db_app, "db"), (users_app, "users"), (locations_app, "locations"),
                  (routes_app, "routes"), (case_app, "case"), (audit_app, "audit"),
                  (outbox_app, "outbox")):
    app.add_typer(sub, name=name)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@dataclass
class Globals:
    config: Path | None = None
    db: str | None = None
    now: str | None = None
    as_user: str | None = None


G = Globals()


@app.callback()
def _globals(
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (overrides config).")] = None,
    now: Annotated[str | None, typer.Option("--now", help="Simulated moment, ISO-8601.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user.")] = None,
) -> None:
    G.config, G.db, G.now, G.as_user = config, db, now, as_user


def _app() -> App:
    from kovflow.clock import FixedClock, parse_moment
    from kovflow.config import load_settings
    from kovflow.errors import InvalidInput
    from kovflow.services import build_app

    settings = load_settings(G.config)
    clock = None
    if G.now:
        try:
            clock = FixedClock(parse_moment(G.now))
        except ValueError as exc:
            raise InvalidInput(f"--now: {exc}") from None
    return build_app(settings, clock=clock, database_url=G.db)


def _actor(kapp: App) -> Actor:
    from kovflow.services import resolve_actor

    return resolve_actor(kapp, G.as_user)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _emit(as_json: bool, value: Any, text: Callable[[], str]) -> None:
    if as_json:
        typer.echo(json.dumps(_plain(value), ensure_ascii=False, indent=2))
    else:
        typer.echo(text())


def _run(as_json: bool, work: Callable[[], None]) -> None:
    """Run a command body, turning kovflow errors into a message and an exit code."""
    from kovflow.errors import KovflowError, TransitionNotAllowed

    try:
        work()
    except KovflowError as exc:
        reasons = getattr(exc, "reasons", None)
        if as_json:
            doc: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
            if reasons is not None:
                doc["reasons"] = [{"code": r.code, "message": r.message} for r in reasons]
            typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        elif isinstance(exc, TransitionNotAllowed):
            typer.echo(f"Geweigerd: stap '{exc.trigger}' in route '{exc.route}' kan niet:", err=True)
            for r in exc.reasons:
                typer.echo(f"  - {r.message} [{r.code}]", err=True)
        else:
            typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    from kovflow.errors import InvalidInput

    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{option} {item!r}: write NAME=VALUE")
        out[key.strip()] = value
    return out


# --- db, users, locations --------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Create or upgrade the database schema to the newest migration."""

    def work() -> None:
        from kovflow.store.db import check_reachable
        from kovflow.store.migrate import upgrade

        kapp = _app()
        check_reachable(kapp.engine)
        upgrade(kapp.engine)
        _emit(as_json, {"status": "ok"}, lambda: "database is up to date")

    _run(as_json, work)


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="Role; repeat for several.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    email: Annotated[str, typer.Option(help="E-mail address for notifications.")] = "",
    organisation: Annotated[str, typer.Option("--org", help="Organisation.")] = "",
    location: Annotated[str | None, typer.Option(help="Location code.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user account."""

    def work() -> None:
        from kovflow.services import add_user

        kapp = _app()
        uid = add_user(kapp, _actor(kapp), username, role, name, email, organisation, location)
        _emit(as_json, {"id": uid, "username": username}, lambda: f"user {username} added")

    _run(as_json, work)


@locations_app.command("add")
def locations_add(
    code: str,
    name: Annotated[str, typer.Option(help="Name of the location.")],
    wijk: Annotated[str, typer.Option(help="Wijk (district).")] = "",
    organisation: Annotated[str, typer.Option("--org", help="Childcare organisation.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register a childcare location."""

    def work() -> None:
        from kovflow.services import add_location

        kapp = _app()
        lid = add_location(kapp, _actor(kapp), code, name, wijk, organisation)
        _emit(as_json, {"id": lid, "code": code}, lambda: f"location {code} added")

    _run(as_json, work)


# --- routes ----------------------------------------------------------------------------------

def _catalog() -> Any:
    from kovflow.config import load_settings
    from kovflow.routes.catalog import load_catalog

    settings = load_settings(G.config)
    return load_catalog(settings.workflows_dir, overrides=settings.route_settings)


@routes_app.command("list")
def routes_list(as_json: JsonOpt = False) -> None:
    """List the routes (newest version of each)."""

    def work() -> None:
        routes = [{"id": r.id, "version": r.version, "title": r.title, "per": r.per,
                   "states": len(r.states), "transitions": len(r.transitions)}
                  for r in _catalog().latest()]
        _emit(as_json, routes, lambda: "\n".join(
            f"{r['id']:<24} v{r['version']}  {r['title']}" for r in routes))

    _run(as_json, work)


@routes_app.command("check")
def routes_check(
    folder: Annotated[Path | None, typer.Argument(help="Route folder (default: shipped).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every route file; report every problem with file, key path, code and hint."""

    def work() -> None:
        from kovflow.config import load_settings
        from kovflow.resources import template_names, workflows_dir
        from kovflow.routes.catalog import check_folder

        settings = load_settings(G.config)
        target = folder or settings.workflows_dir or workflows_dir()
        catalog, problems = check_folder(target, template_names(), settings.route_settings)
        doc = {"folder": str(target), "routes": len(catalog.routes),
               "problems": [asdict(p) for p in problems]}
        _emit(as_json, doc, lambda: "\n".join([str(p) for p in problems] + [
            f"{len(catalog.routes)} route file(s) checked, {len(problems)} problem(s)"]))
        if problems:
            raise typer.Exit(2)

    _run(as_json, work)


@routes_app.command("show")
def routes_show(route: str, version: Annotated[int | None, typer.Option()] = None,
                as_json: JsonOpt = False) -> None:
    """Show a route's states and transitions."""

    def work() -> None:
        from kovflow.routes.describe import describe

        spec = _catalog().get(route, version)
        doc = describe(spec)
        _emit(as_json, doc, lambda: _route_text(doc))

    _run(as_json, work)


def _route_text(doc: dict[str, Any]) -> str:
    lines = [f"{doc['id']} v{doc['version']}: {doc['title']}", "", "States:"]
    for s in doc["states"]:
        extra = " (final)" if s["final"] else ""
        task = f"  task for {s['task']['role']}: {s['task']['title']}" if s["task"] else ""
        lines.append(f"  {s['name']:<28} {s['label']}{extra}{task}")
    lines += ["", "Transitions:"]
    for t in doc["transitions"]:
        to = t["to"] or "(blijft)"
        lines.append(f"  {t['trigger']:<28} {'|'.join(t['from'])} -> {to} "
                     f"[{', '.join(t['roles']) or 'iedereen'}]")
    return "\n".join(lines)


@routes_app.command("graph")
def routes_graph(route: str, case: Annotated[str | None, typer.Option(
        help="Highlight the state of this case's instance.")] = None,
                 as_json: JsonOpt = False) -> None:
    """Print the route as a Mermaid state diagram."""

    def work() -> None:
        from kovflow.routes.describe import mermaid

        current = None
        if case:
            from kovflow.services import case_overview

            kapp = _app()
            overview = case_overview(kapp, _actor(kapp), case)
            views = [i for i in overview.instances if i.route == route]
            if not views:
                from kovflow.errors import NotFound

                raise NotFound("route instance", f"{route} on {case}")
            spec = kapp.catalog.get(route, views[-1].version)
            current = views[-1].state
        else:
            spec = _catalog().get(route)
        text = mermaid(spec, current)
        _emit(as_json, {"route": route, "current": current, "mermaid": text}, lambda: text)

    _run(as_json, work)


@routes_app.command("docs")
def routes_docs(
    out: Annotated[Path, typer.Option("--out", help="Folder for the pages.")] = Path("docs/routes"),
    check: Annotated[bool, typer.Option("--check", help="Fail when the pages are out of date.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate docs/routes/<route>.md (Mermaid diagram, states and transitions tables)."""

    def work() -> None:
        from kovflow.routes.docs import render_all

        pages = render_all(_catalog().latest())
        stale = sorted(name for name, text in pages.items()
                       if not (out / name).is_file()
                       or (out / name).read_text(encoding="utf-8") != text)
        extra = sorted(p.name for p in out.glob("*.md") if p.name not in pages) \
            if out.is_dir() else []
        if not check:
            out.mkdir(parents=True, exist_ok=True)
            for name in stale:
                (out / name).write_text(pages[name], encoding="utf-8")
            for name in extra:
                (out / name).unlink()
        doc = {"folder": str(out), "pages": len(pages), "stale": stale, "extra": extra}
        verb = "out of date" if check else "written"
        _emit(as_json, doc, lambda: f"{len(stale)} of {len(pages)} page(s) {verb} in {out}"
              + (f"; stale: {', '.join(stale + extra)}" if check and (stale or extra) else ""))
        if check and (stale or extra):
            raise typer.Exit(1)

    _run(as_json, work)


@routes_app.command("migrate")
def routes_migrate(
    route: str,
    from_version: Annotated[int, typer.Option("--from")],
    to_version: Annotated[int, typer.Option("--to")],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move running instances to another version where their state exists there."""

    def work() -> None:
        from kovflow.services import migrate_route

        kapp = _app()
        report = migrate_route(kapp, _actor(kapp), route, from_version, to_version, dry_run)
        _emit(as_json, report, lambda: "\n".join(
            [f"{'would move' if dry_run else 'moved'} {len(report.moved)} instance(s) of "
             f"{route} v{from_version} -> v{to_version}"]
            + [f"  left on v{from_version}: instance {i} in state {s!r} (not in v{to_version})"
               for i, s in report.left]))

    _run(as_json, work)


# --- cases -----------------------------------------------------------------------------------

@case_app.command("open")
def case_open(
    first_name: Annotated[str, typer.Option("--first-name")],
    birth_date: Annotated[str, typer.Option("--birth-date", help="YYYY-MM-DD")],
    location: Annotated[str, typer.Option(help="Location code.")],
    initial: Annotated[str, typer.Option(help="Initial of the family name.")] = "",
    route: Annotated[list[str] | None, typer.Option("--route", help="Route(s) to start.")] = None,
    fact: Annotated[list[str] | None, typer.Option("--fact", help="NAME=ja|nee at referral.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a case for one child and start its routes (default: plaatsing)."""

    def work() -> None:
        from kovflow.errors import InvalidInput
        from kovflow.routes.fields import parse_bool
        from kovflow.services import open_case

        try:
            born = date.fromisoformat(birth_date)
        except ValueError:
            raise InvalidInput(f"--birth-date {birth_date!r} is not a date (YYYY-MM-DD)") from None
        try:
            facts = {k: parse_bool(v) for k, v in _pairs(fact, "--fact").items()}
        except ValueError as exc:
            raise InvalidInput(f"--fact: {exc}; write NAME=ja or NAME=nee") from None
        kapp = _app()
        opened = open_case(kapp, _actor(kapp), first_name=first_name, initial=initial,
                           birth_date=born, location=location,
                           routes=tuple(route or ("plaatsing",)), facts=facts)
        _emit(as_json, opened, lambda: f"case {opened.case_number} opened; started: "
              + ", ".join(f"{r} ({s})" for r, _, s in opened.started))

    _run(as_json, work)


@case_app.command("show")
def case_show(case: str, as_json: JsonOpt = False) -> None:
    """Show a case: participants, routes with their state and next steps, open tasks."""

    def work() -> None:
        from kovflow.services import case_overview

        kapp = _app()
        ov = case_overview(kapp, _actor(kapp), case)
        _emit(as_json, ov, lambda: _case_text(ov))

    _run(as_json, work)


def _case_text(ov: Any) -> str:
    lines = [f"Casus {ov.case_number} ({ov.location})", "Gezichten rond dit kind:"]
    lines += [f"  {who} ({role}, {org or '-'})" for who, role, org in ov.participants] or ["  -"]
    lines.append("Routes:")
    for i in ov.instances:
        status = "afgesloten" if i.closed else "loopt"
        lines.append(f"  {i.route} v{i.version} [{status}] staat op: {i.state_label} "
                     f"(revisie {i.revision})")
        for trigger, label in i.steps:
            lines.append(f"      volgende stap: {trigger} ({label})")
    lines.append("Open taken:")
    lines += [f"  {role}: {title} (uiterlijk {due or '-'})" for role, title, due in ov.open_tasks] \
        or ["  -"]
    lines += [f"  {note}" for note in ov.withheld]
    if ov.consultations:
        lines.append("Mijn anonieme consultaties:")
        lines += [f"  #{c.id} aan {c.to_role}: {c.question}\n    advies: {c.advice or '(nog geen)'}"
                  for c in ov.consultations]
    return "\n".join(lines)


@case_app.command("fire")
def case_fire(
    case: str,
    route: str,
    trigger: str,
    field: Annotated[list[str] | None, typer.Option("--set", help="Data field NAME=VALUE.")] = None,
    revision: Annotated[int | None, typer.Option(help="The revision you saw (conflict check).")] = None,
    instance: Annotated[int | None, typer.Option(help="Instance id when a route runs twice.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a step on a case's route (a location route: pass the location code as CASE)."""

    def work() -> None:
        from kovflow.services import fire

        kapp = _app()
        spec = kapp.catalog.get(route)
        target = {"location": case} if spec.per == "location" else {"case": case}
        result = fire(kapp, _actor(kapp), route, trigger, data=_pairs(field, "--set"),
                      expected_revision=revision, instance_id=instance, **target)
        _emit(as_json, result, lambda: f"{route}: {result.from_state} -> {result.to_state} "
              f"(revisie {result.revision})" + "".join(
                  f"\n  gestart: {r} ({s})" for r, _, s in result.started) + "".join(
                  f"\n  afgesloten: {r}" for r, _ in result.closed))

    _run(as_json, work)


@case_app.command("start")
def case_start(
    case: str,
    route: str,
    state: Annotated[str | None, typer.Option(help="Start in this state.")] = None,
    field: Annotated[list[str] | None, typer.Option("--set", help="Data field NAME=VALUE.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a route on a case (or a location route on a location code)."""

    def work() -> None:
        from kovflow.services import start_route

        kapp = _app()
        spec = kapp.catalog.get(route)
        target = {"location": case} if spec.per == "location" else {"case": case}
        result = start_route(kapp, _actor(kapp), route, state=state,
                             data=_pairs(field, "--set"), **target)
        _emit(as_json, result, lambda: f"{route} gestart op {result.to_state}")

    _run(as_json, work)


@case_app.command("history")
def case_history(case: str, as_json: JsonOpt = False) -> None:
    """The case's audited events, oldest first."""

    def work() -> None:
        from kovflow.services import history

        kapp = _app()
        rows = history(kapp, _actor(kapp), case)
        _emit(as_json, rows, lambda: "\n".join(
            f"{r['seq']:>3} {r['at'][:16]} {r['actor']:<12} {r['kind']:<18} {r['route']} "
            f"{r['trigger']} {r['from']}->{r['to']}".rstrip() for r in rows))

    _run(as_json, work)


@case_app.command("participant")
def case_participant(
    case: str,
    role: str,
    user: Annotated[str | None, typer.Option(help="Username of the participant.")] = None,
    name: Annotated[str, typer.Option(help="Name of a person without an account.")] = "",
    organisation: Annotated[str, typer.Option("--org")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add a participant (a face around the child) to a case."""

    def work() -> None:
        from kovflow.services import add_participant

        kapp = _app()
        pid = add_participant(kapp, _actor(kapp), case, role, username=user, name=name,
                              organisation=organisation)
        _emit(as_json, {"id": pid}, lambda: f"participant added to {case} as {role}")

    _run(as_json, work)


@case_app.command("consent")
def case_consent(
    case: str,
    scope: str,
    status: str,
    purpose: Annotated[str, typer.Option()] = "",
    form: Annotated[str, typer.Option(help="schriftelijk or mondeling")] = "",
    category: Annotated[list[str] | None, typer.Option(
        help="Data category the consent covers (repeatable): personalia, plaatsing, "
             "ontwikkeling, gezin, medisch. None: the recipient's defaults (never medisch).")] = None,
    recipient: Annotated[str, typer.Option(help="Who receives, e.g. an organisation.")] = "",
    medical_explicit: Annotated[bool, typer.Option(
        "--medical-explicit", help="The parents explicitly consented to medical data.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record consent for a scope: gevraagd, gegeven, geweigerd or ingetrokken."""

    def work() -> None:
        from kovflow.services import record_consent

        kapp = _app()
        cid = record_consent(kapp, _actor(kapp), case, scope, status, purpose=purpose, form=form,
                             categories=tuple(category or ()), recipient=recipient,
                             medical_explicit=medical_explicit)
        _emit(as_json, {"id": cid}, lambda: f"consent {scope}: {status}")

    _run(as_json, work)


@case_app.command("consents")
def case_consents(case: str, as_json: JsonOpt = False) -> None:
    """The current consent per scope and what it means for sharing."""

    def work() -> None:
        from kovflow.services import consents_of

        kapp = _app()
        rows = consents_of(kapp, _actor(kapp), case)
        _emit(as_json, rows, lambda: "\n".join(
            f"{r['scope']:<32} {r['status']:<12} {r['betekenis']}" for r in rows)
            or "geen toestemmingen vastgelegd")

    _run(as_json, work)


@case_app.command("transfer")
def case_transfer(case: str, scope: str, as_json: JsonOpt = False) -> None:
    """Record that data under a given consent was shared with its recipient now."""

    def work() -> None:
        from kovflow.services import mark_transferred

        kapp = _app()
        mark_transferred(kapp, _actor(kapp), case, scope)
        _emit(as_json, {"scope": scope, "transferred": True},
              lambda: f"overdracht onder toestemming {scope} vastgelegd")

    _run(as_json, work)


@app.command("tasks")
def tasks_cmd(as_json: JsonOpt = False) -> None:
    """Open tasks of the acting user (--as), oldest due first."""

    def work() -> None:
        from kovflow.services import my_tasks

        kapp = _app()
        rows = my_tasks(kapp, _actor(kapp))
        _emit(as_json, rows, lambda: "\n".join(
            f"{(r['due'] or '')[:10]:<10}  {r['case'] or '-':<10} {r['route']:<22} {r['title']}"
            for r in rows) or "geen open taken")

    _run(as_json, work)


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
) -> None:
    """Export the heads of the event chains and the access log, to keep outside the database."""

    def work() -> None:
        import json as _json

        from kovflow.store.maintenance import chain_heads

        text = _json.dumps(chain_heads(_app().engine), indent=2, sort_keys=True)
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            typer.echo(f"anchor written to {out}")

    _run(False, work)


@audit_app.command("access-report")
def audit_access_report(case: str, as_json: JsonOpt = False) -> None:
    """Who looked at or changed this case and when, in plain Dutch (for the parents)."""

    def work() -> None:
        from kovflow.services.access_report import access_report

        kapp = _app()
        rows = access_report(kapp, _actor(kapp), case)
        _emit(as_json, rows, lambda: "\n".join(r["zin"] for r in rows) or "geen inzage")

    _run(as_json, work)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[Path | None, typer.Option("--anchor", help="An exported anchor file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the hash chains of the events and the access log; exit 1 on any tampering."""

    def work() -> None:
        import json as _json

        from kovflow.errors import InvalidInput
        from kovflow.store.maintenance import (
            verify_access_log,
            verify_against_anchor,
            verify_events,
        )

        engine = _app().engine
        count, breaks = verify_events(engine)
        access_count, access_breaks = verify_access_log(engine)
        breaks += access_breaks
        if anchor is not None:
            try:
                exported = _json.loads(anchor.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidInput(f"--anchor {anchor}: not a readable anchor file ({exc})") from None
            breaks += verify_against_anchor(engine, exported)
        _emit(as_json, {"events": count, "access_records": access_count, "breaks": breaks},
              lambda: "\n".join([f"{b.chain} record {b.seq}: {b.problem}" for b in breaks]
                                + [f"{count} events and {access_count} access records checked, "
                                   f"{len(breaks)} problem(s)"]))
        if breaks:
            raise typer.Exit(1)

    _run(as_json, work)


@app.command("worker")
def worker_cmd(
    until: Annotated[str | None, typer.Option(
        "--until", help="Simulated time: run ticks up to this moment (ISO-8601), then stop.")] = None,
    tick: Annotated[int, typer.Option(
        "--tick", min=1, help="Seconds between ticks in real time (not with --until).")] = 60,
    step: Annotated[float, typer.Option(
        "--step", min=0.01, help="With --until: simulated hours per tick.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Sweep due deadlines and deliver the outbox: every --tick seconds, or up to --until."""

    def work() -> None:
        from kovflow.notify.mailers import make_mailer

        kapp = _app()
        mailer = make_mailer(kapp.settings)
        try:
            _worker(kapp, mailer)
        finally:
            kapp.engine.dispose()  # return pooled connections (PostgreSQL keeps them open)

    def _worker(kapp: App, mailer: Any) -> None:
        from datetime import timedelta

        from kovflow.clock import FixedClock, SystemClock, parse_moment
        from kovflow.errors import InvalidInput
        from kovflow.scheduling.worker import run_forever, run_until

        if until is None:
            run_forever(kapp, mailer, tick_seconds=tick)
            return
        try:
            end = parse_moment(until)
        except ValueError as exc:
            raise InvalidInput(f"--until: {exc}") from None
        if not isinstance(kapp.clock, FixedClock):  # no --now: simulated time starts now
            kapp.clock = FixedClock(SystemClock().now())
        report = run_until(kapp, mailer, end, step=timedelta(hours=step))
        _emit(as_json, report, lambda: (
            f"{report.ticks} ticks to {end.isoformat()}: {report.sweep.fired} deadlines fired, "
            f"{report.sweep.escalations} escalations, {report.digests} digests; mail: "
            f"{report.delivery.sent} sent, {report.delivery.retried} to retry, "
            f"{report.delivery.dead} dead" + (f"; idle {report.idle} (another worker holds the "
                                               "lease)" if report.idle else "")))

    _run(as_json, work)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(
        "--status", help="pending, sending, sent, dead or no_recipient (default: all).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The newest outgoing messages with their delivery state (no message content)."""

    def work() -> None:
        from kovflow.services.mail import outbox

        kapp = _app()
        rows = outbox(kapp, _actor(kapp), status, limit)
        _emit(as_json, rows, lambda: "\n".join(
            f"{r.id:>6} {r.status:<12} {r.attempts:>2}x {r.template:<12} {r.to_address or '-':<30}"
            f" {r.last_error[:60]}" for r in rows) or "no messages")

    _run(as_json, work)


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox ids; none: every dead letter.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Put dead letters back in the queue (after fixing the address or the relay)."""

    def work() -> None:
        from kovflow.services.mail import requeue

        kapp = _app()
        count = requeue(kapp, _actor(kapp), ids)
        _emit(as_json, {"requeued": count}, lambda: f"{count} message(s) back in the queue")

    _run(as_json, work)


@app.command("demo")
def demo_cmd(
    folder: Annotated[Path, typer.Option(help="Where the demo writes everything.")] = Path("var/demo"),
    serve: Annotated[bool, typer.Option(
        "--serve", help="After the tour, serve the demo database (with the worker) until Ctrl-C.")
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="With --serve: port.")] = 8000,
    as_json: JsonOpt = False,
) -> None:
    """A tour: a fresh database under var/demo, cases moved through real steps."""

    def work() -> None:
        from kovflow.demo import run_demo

        run_demo(folder, echo=not as_json)
        if serve:
            _serve_demo(folder, host, port)

    _run(as_json, work)


DEMO_PASSWORD = "kovflow-demo-2026"  # a demo on loopback only; never a real installation


def _serve_demo(folder: Path, host: str, port: int) -> None:
    """Give every demo user a password, print the logins, serve with the worker until Ctrl-C.

    The clock goes on from the tour's last simulated moment in real time, so the tasks, the
    deadlines and the stalled list look as they did at the end of the tour.
    """
    from kovflow.actor import Actor
    from kovflow.cli_web import ShiftedClock, serve_app
    from kovflow.config import Settings
    from kovflow.demo import USERS
    from kovflow.services import add_user, build_app
    from kovflow.services.accounts import set_password
    from kovflow.store import repo
    from kovflow.store.db import read

    settings = Settings(database_url=f"sqlite:///{folder / 'kovflow.db'}",
                        mail_folder=folder / "mail", base_url=f"http://{host}:{port}")
    kapp = build_app(settings)
    with read(kapp.engine) as conn:
        last = max((e.at for e in repo.chain_events(conn)), default=kapp.clock.now())
    kapp.clock = ShiftedClock(last)
    op = Actor.installation_operator()
    users = [*USERS, ("hanna", "admin", "Gemeente Arnhem")]
    add_user(kapp, op, "hanna", ["admin"], display_name="Hanna",
             email="hanna@demo.kovflow.invalid", organisation="Gemeente Arnhem")
    for username, _role, _org in users:
        set_password(kapp, op, username, DEMO_PASSWORD)
    typer.echo(f"\nkovflow serves the demo at http://{host}:{port}/ (with the worker; "
               "Ctrl-C stops). Log in as:")
    for username, role, _org in users:
        typer.echo(f"  {role:<22} {username:<6} wachtwoord {DEMO_PASSWORD}")
    serve_app(kapp, host, port, with_worker=True)


# Commands of later features live in modules of their own and register on the groups above; they
# are imported last because they use this module's groups and helpers (_app, _actor, _emit, _run).
from kovflow import (  # noqa: E402
    cli_accounts,
    cli_audit,
    cli_consult,
    cli_monitor,
    cli_retention,
    cli_web,
)

_REGISTERED = (cli_accounts, cli_audit, cli_consult, cli_monitor, cli_retention, cli_web)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
