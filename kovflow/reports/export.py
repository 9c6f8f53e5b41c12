"""Tables to files: CSV and XLSX with Dutch headings, the period and the generation time.

Every export of the coordinator's reports goes through ``write_table`` so that the files look
alike: a title line, the period and the generation moment first, then the headings and rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

Format = Literal["csv", "xlsx"]


def _preamble(title: str, period: str | None, generated_at: datetime) -> list[list[str]]:
    lines = [[title]]
    if period:
        lines.append(["Periode", period])
    lines.append(["Gegenereerd op", generated_at.isoformat(timespec="seconds")])
    lines.append([])
    return lines


def table_bytes(fmt: Format, title: str, headings: Sequence[str], rows: Sequence[Sequence[Any]],
                generated_at: datetime, period: str | None = None) -> bytes:
    """The table as a CSV (UTF-8 with BOM, ``;`` as Dutch spreadsheets expect) or XLSX file."""
    preamble = _preamble(title, period, generated_at)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        writer.writerows(preamble)
        writer.writerow(list(headings))
        writer.writerows([["" if v is None else v for v in row] for row in rows])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = title[:31]
        for line in preamble:
            ws.append(line)
        ws.append(list(headings))
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_xlsx_value(v) for v in row])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise ValueError(f"unknown export format {fmt!r}: use csv or xlsx")


def _xlsx_value(value: Any) -> Any:
    # openpyxl refuses aware datetimes; spreadsheets show local wall time without a zone.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value
