"""CLI: the monitor passende kinderopvang (`kovflow monitor`).

Table (default), JSON, CSV or XLSX (``--format``, ``--out``) and SVG charts (``--charts DIR``).
The report module is imported inside the command: ``kovflow --help`` stays fast.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from kovflow.cli import JsonOpt, _actor, _app, _emit, _run, app

_FORMATS = ("table", "csv", "xlsx")


def _day(value: str | None, option: str) -> date | None:
    from kovflow.errors import InvalidInput

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r}: give a date as YYYY-MM-DD") from None


@app.command("monitor")
def monitor_cmd(
    date_from: Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")],
    date_to: Annotated[str, typer.Option("--to", help="Last day of the period (inclusive).")],
    by: Annotated[str | None, typer.Option("--by", help="Group by location, wijk or organisation."
                                           )] = None,
    compare_from: Annotated[str | None, typer.Option(
        "--compare-from", help="First day of the period to compare with.")] = None,
    compare_to: Annotated[str | None, typer.Option(
        "--compare-to", help="Last day of the period to compare with.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or xlsx (csv/xlsx need --out)."
                                     )] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="File for csv or xlsx.")] = None,
    charts: Annotated[Path | None, typer.Option(
        "--charts", help="Folder to write the SVG charts (disciplines, uitstroom) to.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The monitor passende kinderopvang over a period, from the route data (coordinator)."""

    def work() -> None:
        from kovflow.errors import InvalidInput
        from kovflow.reports.monitor import compute_monitor, report_text

        start, end = _day(date_from, "--from"), _day(date_to, "--to")
        assert start is not None and end is not None
        c_start, c_end = _day(compare_from, "--compare-from"), _day(compare_to, "--compare-to")
        if (c_start is None) != (c_end is None):
            raise InvalidInput("give both --compare-from and --compare-to, or neither")
        if fmt not in _FORMATS:
            raise InvalidInput(f"--format {fmt!r}: use table, csv or xlsx")
        if fmt != "table" and out is None:
            raise InvalidInput(f"--format {fmt} writes a file: add --out FILE")
        compare = (c_start, c_end) if c_start is not None and c_end is not None else None
        kapp = _app()
        try:
            report = compute_monitor(kapp, _actor(kapp), start, end, by=by, compare=compare)
        finally:
            kapp.engine.dispose()  # close the pool now, not when the process ends
        written: list[str] = []
        if fmt != "table" and out is not None:
            try:
                out.write_bytes(_export(report, fmt))
            except OSError as exc:
                raise InvalidInput(f"--out {out}: cannot write the file ({exc.strerror})"
                                   ) from None
            written.append(str(out))
        if charts is not None:
            written += _write_charts(report, charts)
        doc: dict[str, Any] = report.to_dict()
        if written:
            doc["files"] = written
        _emit(as_json, doc, lambda: report_text(report) + "".join(
            f"\nGeschreven: {w}" for w in written))

    _run(as_json, work)


def _export(report: Any, fmt: str) -> bytes:
    from kovflow.reports.export import table_bytes
    from kovflow.reports.monitor import report_rows

    headings, rows = report_rows(report)
    period = report.period
    if report.previous is not None:
        period += f" (vergeleken met {report.previous.period})"
    return table_bytes(fmt, "Monitor passende kinderopvang",  # type: ignore[arg-type]
                       headings, rows, report.generated_at, period)


def _write_charts(report: Any, folder: Path) -> list[str]:
    from kovflow.errors import InvalidInput
    from kovflow.reports.charts import monitor_charts

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"--charts {folder}: cannot create the folder ({exc.strerror})"
                           ) from None
    written = []
    for name, svg in monitor_charts(report).items():
        path = folder / name
        path.write_text(svg, encoding="utf-8")
        written.append(str(path))
    return written
