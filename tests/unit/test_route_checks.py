"""Unit tests for the route file checks: ``kovflow.routes.loader`` + ``kovflow.routes.checks``.

Every stable problem code in ``kovflow.routes.checks.CODES`` is triggered by one broken route
file: a small valid base route (``BASE`` below) plus one mutation. Each case names the code, the
key path the problem must point at and, where the checker gives one, a fragment of the hint. A
meta-test makes sure no code is left without a case.

The module also checks that the valid base and the shipped ``workflows/`` have no problems, that a
file with several mistakes reports all of them at once, that ``load_catalog`` refuses a broken
folder, and that the annotated example in ``workflows/README.md`` passes the checks (so the
documentation cannot rot).
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from kovflow.errors import Problem, RouteDefinitionError
from kovflow.resources import template_names, workflows_dir
from kovflow.routes import guards
from kovflow.routes.catalog import check_folder, load_catalog
from kovflow.routes.checks import CODES
from kovflow.routes.spec import DURATION_UNITS, FIELD_TYPES, ROLES

TEMPLATES = frozenset({"herinnering", "melding"})
README = Path(__file__).resolve().parents[2] / "workflows" / "README.md"

# A small route that passes every check. Each mutation below breaks exactly one thing in it
# (some breakages have knock-on problems; the tests only insist on the expected one).
BASE = """\
id = "aanvraag"
version = 1
title = "Aanvraag extra ondersteuning"
per = "child"
initial = "ingediend"
starters = ["coach", "pm"]
start_fields = [
  { name = "vraag", type = "text", label = "Hulpvraag" },
]

[states.ingediend]
label = "Ingediend"
idle = { werkdagen = 20 }
task = { role = "coach", title = "Plan het gesprek", due = { werkdagen = 5 } }

[states.gepland]
label = "Gesprek gepland"

[[states.gepland.deadlines]]
rule = "herinnering_gesprek"
kind = "reminder"
after = { werkdagen = -1 }
relative_to = "gesprek_datum"
role = "coach"
template = "herinnering"
escalate = { role = "manager", after = { werkdagen = 2 }, template = "melding" }

[states.afgerond]
label = "Afgerond"
final = true

[[transitions]]
trigger = "plan_gesprek"
label = "Gesprek plannen"
from = ["ingediend"]
to = "gepland"
roles = ["coach"]
fields = [
  { name = "gesprek_datum", type = "date", label = "Datum gesprek" },
]

[[transitions]]
trigger = "rond_af"
label = "Afronden"
from = ["gepland"]
to = "afgerond"
roles = ["coach", "manager"]
fields = [
  { name = "uitkomst", type = "enum", label = "Uitkomst", choices = ["ja", "nee"] },
  { name = "uitleg", type = "text", label = "Uitleg", required_if = { field = "uitkomst", equals = "nee" } },
]
guards = [ { name = "recorded", field = "gesprek_datum" } ]
notify = [ { template = "melding", role = "manager" } ]
"""

# Anchors used by several cases (each occurs exactly once in BASE).
RONDAF = 'trigger = "rond_af"'
DATE_FIELD = '  { name = "gesprek_datum", type = "date", label = "Datum gesprek" },\n'

UNREACHABLE_STATE = """
[states.vergeten]
label = "Vergeten"

