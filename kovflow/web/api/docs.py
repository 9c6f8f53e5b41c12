"""The API's docs page (``/api/v1/docs``), rendered on the server from the OpenAPI document.

FastAPI's Swagger UI and ReDoc load their scripts from a CDN; kovflow serves nothing from outside
itself, so this page is plain HTML without script: every operation with its parameters, body,
responses and summary, and a link to ``openapi.json`` for tools (Schemathesis, code generators).
"""

from __future__ import annotations

from html import escape
from typing import Any

_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'"
HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"}


def _ref(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"lijst van {_ref(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " of ".join(_ref(s) for s in schema["anyOf"])
    return str(schema.get("type", "waarde"))


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    rows = []
    for p in op.get("parameters", []):
        required = "verplicht" if p.get("required") else "optioneel"
        rows.append(f"<li><code>{escape(p['name'])}</code> ({escape(p['in'])}, {required}, "
                    f"{escape(_ref(p.get('schema', {})))})"
                    f"{': ' + escape(p['description']) if p.get('description') else ''}</li>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body:
        rows.append(f"<li>body: <code>{escape(_ref(body.get('schema', {})))}</code></li>")
    answers = ", ".join(f"{escape(code)} {escape(r.get('description', ''))}"
                        for code, r in op.get("responses", {}).items())
    return (f"<section><h3><code>{method.upper()} {escape(path)}</code></h3>"
            f"<p>{escape(op.get('summary', ''))}</p><ul>{''.join(rows)}</ul>"
            f"<p>Antwoorden: {answers}</p></section>")


def render(doc: dict[str, Any]) -> str:
    """The page for an OpenAPI document."""
    ops = [_operation(path, method, op) for path, item in doc.get("paths", {}).items()
           for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}]
    info = doc.get("info", {})
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{escape(info.get('title', 'API'))}</title></head><body><main>"
        f"<h1>{escape(info.get('title', 'API'))} {escape(str(info.get('version', '')))}</h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        '<p>Het volledige schema: <a href="openapi.json">openapi.json</a> (OpenAPI '
        f"{escape(str(doc.get('openapi', '')))}).</p>"
        "<h2>Operaties</h2>" + "".join(ops) + "</main></body></html>"
    )
