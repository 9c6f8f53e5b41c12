"""The monitor's SVG charts: well-formed, accessible, labelled, and the bars say the numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from kovflow.actor import Actor
from kovflow.reports.charts import BAR_W, Bar, bar_chart, monitor_charts
from kovflow.reports.monitor import DISCIPLINES, UITSTROOM, compute_monitor
from kovflow.services import fire, open_case
from tests.conftest import World

NS = {"svg": "http://www.w3.org/2000/svg"}
OP = Actor.installation_operator()


def _bars(root: ET.Element) -> list[float]:
    """Widths of the value bars (the second rect of every bar group)."""
    return [float(g.findall("svg:rect", NS)[1].attrib["width"]) for g in root.findall("svg:g", NS)]


def test_bar_chart_is_wellformed_accessible_and_escaped() -> None:
    svg = bar_chart("Aandeel <VE> & meer", "Beschrijving", [
        Bar("Coach & co", 100.0, "3 van 3"), Bar("Logopedist", 50.0), Bar("Niets", None)],
        ident="proef")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-labelledby"] == "proef-title proef-desc"
    assert root.find("svg:title", NS) is not None
    assert root.find("svg:title", NS).text == "Aandeel <VE> & meer"  # type: ignore[union-attr]
    assert root.find("svg:desc", NS).text == "Beschrijving"  # type: ignore[union-attr]
    spoken = [g.find("svg:title", NS).text for g in root.findall("svg:g", NS)]  # type: ignore[union-attr]
    assert spoken == ["Coach & co: 100% (3 van 3)", "Logopedist: 50%", "Niets: -"]
    assert _bars(root) == [BAR_W, BAR_W / 2, 0.0]


def test_monitor_charts_carry_every_label_and_share(world: World) -> None:
    app = world.app
    for vve, leave in ((True, "basisonderwijs"), (False, None)):
        case = open_case(app, world.coach, first_name="Kind", initial="K",
                         birth_date=date(2021, 1, 1), location="ZON").case_number
        fire(app, OP, "plaatsing", "plaats", case=case, data={
            "groep": "Bijen", "startdatum": "2026-02-02", "mentor": "pm",
            "vve_indicatie": "ja" if vve else "nee",
            **({"vve_datum": "2026-01-01", "vve_afgever": "JGZ"} if vve else {})})
        if leave:
            fire(app, OP, "plaatsing", "stroom_uit", case=case, data={
                "uitstroom_datum": "2026-08-28", "uitstroom_reden": leave,
                "passend_geboden": "ja"})
    report = compute_monitor(app, OP, date(2026, 1, 1), date(2026, 12, 31))
    charts = monitor_charts(report)
    assert set(charts) == {"disciplines.svg", "uitstroom.svg"}

    disciplines = ET.fromstring(charts["disciplines.svg"])
    texts = [t.text for t in disciplines.iter("{http://www.w3.org/2000/svg}text")]
    assert all(label in texts for _, label in DISCIPLINES)
    assert "2026-01-01 t/m 2026-12-31" in disciplines.find("svg:desc", NS).text  # type: ignore[union-attr]
    assert _bars(disciplines) == [BAR_W, 0.0, 0.0, 0.0, 0.0, 0.0]  # the coach in both trajecten

    uitstroom = ET.fromstring(charts["uitstroom.svg"])
    spoken = [g.find("svg:title", NS).text for g in uitstroom.findall("svg:g", NS)]  # type: ignore[union-attr]
    assert spoken == [f"{label}: {pct}% ({n} van 1)" for (_, label), pct, n in
                      zip(UITSTROOM, (100, 100, 0, 0, 0), (1, 1, 0, 0, 0), strict=True)]