[[transitions]]
trigger = "ga_door"
from = ["vergeten"]
to = "afgerond"
"""

SECOND_PLAN_GESPREK = """
[[transitions]]
trigger = "plan_gesprek"
from = ["ingediend"]
to = "afgerond"
"""

REOPEN_FINAL = """
[[transitions]]
trigger = "heropen"
from = ["afgerond"]
to = "ingediend"
"""


def mutate(text: str, *edits: tuple[str, str]) -> str:
    """Apply ``(old, new)`` replacements; each ``old`` must occur exactly once."""
    for old, new in edits:
        assert text.count(old) == 1, f"anchor {old!r} occurs {text.count(old)} times in the route"
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Case:
    """One broken route file and the problem it must produce."""

    name: str
    code: str
    path: str
    edits: tuple[tuple[str, str], ...] = ()
    append: str = ""
    hint: str | None = None  # a fragment the hint must contain; None: the checker gives none
    message: str | None = None  # a fragment the message must contain
    folder: str = "aanvraag"
    file: str = "v1.toml"
    also: tuple[str, ...] = ()  # further files (relative paths) that get the unchanged BASE
    as_directory: bool = False  # put a directory where the file should be


def after_trigger(extra: str) -> tuple[tuple[str, str], ...]:
    """An edit that adds ``extra`` (a key line) to transitions[1] (``rond_af``)."""
    return ((RONDAF, f"{RONDAF}\n{extra}"),)


CASES: tuple[Case, ...] = (
    Case("toml-syntax/unclosed-string", "toml-syntax", "",
         edits=(('title = "Aanvraag extra ondersteuning"', 'title = "Aanvraag extra'),),
         hint="quotes"),
    Case("unreadable/directory-instead-of-file", "unreadable", "", as_directory=True,
         message="cannot read"),
    Case("missing-key/state-label", "missing-key", "states.gepland.label",
         edits=(('label = "Gesprek gepland"\n', ""),)),
    Case("missing-key/transition-from", "missing-key", "transitions[1].from",
         edits=(('from = ["gepland"]\n', ""),), hint='["*"]'),
    Case("missing-key/enum-choices", "missing-key", "transitions[1].fields[0].choices",
         edits=((', choices = ["ja", "nee"]', ""),)),
    Case("missing-key/recurring-without-every", "missing-key",
         "states.gepland.deadlines[0].every",
         edits=(('kind = "reminder"', 'kind = "recurring"'),)),
    Case("missing-key/top-level-initial", "missing-key", "initial",
         edits=(('initial = "ingediend"\n', ""),)),
    Case("unknown-key/typo-in-transition", "unknown-key", "transitions[0].lable",
         edits=(('label = "Gesprek plannen"', 'lable = "Gesprek plannen"'),), hint="label"),
    Case("unknown-key/top-level", "unknown-key", "owner",
         edits=(('per = "child"', 'per = "child"\nowner = "coach"'),), hint="initial"),
    Case("bad-type/label-is-a-number", "bad-type", "transitions[0].label",
         edits=(('label = "Gesprek plannen"', "label = 42"),), message="string"),
    Case("bad-type/roles-not-a-list", "bad-type", "transitions[0].roles",
         edits=(('roles = ["coach"]', 'roles = "coach"'),), message="list"),
    Case("bad-value/per", "bad-value", "per",
         edits=(('per = "child"', 'per = "school"'),)),
    Case("bad-value/deadline-kind", "bad-value", "states.gepland.deadlines[0].kind",
         edits=(('kind = "reminder"', 'kind = "herinnering"'),), hint="recurring"),
    Case("bad-name/trigger", "bad-name", "transitions[0].trigger",
         edits=(('trigger = "plan_gesprek"', 'trigger = "Plan-Gesprek"'),), hint="lower case"),
    Case("bad-duration/unknown-unit", "bad-duration", "states.ingediend.task.due",
         edits=(("due = { werkdagen = 5 }", "due = { uren = 5 }"),), hint="werkdagen = 10"),
    Case("bad-duration/two-units", "bad-duration", "states.ingediend.idle",
         edits=(("idle = { werkdagen = 20 }", "idle = { weeks = 4, days = 1 }"),),
         hint="months = 1"),
    Case("file-mismatch/id-differs-from-folder", "file-mismatch", "id", folder="anders",
         hint="workflows/<id>/v<version>.toml"),
    Case("file-mismatch/version-differs-from-file-name", "file-mismatch", "version",
         file="v2.toml", hint="workflows/<id>/v<version>.toml"),
    # Two files can only define the same id + version if at most one of them sits at its
    # proper place, so this always comes with a file-mismatch on the copy; the loader still
    # returns the parsed route, and check_folder then reports the duplicate as well.
    Case("duplicate-route/copy-in-second-folder", "duplicate-route", "version", folder="kopie",
         also=("aanvraag/v1.toml",), message="aanvraag/v1.toml"),
    Case("duplicate-field/same-name-twice", "duplicate-field", "transitions[0].fields[1]",
         edits=((DATE_FIELD, DATE_FIELD * 2),), message="gesprek_datum"),
    Case("unknown-field-type/type", "unknown-field-type", "transitions[1].fields[1].type",
         edits=(('type = "text", label = "Uitleg"', 'type = "tekst", label = "Uitleg"'),),
         hint="datetime"),
    Case("unknown-field-type/list-items", "unknown-field-type", "transitions[0].fields[1].items",
         edits=((DATE_FIELD, DATE_FIELD + '  { name = "wie", type = "list", items = "mens", '
                 'label = "Deelnemers" },\n'),)),
    Case("unknown-state/to", "unknown-state", "transitions[1].to",
         edits=(('to = "afgerond"', 'to = "klaar"'),), hint="defined: ingediend"),
    Case("unknown-state/from", "unknown-state", "transitions[1].from",
         edits=(('from = ["gepland"]', 'from = ["gepland", "wachten"]'),), message="wachten"),
    Case("unknown-state/initial", "unknown-state", "initial",
         edits=(('initial = "ingediend"', 'initial = "nieuw"'),), hint="defined: ingediend"),
    Case("unknown-state/start-state", "unknown-state", "transitions[1].start",
         edits=after_trigger('start = [ { route = "aanvraag", state = "nergens" } ]'),
         message="nergens"),
    Case("unknown-guard/typo", "unknown-guard", "transitions[1].guards",
         edits=(('name = "recorded"', 'name = "vastgelegd"'),), hint="consent_given"),
    Case("bad-guard-params/missing-and-unknown", "bad-guard-params",
         "transitions[1].guards[recorded]",
         edits=(('field = "gesprek_datum" }', 'veld = "gesprek_datum" }'),),
         message="'field' is required"),
    Case("bad-guard-params/wrong-type", "bad-guard-params", "transitions[1].guards[consent_given]",
         edits=(('name = "recorded", field = "gesprek_datum"', 'name = "consent_given", scope = 3'),),
         message="must be str"),
    Case("unknown-template/notify", "unknown-template", "transitions[1].notify",
         edits=(('template = "melding", role = "manager"', 'template = "brief", role = "manager"'),),
         hint="notifications/"),
    Case("unknown-template/deadline", "unknown-template",
         "states.gepland.deadlines[herinnering_gesprek]",
         edits=(('template = "herinnering"', 'template = "herinering"'),), hint="notifications/"),
    Case("unknown-template/escalation", "unknown-template",
         "states.gepland.deadlines[herinnering_gesprek]",
         edits=(('{ werkdagen = 2 }, template = "melding"', '{ werkdagen = 2 }, template = "boos"'),),
         message="boos"),
    Case("unknown-role/transition-roles", "unknown-role", "transitions[0].roles",
         edits=(('roles = ["coach"]', 'roles = ["ouder"]'),), hint="aandachtsfunctionaris"),
    Case("unknown-role/task", "unknown-role", "states.ingediend.task.role",
         edits=(('task = { role = "coach"', 'task = { role = "mentor"'),), hint="coach"),
    Case("unknown-role/starters", "unknown-role", "starters",
         edits=(('starters = ["coach", "pm"]', 'starters = ["coach", "ouder"]'),), hint="pm"),
    Case("unknown-role/notify", "unknown-role", "transitions[1].notify",
         edits=(('template = "melding", role = "manager"', 'template = "melding", role = "baas"'),),
         message="baas"),
    Case("unknown-role/deadline", "unknown-role", "states.gepland.deadlines[herinnering_gesprek]",
         edits=(('role = "coach"\ntemplate', 'role = "juf"\ntemplate'),), hint="wijkcoach"),
    Case("unknown-route/start", "unknown-route", "transitions[1].start",
         edits=after_trigger('start = [ { route = "bestaat_niet" } ]'), hint="aanvraag"),
    Case("unknown-route/close-routes", "unknown-route", "transitions[1].close_routes",
         edits=after_trigger('close_routes = ["bestaat_niet"]'), message="bestaat_niet"),
    Case("unknown-field/required-if", "unknown-field",
         "transitions[1].fields[uitleg].required_if",
         edits=(('field = "uitkomst"', 'field = "resultaat"'),), message="resultaat"),
    Case("unknown-field/carry", "unknown-field", "transitions[1].start[aanvraag].carry.vraag",
         edits=after_trigger('start = [ { route = "aanvraag", carry = { vraag = "onbekend" } } ]'),
         message="onbekend"),
    Case("unreachable-state/no-way-in", "unreachable-state", "states.vergeten",
         append=UNREACHABLE_STATE, hint="add a transition into it"),
    Case("no-exit/state-without-way-out", "no-exit", "states.gepland",
         edits=(('from = ["gepland"]', 'from = ["ingediend"]'),), hint="final = true"),
    Case("final-unreachable/loop-back", "final-unreachable", "states",
         edits=(('to = "afgerond"', 'to = "ingediend"'),), message="no final state"),
    Case("no-final-state/final-false", "no-final-state", "states",
         edits=(("final = true", "final = false"),), hint="final = true"),
    Case("duplicate-trigger/same-trigger-same-state", "duplicate-trigger", "transitions[2]",
         append=SECOND_PLAN_GESPREK, hint="merge them"),
    Case("deadline-missing-field/relative-to-unknown-field", "deadline-missing-field",
         "states.gepland.deadlines[herinnering_gesprek].relative_to",
         edits=(('relative_to = "gesprek_datum"', 'relative_to = "startdatum"'),),
         hint="start_fields"),
    Case("final-has-exit/reopen-from-final", "final-has-exit", "transitions[2].from",
         append=REOPEN_FINAL, hint="final = true"),
    Case("unknown-param/duration-param-not-declared", "unknown-param",
         "states.ingediend.idle", edits=(("idle = { werkdagen = 20 }",
                                          'idle = { param = "stil_na" }'),), hint="declared"),
    Case("unknown-trigger/fire-effect-step-missing", "unknown-trigger", "transitions[1].fire",
         edits=after_trigger('fire = [ { route = "aanvraag", trigger = "vlieg" } ]'),
         message="no step 'vlieg'"),
)


def write_route(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def build(tmp_path: Path, case: Case) -> Path:
    """Write the case's files below ``tmp_path``; return the path of the broken file."""
    for rel in case.also:
        write_route(tmp_path, rel, BASE)
    target = tmp_path / case.folder / case.file
    if case.as_directory:
        target.mkdir(parents=True)
        return target
    return write_route(tmp_path, f"{case.folder}/{case.file}", mutate(BASE, *case.edits) + case.append)


