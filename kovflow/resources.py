"""Where the shipped data lives: route files and mail templates.

In a wheel they sit inside the package (``kovflow/_data``); in a source checkout or an editable
install they sit at the top of the repository, where policy officers find them.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    shipped = _PACKAGE / "_data" / name
    if shipped.is_dir():
        return shipped
    return _PACKAGE.parent / name


def workflows_dir() -> Path:
    """The folder with ``<route>/v<N>.toml`` files shipped with kovflow."""
    return _data_dir("workflows")


def notifications_dir() -> Path:
    """The folder with the Jinja2 mail templates shipped with kovflow."""
    return _data_dir("notifications")


def template_names(folder: Path | None = None) -> frozenset[str]:
    """Names of complete templates: both ``<name>.txt`` and ``<name>.html`` exist."""
    folder = folder or notifications_dir()
    if not folder.is_dir():
        return frozenset()
    txt = {p.stem for p in folder.glob("*.txt") if not p.stem.startswith("_")}
    html = {p.stem for p in folder.glob("*.html") if not p.stem.startswith("_")}
    return frozenset(txt & html)
