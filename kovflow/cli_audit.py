"""CLI: the stalled-case audit and the rollout tracker (`kovflow audit stalled`, `kovflow rollout`).

Both print a readable table with Dutch column heads, JSON with ``--json``, or write a CSV/XLSX
file (``--format csv|xlsx --out FILE``) with the generation moment in it. The reports themselves
live in ``kovflow.reports``; they are imported inside the commands to keep ``kovflow --help`` fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kovflow.cli import JsonOpt, _actor, _app, _emit, _run, app, audit_app

if TYPE_CHECKING:
    from kovflow.reports.rollout import RolloutRow
    from kovflow.reports.stalled import StalledReport


class OutFormat(StrEnum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"


FormatOpt = Annotated[OutFormat, typer.Option("--format", help="table (screen), csv or xlsx.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="File for --format csv/xlsx.")]

STALLED_HEADINGS = ("Ernst", "Casus", "Locatie", "Wijk", "Organisatie", "Route", "Stand",
                    "Sinds", "Werkdagen", "Rol", "Verantwoordelijke", "Regel", "Reden",
                    "Volgende stap")
ROLLOUT_HEADINGS = ("Locatie", "Naam", "Wijk", "Organisatie", "Stap", "Stand", "Sinds",
                    "Werkdagen", "Te lang open")


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    from kovflow.calendar import AMSTERDAM

    return moment.astimezone(AMSTERDAM).strftime("%Y-%m-%d")


def _table(headings: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: columns as wide as their widest cell."""
    cells = [[str(h) for h in headings]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headings))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _stalled_rows(report: StalledReport) -> list[list[Any]]:
    return [[f.severity_label, f.case_number, f.location, f.wijk, f.organisation,
             f.route_title, f.state_label, _local(f.since), f.werkdagen, f.role,
             f.person_name or f.person, f.rule, f.reason, f.next_step]
            for f in report.findings]


def _write_file(fmt: OutFormat, out: Path | None, title: str, headings: Sequence[str],
                rows: Sequence[Sequence[Any]], generated_at: datetime, period: str | None) -> None:
    from kovflow.errors import InvalidInput
    from kovflow.reports.export import table_bytes

    if out is None:
        raise InvalidInput(f"--format {fmt.value} writes a file: give --out FILE")
    data = table_bytes(fmt.value, title, headings, rows, generated_at, period)  # type: ignore[arg-type]
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"--out {out}: cannot write the file ({exc.strerror})") from None
    typer.echo(f"{len(rows)} regels geschreven naar {out}")


@audit_app.command("stalled")
def audit_stalled(
    location: Annotated[str | None, typer.Option("--location", help="Location code.")] = None,
    wijk: Annotated[str | None, typer.Option("--wijk", help="Wijk.")] = None,
    organisation: Annotated[str | None, typer.Option("--organisation", help="Organisation.")
                            ] = None,
    route: Annotated[str | None, typer.Option("--route", help="Route id.")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Rule code, e.g. taak_over_tijd.")
                    ] = None,
    min_werkdagen: Annotated[int | None, typer.Option(
        "--min-werkdagen", help="Only findings at least this many werkdagen old.")] = None,
    fmt: FormatOpt = OutFormat.table,
    out: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stalled routes: overdue tasks, no progress, passed conversations, undecided consents, ..."""

    def work() -> None:
        from kovflow.reports.stalled import StalledFilters, find_stalled

        kapp = _app()
        filters = StalledFilters(location=location, wijk=wijk, organisation=organisation,
                                 route=route, rule=rule, min_werkdagen=min_werkdagen)
        report = find_stalled(kapp, _actor(kapp), filters)
        if fmt is not OutFormat.table:
            title = "Vastgelopen routes"
            described = filters.describe()
            _write_file(fmt, out, title, STALLED_HEADINGS, _stalled_rows(report),
                        report.generated_at,
                        f"stand op {_local(report.generated_at)}"
                        + (f" ({described})" if described else "")
                        + f"; {report.confidential_line}")
            return
        doc = {"generated_at": report.generated_at.isoformat(), "filters": report.filters,
               "findings": report.findings, "counts": report.counts,
               "confidential": report.confidential}

        def text() -> str:
            if not report.findings:
                body = "geen vastgelopen routes gevonden"
            else:
                body = _table(STALLED_HEADINGS, _stalled_rows(report))
            return f"{body}\n\n{len(report.findings)} signalen; {report.confidential_line}"

        _emit(as_json, doc, text)

    _run(as_json, work)


def _rollout_rows(rows: Sequence[RolloutRow]) -> list[list[Any]]:
    return [[r.location, r.name, r.wijk, r.organisation, "" if r.step is None else r.step,
             r.state_label, _local(r.since), "" if r.werkdagen is None else r.werkdagen,
             "ja" if r.overdue else "nee"] for r in rows]


@app.command("rollout")
def rollout_cmd(fmt: FormatOpt = OutFormat.table, out: OutOpt = None,
                as_json: JsonOpt = False) -> None:
    """Per location: the step of the rollout (locatie_uitrol) and for how many werkdagen."""

    def work() -> None:
        from kovflow.reports.rollout import rollout

        kapp = _app()
        rows = rollout(kapp, _actor(kapp))
        now = kapp.clock.now()
        if fmt is not OutFormat.table:
            _write_file(fmt, out, "Uitrol per locatie", ROLLOUT_HEADINGS, _rollout_rows(rows),
                        now, f"stand op {_local(now)}")
            return
        _emit(as_json, rows, lambda: _table(ROLLOUT_HEADINGS, _rollout_rows(rows))
              if rows else "geen locaties")

    _run(as_json, work)