def show(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems) or "(no problems)"


# --- one broken file per check code ------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_route_reports_code_file_and_path(tmp_path: Path, case: Case) -> None:
    target = build(tmp_path, case)
    _, problems = check_folder(tmp_path, TEMPLATES)
    matches = [p for p in problems
               if p.code == case.code and Path(p.file) == target and p.path == case.path]
    assert matches, f"expected [{case.code}] at {case.path!r} in {target}, got:\n{show(problems)}"
    problem = matches[0]
    assert problem.message
    if case.hint is not None:
        assert case.hint in problem.hint, str(problem)
    if case.message is not None:
        assert any(case.message in p.message for p in matches), show(matches)


def test_every_check_code_has_a_case() -> None:
    assert {c.code for c in CASES} == set(CODES)


def test_case_names_are_unique_and_start_with_their_code() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert all(c.name.split("/")[0] == c.code for c in CASES)


def test_missing_route_folder_is_unreadable(tmp_path: Path) -> None:
    catalog, problems = check_folder(tmp_path / "bestaat_niet", TEMPLATES)
    assert [p.code for p in problems] == ["unreadable"]
    assert list(catalog) == []


def test_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "aanvraag" / "v1.toml"
    path.parent.mkdir()
    path.write_bytes(BASE.encode("utf-8").replace(b"Aanvraag extra", b"Aanvraag \xff extra"))
    _, problems = check_folder(tmp_path, TEMPLATES)
    assert {p.code for p in problems} & {"unreadable", "toml-syntax"}


