"""The catalog: every loaded route version, and the one place that loads and checks them.

Old versions stay in the catalog while instances are pinned to them; new instances start on the
newest version of a route.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kovflow.errors import NotFound, Problem, RouteDefinitionError
from kovflow.resources import template_names, workflows_dir
from kovflow.routes.checks import check_cross_routes, check_route
from kovflow.routes.loader import parse_route, route_files
from kovflow.routes.spec import RouteSpec


@dataclass(frozen=True)
class Catalog:
    """Route versions by ``(id, version)``."""

    routes: dict[tuple[str, int], RouteSpec]

    def get(self, route_id: str, version: int | None = None) -> RouteSpec:
        """The route version asked for, or the newest when ``version`` is None."""
        if version is None:
            versions = [v for (rid, v) in self.routes if rid == route_id]
            if not versions:
                raise NotFound("route", route_id)
            version = max(versions)
        try:
            return self.routes[(route_id, version)]
        except KeyError:
            raise NotFound("route version", f"{route_id} v{version}") from None

    def latest(self) -> list[RouteSpec]:
        """The newest version of every route, by id."""
        ids = sorted({rid for rid, _ in self.routes})
        return [self.get(rid) for rid in ids]

    def __iter__(self) -> Iterator[RouteSpec]:
        return iter(sorted(self.routes.values(), key=lambda r: r.key))

    def __contains__(self, route_id: object) -> bool:
        return any(rid == route_id for rid, _ in self.routes)


def check_folder(folder: Path, templates: frozenset[str] | None = None,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None
                 ) -> tuple[Catalog, list[Problem]]:
    """Parse and check every route file in ``folder``; return what parsed and all problems.

    ``overrides`` maps a route id to this installation's values for its ``[params]``.
    """
    overrides = overrides or {}
    problems: list[Problem] = []
    routes: dict[tuple[str, int], RouteSpec] = {}
    if not folder.is_dir():
        return Catalog({}), [Problem("unreadable", str(folder), "", "route folder does not exist")]
    for file in route_files(folder):
        spec, found = parse_route(file, overrides=overrides.get(file.parent.name, {}))
        problems.extend(found)
        if spec is None:
            continue
        problems.extend(check_route(spec, templates))
        if spec.key in routes:
            problems.append(Problem("duplicate-route", str(file), "version",
                                    f"{spec.id} v{spec.version} is also defined in "
                                    f"{routes[spec.key].file}"))
        routes[spec.key] = spec
    problems.extend(check_cross_routes(routes.values()))
    return Catalog(routes), problems


def load_catalog(folder: Path | None = None, templates: Iterable[str] | None = None,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Catalog:
    """Load the catalog, refusing it as a whole when any file has a problem."""
    folder = folder or workflows_dir()
    names = frozenset(templates) if templates is not None else template_names()
    catalog, problems = check_folder(folder, names, overrides)
    unknown = sorted(set(overrides or {}) - {rid for rid, _ in catalog.routes})
    problems += [Problem("unknown-route", "configuration", f"routes.settings.{rid}",
                         f"configuration sets parameters for route {rid!r}, which does not exist")
                 for rid in unknown]
    if problems:
        raise RouteDefinitionError(problems)
    return catalog
