"""``kovflow demo``: a one-command tour on a fresh SQLite database under ``var/demo``.

It seeds two locations and one user per role, opens a handful of cases and moves them through real
steps (the same services the CLI and web use), shows a refused step with its reasons, and prints
where every case stands. Simulated time moves forward between steps; a rerun starts clean.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.errors import TransitionNotAllowed
from kovflow.services import (
    App,
    add_location,
    add_participant,
    add_user,
    build_app,
    case_overview,
    fire,
    my_tasks,
    open_case,
    record_consent,
    resolve_actor,
)
from kovflow.store.maintenance import verify_events
from kovflow.store.migrate import upgrade

START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
USERS = (
    ("anna", "coach", "Kinderopvang Arnhem"), ("bram", "pm", "Kinderopvang Arnhem"),
    ("carla", "manager", "Kinderopvang Arnhem"), ("dewi", "jgz", "JGZ Gelderland-Midden"),
    ("eva", "wijkcoach", "Gemeente Arnhem"), ("femke", "coordinator", "Gemeente Arnhem"),
    ("gijs", "aandachtsfunctionaris", "Kinderopvang Arnhem"),
)
PLAATS = {"groep": "Bijen", "startdatum": "2026-12-07", "mentor": "bram", "vve_indicatie": "ja",
          "vve_datum": "2026-10-15", "vve_afgever": "JGZ"}


@dataclass
class Tour:
    app: App
    clock: FixedClock
    echo: bool
    people: dict[str, Actor]

    def say(self, text: str = "") -> None:
        if self.echo:
            print(text)

    def later(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    def join(self, case: str, who: str, by: str = "anna") -> None:
        """A partner joins the case: from now on they see it and may act on it."""
        role = sorted(self.people[who].roles)[0]
        add_participant(self.app, self.people[by], case, role, username=who)
        self.say(f"  {who} ({role}) joins the case")

    def step(self, who: str, case: str, route: str, trigger: str, **data: Any) -> None:
        result = fire(self.app, self.people[who], route, trigger, case=case, data=data)
        day = self.clock.now().astimezone(START.tzinfo).date().isoformat()
        started = "".join(f"  (start {r} in {s})" for r, _, s in result.started)
        self.say(f"  {day}  {who:<6} {route}.{trigger}: {result.from_state} -> "
                 f"{result.to_state}{started}")


def _seed(tour: Tour) -> None:
    app, op = tour.app, Actor.installation_operator()
    add_location(app, op, "ZON", "Kinderopvang De Zonnebloem", "Presikhaaf", "Kinderopvang Arnhem")
    add_location(app, op, "REG", "Kinderopvang De Regenboog", "Malburgen", "Kinderopvang Arnhem")
    for username, role, org in USERS:
        add_user(app, op, username, [role], display_name=username.title(),
                 email=f"{username}@demo.kovflow.invalid", organisation=org, location="ZON")
        tour.people[username] = resolve_actor(app, username)


def _open(tour: Tour, name: str, born: date, *routes: str, **facts: bool) -> str:
    opened = open_case(tour.app, tour.people["anna"], first_name=name, initial="D",
                       birth_date=born, location="ZON", routes=routes or ("plaatsing",),
                       facts=facts)
    tour.say(f"\nCase {opened.case_number} opened (routes: "
             f"{', '.join(r for r, _, _ in opened.started)})")
    return opened.case_number


def _scenario_1(tour: Tour) -> str:
    case = _open(tour, "Sam", date(2024, 3, 12))
    tour.step("anna", case, "plaatsing", "plan_intake", intake_datum="2026-11-30")
    tour.later(7)
    tour.step("anna", case, "plaatsing", "plaats", **PLAATS)
    tour.later(5)
    tour.step("bram", case, "wijkcoach", "wijkcoach_nodig")
    tour.later(6)
    tour.step("anna", case, "wijkcoach", "ouders_stemmen_in", datum="2026-12-17", plaats="thuis",
              collega_kinderopvang="bram")
    tour.join(case, "eva")
    tour.later(4)
    tour.step("eva", case, "wijkcoach", "kennismaking_gehouden")
    tour.step("eva", case, "wijkcoach", "plan_eerste_gesprek", datum="2027-01-07")
    tour.later(16)
    tour.step("eva", case, "wijkcoach", "voer_eerste_gesprek", doelen="taal; zindelijkheid",
              acties="ouders: voorlezen", datum_voortgangsgesprek="2027-02-18",
              deelnemers_voortgangsgesprek="ouders; bram; eva")
    return case


def _scenario_2_with_refusal(tour: Tour) -> str:
    case = _open(tour, "Noor", date(2023, 11, 2), "plaatsing", "warme_overdracht_jgz",
                 jgz_zorgen=True)
    tour.join(case, "dewi")
    tour.say("  Placing before the JGZ handover is finished is refused:")
    try:
        fire(tour.app, tour.people["anna"], "plaatsing", "plaats", case=case,
             data={"groep": "Vlinders"})
    except TransitionNotAllowed as refused:
        for reason in refused.reasons:
            tour.say(f"    - {reason.message} [{reason.code}]")
    tour.step("dewi", case, "warme_overdracht_jgz", "vraag_toestemming")
    record_consent(tour.app, tour.people["dewi"], case, "jgz_naar_kinderopvang", "gegeven",
                   form="schriftelijk")
    tour.step("dewi", case, "warme_overdracht_jgz", "plan_gesprek", gesprek_datum="2026-11-27",
              deelnemers="jgz; ouders; coach")
    tour.later(4)
    tour.step("dewi", case, "warme_overdracht_jgz", "voer_gesprek", aandachtspunten="spraak",
              afspraken="logopedie via JGZ")
    tour.step("anna", case, "warme_overdracht_jgz", "rond_af")
    tour.step("anna", case, "plaatsing", "plaats", **{**PLAATS, "groep": "Vlinders"})
    tour.step("anna", case, "wijkcoach", "wijkcoach_betrokken")
    for scope in ("kinderopvang_naar_wijkcoach", "wijkcoach_naar_kinderopvang"):
        record_consent(tour.app, tour.people["anna"], case, scope, "gegeven", form="mondeling")
    tour.step("anna", case, "wijkcoach", "toestemming_gegeven", contactniveau="samenwerking")
    return case


def _scenario_3(tour: Tour) -> str:
    case = _open(tour, "Milan", date(2024, 1, 20))
    tour.step("carla", case, "plaatsing", "plaats", **PLAATS)
    tour.step("anna", case, "wijkcoach", "wijkcoach_nodig")
    tour.later(10)
    tour.step("anna", case, "wijkcoach", "ouders_weigeren")
    tour.step("anna", case, "wijkcoach", "anoniem_overleg", advies="blijf het gesprek aangaan")
    tour.later(5)
    _meldcode(tour, case)
    return case


def _meldcode(tour: Tour, case: str) -> None:
    """Safety concerns in scenario 3: the meldcode up to a report to Veilig Thuis."""
    tour.say("  Safety concerns: the meldcode starts (no consent needed):")
    tour.step("anna", case, "wijkcoach", "veiligheid_in_geding", gestart_door="kinderopvang")
    tour.step("anna", case, "meldcode", "signalen_vastgelegd",
              signalen="blauwe plekken op de armen (bron: mentor)", hypothesen="lichamelijk geweld?")
    tour.later(2)
    tour.step("gijs", case, "meldcode", "consultatie_vastgelegd", geconsulteerd="gijs",
              consultatie_uitkomst="signalen zijn zorgelijk", veilig_thuis_geraadpleegd="ja",
              veilig_thuis_anoniem="ja", veilig_thuis_advies="gesprek met ouders voeren")
    tour.later(3)
    tour.step("anna", case, "meldcode", "gesprek_vastgelegd", gesprek_met_ouders="gevoerd",
              gesprek_datum="2027-01-20", gesprek_verslag="ouders herkennen de zorgen deels")
    tour.step("gijs", case, "meldcode", "weeg", vraag_2_acuut_structureel="ja",
              afweging_toelichting="structurele onveiligheid")
    tour.say("  Afwegingsvraag 2 is ja, so closing without a report is refused:")
    try:
        fire(tour.app, tour.people["gijs"], "meldcode", "sluit_af", case=case, data={})
    except TransitionNotAllowed as refused:
        for reason in refused.reasons:
            tour.say(f"    - {reason.message} [{reason.code}]")
    tour.step("gijs", case, "meldcode", "meld", meld_datum="2027-01-21", ouders_geinformeerd="ja")


def _outflow(tour: Tour) -> str:
    case = _open(tour, "Lina", date(2022, 9, 1))
    tour.step("anna", case, "plaatsing", "plaats", **PLAATS)
    tour.step("bram", case, "wijkcoach", "geen_wijkcoach_nodig")
    tour.later(30)
    tour.step("anna", case, "plaatsing", "stroom_uit", uitstroom_datum="2027-01-29",
              uitstroom_reden="basisonderwijs", passend_geboden="ja")
    return case


def _weeks_pass(tour: Tour, mail: Path, weeks: int) -> None:
    """Simulated weeks: the worker fires due reminders and writes them as .eml files."""
    from kovflow.notify.mailers import make_mailer
    from kovflow.scheduling.worker import run_until

    mailer = make_mailer(tour.app.settings)
    tour.say(f"\n{weeks} simulated weeks pass; the worker sends reminders to {mail}/:")
    for week in range(1, weeks + 1):
        report = run_until(tour.app, mailer, tour.clock.now() + timedelta(weeks=1),
                           step=timedelta(hours=6))
        day = tour.clock.now().astimezone(START.tzinfo).date().isoformat()
        tour.say(f"  week {week} (to {day}): {report.sweep.fired} deadline(s) due, "
                 f"{report.sweep.escalations} escalation(s), {report.digests} digest(s), "
                 f"{report.delivery.sent} mail(s) "
                 f"written; {len(list(mail.glob('*.eml')))} .eml files in all")


def _coordinator_view(tour: Tour) -> dict[str, Any]:
    """The ending: what the coordinator (femke) sees of the simulated period, from route data
    only: the monitor passende kinderopvang and the stalled-case audit (no names anywhere)."""
    from kovflow.reports.monitor import compute_monitor, report_text
    from kovflow.reports.stalled import find_stalled

    femke = tour.people["femke"]
    start, end = START.date(), tour.clock.now().astimezone(START.tzinfo).date()
    report = compute_monitor(tour.app, femke, start, end)
    tour.say(f"\nThe coordinator ({femke.username}) runs the monitor for the simulated period:")
    tour.say(report_text(report))
    stalled = find_stalled(tour.app, femke)
    tour.say(f"\nStalled-case audit ({femke.username}): {len(stalled.findings)} finding(s); "
             f"{stalled.confidential_line}")
    for f in stalled.findings:
        tour.say(f"  {f.severity_label:<6} {f.case_number}  {f.route_title}: {f.state_label} "
                 f"({f.werkdagen} werkdagen) - {f.reason}")
    return {"monitor": report.total.to_dict(), "stalled": len(stalled.findings)}


def run_demo(folder: Path, echo: bool = True) -> dict[str, Any]:
    """Run the tour in ``folder`` (wiped first); return a summary of where each case stands."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    clock = FixedClock(START)
    settings = Settings(database_url=f"sqlite:///{folder / 'kovflow.db'}",
                        mail_folder=folder / "mail")
    app = build_app(settings, clock=clock)
    upgrade(app.engine)
    tour = Tour(app, clock, echo, {})
    _seed(tour)
    tour.say(f"kovflow demo: database {folder / 'kovflow.db'}, simulated start "
             f"{START.date().isoformat()}")
    cases = [_scenario_1(tour), _scenario_2_with_refusal(tour), _scenario_3(tour), _outflow(tour)]
    summary: dict[str, Any] = {"cases": {}}
    tour.say("\nWhere each case stands:")
    for case in cases:
        overview = case_overview(app, tour.people["anna"], case)
        states = {i.route: i.state for i in overview.instances}
        summary["cases"][case] = states
        tour.say(f"  {case}: " + "; ".join(
            f"{i.route} = {i.state_label}{' (afgesloten)' if i.closed else ''}"
            for i in overview.instances))
    for who in ("anna", "eva"):
        tasks = my_tasks(app, tour.people[who])
        summary[f"open_tasks_{who}"] = len(tasks)
        tour.say(f"\nOpen tasks for {who} ({tour.people[who].username}, "
                 f"{', '.join(sorted(tour.people[who].roles))}): {len(tasks)}")
        for t in tasks:
            tour.say(f"  {t['case']}  {t['title']} (uiterlijk {(t['due'] or '-')[:10]})")
    _weeks_pass(tour, folder / "mail", weeks=8)
    summary["mails"] = len(list((folder / "mail").glob("*.eml")))
    count, breaks = verify_events(app.engine)
    summary["events"], summary["chain_breaks"] = count, len(breaks)
    tour.say(f"\nAudit: {count} events, hash chains {'intact' if not breaks else 'BROKEN'}.")
    summary.update(_coordinator_view(tour))
    tour.say(f"Try: .venv/bin/kovflow --db sqlite:///{folder / 'kovflow.db'} --as anna case show "
             f"{cases[0]}")
    app.engine.dispose()
    return summary