# --- valid routes ------------------------------------------------------------------------------


def test_valid_base_has_no_problems(tmp_path: Path) -> None:
    write_route(tmp_path, "aanvraag/v1.toml", BASE)
    catalog, problems = check_folder(tmp_path, TEMPLATES)
    assert problems == [], show(problems)
    route = catalog.get("aanvraag")
    assert route.version == 1
    assert route.final_states == ("afgerond",)
    assert route.transition("rond_af", "gepland") is not None


def test_without_templates_the_template_check_is_skipped(tmp_path: Path) -> None:
    write_route(tmp_path, "aanvraag/v1.toml", mutate(BASE, ('template = "herinnering"',
                                                            'template = "onbekend"')))
    _, problems = check_folder(tmp_path, None)
    assert problems == [], show(problems)


def test_star_means_every_non_final_state(tmp_path: Path) -> None:
    stop = '\n[[transitions]]\ntrigger = "stop"\nfrom = ["*"]\nto = "afgerond"\n'
    write_route(tmp_path, "aanvraag/v1.toml", BASE + stop)
    catalog, problems = check_folder(tmp_path, TEMPLATES)
    assert problems == [], show(problems)
    route = catalog.get("aanvraag")
    assert route.transitions_for("stop")[0].sources == ("ingediend", "gepland")


