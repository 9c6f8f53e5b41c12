"""Bulk-built SQLite benchmark databases: kovflow's own migrations, then rows by executemany.

The report and page benchmarks need 100,000 to 1,000,000 cases; building them through the
services would take hours, so the rows are generated and inserted directly into a schema that
kovflow's migrations made (the indexes are the real ones).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def migrate(url: str) -> None:
    """Bring the database at ``url`` to kovflow's newest schema."""
    from kovflow.store.db import make_engine
    from kovflow.store.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def build_sqlite(path: Path, rows: Mapping[str, Iterable[Sequence[Any]]],
                 columns: Mapping[str, str]) -> None:
    """Write ``path``: migrated, then ``rows`` per table (``columns``: "a, b, c"), analysed.

    Built under a temporary name and renamed at the end, so a broken build is never cached.
    """
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    migrate(f"sqlite:///{tmp}")
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA synchronous=OFF")  # a benchmark file: rebuilt, never recovered
    for table, values in rows.items():
        cols = columns[table]
        marks = ", ".join("?" for _ in cols.split(","))
        conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    tmp.rename(path)
