"""CLI: retention and the subject-access export (`kovflow retention run`, `kovflow case export`).

``kovflow retention run [--dry-run]`` removes the cases whose retention term has passed (admin or
operator); ``kovflow retention list`` shows what was removed; ``kovflow case dispute CASE KIND``
records an open (or, with ``--closed``, a settled) bezwaar or klacht, which holds removal;
``kovflow case export CASE --format json|html [--out FILE]`` is the subject-access export.
Output names case numbers, rules and dates, never a child's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kovflow.cli import JsonOpt, _actor, _app, _emit, _run, app, case_app

retention_app = typer.Typer(no_args_is_help=True,
                            help="Retention: remove cases whose retention term has passed.")
app.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")
                       ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove every case whose routes are closed and whose retention term has passed."""

    def work() -> None:
        from kovflow.services.retention import run_retention

        kapp = _app()
        report = run_retention(kapp, _actor(kapp), dry_run=dry_run)
        verb = "te verwijderen" if dry_run else "verwijderd"

        def text() -> str:
            lines = [f"{d.case_number}  regel {d.rule} ({d.term}), termijn verstreken op "
                     f"{d.term_end[:10]}: {verb}" for d in report.removed]
            lines += [f"{d.case_number}  regel {d.rule} ({d.term}), termijn verstreken op "
                      f"{d.term_end[:10]}: bewaard ({d.held})" for d in report.held]
            lines.append(f"{len(report.removed)} casus(sen) {verb}, {len(report.held)} bewaard"
                         + (" (proefdraai: niets gewijzigd)" if dry_run else ""))
            return "\n".join(lines)

        _emit(as_json, report, text)

    _run(as_json, work)


@retention_app.command("list")
def retention_list(as_json: JsonOpt = False) -> None:
    """What retention removed so far: case number, rule, term, moment (no personal data)."""

    def work() -> None:
        from kovflow.services.retention import removal_records

        kapp = _app()
        rows = removal_records(kapp, _actor(kapp))
        _emit(as_json, rows, lambda: "\n".join(
            f"{r['case_number']}  {r['rule']} ({r['term']}), verwijderd {r['removed_at'][:16]} "
            f"door {r['removed_by']}" for r in rows) or "nog niets verwijderd")

    _run(as_json, work)


@case_app.command("dispute")
def case_dispute(
    case: str,
    kind: Annotated[str, typer.Argument(help="bezwaar or klacht")],
    closed: Annotated[bool, typer.Option("--closed", help="The dispute is settled.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record an open bezwaar or klacht about a case (holds its removal), or --closed when settled."""

    def work() -> None:
        from kovflow.services.retention import record_dispute

        kapp = _app()
        record_dispute(kapp, _actor(kapp), case, kind, open_=not closed)
        state = "gesloten" if closed else "open"
        _emit(as_json, {"case": case, "kind": kind, "open": not closed},
              lambda: f"{kind} voor {case}: {state}")

    _run(as_json, work)


@case_app.command("export")
def case_export(
    case: str,
    fmt: Annotated[str, typer.Option("--format", help="json or html")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
) -> None:
    """The subject-access export of a case (AVG art. 15): its data, history, consents, access."""

    def work() -> None:
        from kovflow.errors import InvalidInput
        from kovflow.services.subject_access import FORMATS, export_case, render

        if fmt not in FORMATS:  # checked before anything is read or logged
            raise InvalidInput(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
        if out is not None and not out.parent.is_dir():
            raise InvalidInput(f"--out {out}: folder {out.parent} does not exist")
        kapp = _app()
        text = render(export_case(kapp, _actor(kapp), case), fmt)
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            typer.echo(f"export written to {out}")

    _run(False, work)