def test_deadline_may_be_relative_to_a_start_field(tmp_path: Path) -> None:
    text = mutate(BASE, ('relative_to = "gesprek_datum"', 'relative_to = "vraag"'))
    write_route(tmp_path, "aanvraag/v1.toml", text)
    _, problems = check_folder(tmp_path, TEMPLATES)
    assert problems == [], show(problems)


def test_two_versions_of_one_route_live_side_by_side(tmp_path: Path) -> None:
    write_route(tmp_path, "aanvraag/v1.toml", BASE)
    write_route(tmp_path, "aanvraag/v2.toml", mutate(BASE, ("version = 1", "version = 2")))
    catalog, problems = check_folder(tmp_path, TEMPLATES)
    assert problems == [], show(problems)
    assert catalog.get("aanvraag").version == 2
    assert catalog.get("aanvraag", 1).version == 1


# --- every problem at once ---------------------------------------------------------------------


def test_several_mistakes_in_one_file_are_all_reported(tmp_path: Path) -> None:
    text = mutate(
        BASE,
        ('roles = ["coach"]', 'roles = ["ouder"]'),
        ('name = "recorded"', 'name = "vastgelegd"'),
        ("due = { werkdagen = 5 }", "due = { uren = 5 }"),
        ('label = "Gesprek plannen"', 'lable = "Gesprek plannen"'),
        ('template = "melding", role = "manager"', 'template = "brief", role = "manager"'),
        ("final = true", "final = false"),
    )
    target = write_route(tmp_path, "aanvraag/v1.toml", text)
    _, problems = check_folder(tmp_path, TEMPLATES)
    found = {(p.code, p.path) for p in problems if Path(p.file) == target}
    expected = {
        ("unknown-role", "transitions[0].roles"),
        ("unknown-guard", "transitions[1].guards"),
        ("bad-duration", "states.ingediend.task.due"),
        ("unknown-key", "transitions[0].lable"),
        ("unknown-template", "transitions[1].notify"),
        ("no-final-state", "states"),
    }
    assert expected <= found, show(problems)


def test_problems_in_several_files_are_all_reported(tmp_path: Path) -> None:
    first = write_route(tmp_path, "aanvraag/v1.toml",
                        mutate(BASE, ('roles = ["coach"]', 'roles = ["ouder"]')))
    second = write_route(tmp_path, "aanvraag/v2.toml",
                         mutate(BASE, ("version = 1", "version = 2"), ('per = "child"', "per = 1")))
    third = write_route(tmp_path, "kapot/v1.toml", "id = [")
    _, problems = check_folder(tmp_path, TEMPLATES)
    by_file = {(Path(p.file), p.code) for p in problems}
    assert {(first, "unknown-role"), (second, "bad-type"), (third, "toml-syntax")} <= by_file


# --- load_catalog ------------------------------------------------------------------------------


def test_load_catalog_refuses_a_folder_with_problems(tmp_path: Path) -> None:
    target = write_route(tmp_path, "aanvraag/v1.toml",
                         mutate(BASE, ('name = "recorded"', 'name = "vastgelegd"'),
                                ('roles = ["coach"]', 'roles = ["ouder"]')))
    with pytest.raises(RouteDefinitionError) as info:
        load_catalog(tmp_path, TEMPLATES)
    codes = {p.code for p in info.value.problems}
    assert {"unknown-guard", "unknown-role"} <= codes
    text = str(info.value)
    assert str(target) in text
    assert "[unknown-guard]" in text
    assert "transitions[0].roles" in text
    assert info.value.exit_code == 2


