"""A plain (non-editable) install ships the route files and the mail templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_workflows_and_notifications_and_finds_them(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("kovflow-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped_routes = sorted(p.relative_to(ROOT / "workflows").as_posix()
                            for p in (ROOT / "workflows").glob("*/*.toml"))
    assert shipped_routes
    for route in shipped_routes:
        assert f"kovflow/_data/workflows/{route}" in names
    for template in (ROOT / "notifications").iterdir():
        assert f"kovflow/_data/notifications/{template.name}" in names
    assert "kovflow/store/migrations/versions/0001_initial_schema.py" in names
    # The web pages' templates and static files, and the export's template, travel as package data.
    for folder in ("kovflow/web/templates", "kovflow/web/static", "kovflow/exports"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert path.relative_to(ROOT).as_posix() in names

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True)
    probe = ("import kovflow.resources as r, kovflow.routes.catalog as c;"
             "print(r.workflows_dir()); print(len(c.load_catalog().routes))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, cwd=tmp_path, env={"PYTHONPATH": str(site)}).stdout.split()
    assert out[0] == str(site / "kovflow" / "_data" / "workflows")
    assert int(out[1]) == len(shipped_routes)
