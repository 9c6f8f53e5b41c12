"""The server-rendered route diagrams: every state, the current one highlighted, valid SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kovflow.routes.catalog import load_catalog
from kovflow.web.diagram import route_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_every_route_draws_as_valid_svg_with_its_current_state_highlighted() -> None:
    catalog = load_catalog(None)
    for spec in catalog.latest():
        for state in spec.states:
            root = ET.fromstring(route_svg(spec, state))
            groups = root.findall(f"{SVG}g")
            assert {g.get("data-state") for g in groups} == set(spec.states)
            current = [g.get("data-state") for g in groups if "current" in (g.get("class") or "")]
            assert current == [state]
            title = root.find(f"{SVG}title")
            assert title is not None and spec.states[state].label in (title.text or "")
            # The boxes do not overlap: every state has its own place.
            boxes = {(r.get("x"), r.get("y")) for g in groups
                     for r in g.findall(f"{SVG}rect")[:1]}
            assert len(boxes) == len(spec.states)


def test_a_closed_route_says_so_in_its_text_alternative() -> None:
    spec = load_catalog(None).get("plaatsing")
    title = ET.fromstring(route_svg(spec, "uitgestroomd", True)).find(f"{SVG}title")
    assert title is not None and (title.text or "").endswith("(afgesloten)")
