"""Readable views of a route: a plain dict (for JSON and pages) and a Mermaid state diagram."""

from __future__ import annotations

from typing import Any

from kovflow.routes.spec import RouteSpec


def describe(spec: RouteSpec) -> dict[str, Any]:
    """The route as plain data: states (who acts, deadlines) and transitions (who, what data)."""
    return {
        "id": spec.id, "version": spec.version, "title": spec.title, "per": spec.per,
        "initial": spec.initial, "source": spec.source, "note": spec.note,
        "states": [
            {"name": s.name, "label": s.label, "final": s.final, "source": s.source,
             "note": s.note,
             "task": {"role": s.task.role, "title": s.task.title,
                      "due": str(s.task.due) if s.task.due else None} if s.task else None,
             "idle": str(s.idle) if s.idle else None,
             "deadlines": [{"rule": d.rule, "kind": d.kind, "after": str(d.after),
                            "relative_to": d.relative_to, "role": d.role,
                            "template": d.template,
                            "every": str(d.every) if d.every else None,
                            "escalate_role": d.escalate_role or None} for d in s.deadlines]}
            for s in spec.states.values()
        ],
        "transitions": [
            {"trigger": t.trigger, "label": t.label, "from": list(t.sources), "to": t.dest,
             "roles": list(t.roles), "source": t.source, "note": t.note,
             "fields": [{"name": f.name, "type": f.type, "label": f.label,
                         "required": f.required, "choices": list(f.choices)} for f in t.fields],
             "guards": [{"name": g.name, **dict(g.params)} for g in t.guards],
             "notify": [{"template": n.template, "role": n.role} for n in t.notify],
             "start": [{"route": s.route, "state": s.state} for s in t.start],
             "close_routes": list(t.close_routes)}
            for t in spec.transitions
        ],
    }


def mermaid(spec: RouteSpec, current: str | None = None) -> str:
    """A Mermaid ``stateDiagram-v2``; ``current`` is highlighted."""
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial}"]
    for s in spec.states.values():
        lines.append(f'    {s.name} : {s.label}')
    for t in spec.transitions:
        for src in t.sources:
            lines.append(f"    {src} --> {t.dest or src} : {t.trigger}")
    for s in spec.states.values():
        if s.final:
            lines.append(f"    {s.name} --> [*]")
    if current:
        lines.append("    classDef current fill:#ffd54f,stroke:#e65100,stroke-width:3px")
        lines.append(f"    class {current} current")
    return "\n".join(lines)