def test_load_catalog_returns_a_clean_folder(tmp_path: Path) -> None:
    write_route(tmp_path, "aanvraag/v1.toml", BASE)
    catalog = load_catalog(tmp_path, TEMPLATES)
    assert "aanvraag" in catalog
    assert [r.key for r in catalog.latest()] == [("aanvraag", 1)]


# --- what ships --------------------------------------------------------------------------------


def test_shipped_workflows_have_no_problems() -> None:
    catalog, problems = check_folder(workflows_dir(), template_names())
    assert problems == [], show(problems)
    assert "plaatsing" in catalog


def test_shipped_templates_used_by_the_base_exist() -> None:
    assert template_names() >= TEMPLATES


# --- workflows/README.md -----------------------------------------------------------------------


def readme_example() -> str:
    match = re.search(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "workflows/README.md has no ```toml block"
    return match.group(1)


def test_readme_example_passes_the_checks(tmp_path: Path) -> None:
    text = readme_example()
    doc = tomllib.loads(text)
    # The example may start shipped routes, so check it next to a copy of them.
    folder = tmp_path / "workflows"
    shutil.copytree(workflows_dir(), folder, ignore=shutil.ignore_patterns("*.md"))
    target = write_route(folder, f"{doc['id']}/v{doc['version']}.toml", text)
    catalog, problems = check_folder(folder, template_names())
    mine = [p for p in problems if Path(p.file) == target]
    assert mine == [], show(mine)
    assert (doc["id"], doc["version"]) in catalog.routes


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("check code", sorted(CODES)),
        ("guard", sorted(guards.REGISTRY)),
        ("role", list(ROLES)),
        ("field type", list(FIELD_TYPES)),
        ("duration unit", list(DURATION_UNITS)),
    ],
    ids=["check-codes", "guards", "roles", "field-types", "duration-units"],
)
def test_readme_documents_every(kind: str, names: list[str]) -> None:
    text = README.read_text(encoding="utf-8")
    missing = [n for n in names if f"`{n}`" not in text]
    assert missing == [], f"workflows/README.md does not mention these {kind}s: {missing}"


def test_readme_documents_every_guard_parameter() -> None:
    text = README.read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    for name, gdef in guards.REGISTRY.items():
        row = rows.get(f"`{name}`")
        assert row is not None, f"guard {name} has no row in the guard table"
        for param in gdef.params:
            assert f"`{param}`" in row, f"guard {name}: parameter {param} is not documented"


def test_a_role_parameter_can_name_the_role_of_a_task_and_be_overridden(tmp_path: Path) -> None:
    text = mutate(BASE, ('task = { role = "coach",', 'task = { role = "@planner",'))
    text = text.replace("[states.ingediend]", '[params]\nplanner = "coach"\n\n[states.ingediend]', 1)
    write_route(tmp_path, "aanvraag/v1.toml", text)
    catalog, problems = check_folder(tmp_path, TEMPLATES)
    assert problems == [], show(problems)
    assert catalog.get("aanvraag").states["ingediend"].task.role == "coach"  # type: ignore[union-attr]
    catalog, problems = check_folder(tmp_path, TEMPLATES, {"aanvraag": {"planner": "manager"}})
    assert problems == [], show(problems)
    assert catalog.get("aanvraag").states["ingediend"].task.role == "manager"  # type: ignore[union-attr]
    _, problems = check_folder(tmp_path, TEMPLATES, {"aanvraag": {"planer": "manager"}})
    assert [p.code for p in problems] == ["unknown-param"]


def test_an_invitation_must_point_at_a_date_field(tmp_path: Path) -> None:
    # rond_af declares a text field "uitleg": free text must never reach a calendar invitation.
    text = mutate(BASE, (RONDAF, f'{RONDAF}\ninvite = {{ field = "uitleg", roles = ["coach"] }}'))
    write_route(tmp_path, "aanvraag/v1.toml", text)
    _, problems = check_folder(tmp_path, TEMPLATES)
    assert [(p.code, p.path) for p in problems] == [("bad-value", "transitions[1].invite.field")]
