"""A route as a server-rendered SVG state diagram, the current state highlighted.

No JavaScript and no layout library: states are placed in columns by their distance (in steps)
from the initial state, in file order within a column; steps are arrows between box edges (a step
back to an earlier column bends below the boxes). Steps that stay in their state are not drawn
(the case page lists them as forms). The SVG carries a text alternative (``<title>``) that names
the route and the current state, so the picture is not the only place that says it.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from html import escape

from kovflow.routes.spec import RouteSpec

__all__ = ["route_svg"]

BOX_W, BOX_H = 150, 46
COL_GAP, ROW_GAP = 60, 22
PAD = 14
CURRENT_FILL, CURRENT_STROKE = "#ffd54f", "#7a3e00"
FILL, STROKE, INK, EDGE = "#f3f6f9", "#4a4a4a", "#1b1b1b", "#5a5a5a"


def _columns(spec: RouteSpec) -> dict[str, int]:
    """Column of every state: steps from the initial state (unreachable states go last)."""
    edges: dict[str, list[str]] = {name: [] for name in spec.states}
    for t in spec.transitions:
        for src in t.sources:
            if t.dest and t.dest != src and src in edges:
                edges[src].append(t.dest)
    depth = {spec.initial: 0}
    queue = deque([spec.initial])
    while queue:
        node = queue.popleft()
        for nxt in edges.get(node, []):
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    last = max(depth.values(), default=0) + 1
    return {name: depth.get(name, last) for name in spec.states}


def _lines(label: str, width: int = 18) -> list[str]:
    """Wrap a label into at most two lines of about ``width`` characters."""
    words, lines, current = label.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
        if len(lines[1]) > width + 2:
            lines[1] = lines[1][: width + 1] + "…"
    return lines


@lru_cache(maxsize=512)
def route_svg(spec: RouteSpec, current: str | None = None, closed: bool = False) -> str:
    """The SVG markup of ``spec`` with ``current`` highlighted (cached per spec and state)."""
    cols = _columns(spec)
    rows_in: dict[int, int] = {}
    pos: dict[str, tuple[int, int]] = {}
    for name in spec.states:  # file order within a column
        col = cols[name]
        row = rows_in.get(col, 0)
        rows_in[col] = row + 1
        pos[name] = (PAD + col * (BOX_W + COL_GAP), PAD + row * (BOX_H + ROW_GAP))
    width = PAD * 2 + (max(cols.values(), default=0) + 1) * (BOX_W + COL_GAP) - COL_GAP
    height = PAD * 2 + max(rows_in.values(), default=1) * (BOX_H + ROW_GAP) - ROW_GAP + 30
    here = spec.states.get(current or "")
    title = (f"Route {spec.title}: huidige stand {here.label}" if here is not None
             else f"Route {spec.title}")
    if closed:
        title += " (afgesloten)"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-labelledby="d-{spec.id}-t" '
           f'class="route-diagram">',
           f'<title id="d-{spec.id}-t">{escape(title)}</title>',
           f'<defs><marker id="pijl-{spec.id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/>'
           "</marker></defs>"]
    drawn: set[tuple[str, str]] = set()
    for t in spec.transitions:
        for src in t.sources:
            dest = t.dest
            if not dest or dest == src or (src, dest) in drawn or src not in pos \
                    or dest not in pos:
                continue
            drawn.add((src, dest))
            (x1, y1), (x2, y2) = pos[src], pos[dest]
            sx: float
            sy: float
            ex: float
            ey: float
            if cols[dest] > cols[src]:
                sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
                mx = (sx + ex) / 2
                path = f"M{sx},{sy} C{mx},{sy} {mx},{ey} {ex},{ey}"
            elif cols[dest] == cols[src]:
                sx, sy = x1 + BOX_W, y1 + BOX_H / 2
                ex, ey = x2 + BOX_W, y2 + BOX_H / 2
                path = f"M{sx},{sy} C{sx + 40},{sy} {ex + 40},{ey} {ex},{ey}"
            else:  # back to an earlier column: bend below
                sx, sy = x1 + BOX_W / 2, y1 + BOX_H
                ex, ey = x2 + BOX_W / 2, y2 + BOX_H
                low = max(sy, ey) + 26
                path = f"M{sx},{sy} C{sx},{low} {ex},{low} {ex},{ey}"
            out.append(f'<path d="{path}" fill="none" stroke="{EDGE}" stroke-width="1.5" '
                       f'marker-end="url(#pijl-{spec.id})"/>')
    for name, state in spec.states.items():
        x, y = pos[name]
        is_current = name == current
        fill, stroke = (CURRENT_FILL, CURRENT_STROKE) if is_current else (FILL, STROKE)
        sw = 3 if is_current else 1
        cls = "state current" if is_current else "state"
        out.append(f'<g class="{cls}" data-state="{escape(name)}">')
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>')
        if state.final:
            out.append(f'<rect x="{x + 3}" y="{y + 3}" width="{BOX_W - 6}" height="{BOX_H - 6}" '
                       f'rx="6" fill="none" stroke="{stroke}" stroke-width="1"/>')
        lines = _lines(state.label)
        first_y = y + BOX_H / 2 - (len(lines) - 1) * 8 + 5
        for i, line in enumerate(lines):
            weight = ' font-weight="700"' if is_current else ""
            out.append(f'<text x="{x + BOX_W / 2}" y="{first_y + i * 16}" text-anchor="middle" '
                       f'font-size="13" fill="{INK}"{weight}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
