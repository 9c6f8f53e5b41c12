"""Settings from a TOML file and ``KOVFLOW_*`` environment variables, built by a function.

``config.example.toml`` documents every key. Nothing is read at import time; the entry points call
``load_settings`` once and pass the result down.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kovflow.calendar import closing_days_from_config
from kovflow.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///var/kovflow.db"


@dataclass(frozen=True)
class Settings:
    """Everything an installation can set."""

    database_url: str = DEFAULT_DATABASE_URL
    workflows_dir: Path | None = None
    case_prefix: str = "KOV"
    base_url: str = "http://127.0.0.1:8000"
    mail_backend: str = "file"
    mail_folder: Path = Path("var/mail")
    mail_from: str = "kovflow@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_username: str = ""  # the password only comes from KOVFLOW_SMTP_PASSWORD
    extra_closed_days: frozenset[date] = frozenset()
    route_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Raw tables of the feature sections ([auth], [retention], [audit]); each feature reads and
    # checks its own table (``feature_section``), so that its keys are documented beside it.
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


FEATURE_SECTIONS = ("auth", "retention", "audit")


def feature_section(settings: Settings, name: str, known: set[str]) -> Mapping[str, Any]:
    """The raw ``[name]`` table; unknown keys are a ``ConfigError`` naming the known ones."""
    values = settings.sections.get(name, {})
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))} in [{name}]; "
                          f"known: {', '.join(sorted(known))}")
    return values


_KNOWN = {
    "database": {"url"},
    "routes": {"folder", "settings"},
    "cases": {"number_prefix"},
    "web": {"base_url"},
    "mail": {"backend", "folder", "from", "host", "port", "starttls", "tls", "username"},
    "calendar": {"extra_closed_days"},
}


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (optional) and apply environment overrides; refuse unknown keys."""
    env = os.environ if env is None else env
    doc: dict[str, Any] = {}
    if path is not None:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    for section, values in doc.items():
        if section in FEATURE_SECTIONS and isinstance(values, dict):
            continue
        if section not in _KNOWN or not isinstance(values, dict):
            raise ConfigError(f"{path}: unknown section [{section}]; known: "
                              f"{', '.join([*_KNOWN, *FEATURE_SECTIONS])}")
        unknown = set(values) - _KNOWN[section]
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} in "
                              f"[{section}]; known: {', '.join(sorted(_KNOWN[section]))}")
    db, routes, mail = doc.get("database", {}), doc.get("routes", {}), doc.get("mail", {})
    try:
        closed = closing_days_from_config(doc.get("calendar", {}).get("extra_closed_days", []))
    except ValueError as exc:
        raise ConfigError(f"{path}: [calendar] extra_closed_days: {exc}") from None
    folder = env.get("KOVFLOW_WORKFLOWS_DIR") or routes.get("folder") or None
    return Settings(
        database_url=env.get("KOVFLOW_DATABASE_URL") or db.get("url") or DEFAULT_DATABASE_URL,
        workflows_dir=Path(folder) if folder else None,
        case_prefix=doc.get("cases", {}).get("number_prefix", "KOV"),
        base_url=doc.get("web", {}).get("base_url", "http://127.0.0.1:8000"),
        mail_backend=mail.get("backend", "file"),
        mail_folder=Path(mail.get("folder", "var/mail")),
        mail_from=mail.get("from", "kovflow@localhost"),
        smtp_host=mail.get("host", "localhost"),
        smtp_port=int(mail.get("port", 25)),
        smtp_starttls=bool(mail.get("starttls", False)),
        smtp_tls=bool(mail.get("tls", False)),
        smtp_username=mail.get("username", ""),
        extra_closed_days=closed,
        route_settings=routes.get("settings", {}),
        sections={name: doc[name] for name in FEATURE_SECTIONS if doc.get(name)},
    )
