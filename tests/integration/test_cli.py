"""The command line: exit codes, --json, errors that say what to fix, and the demo."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kovflow.cli import app
from kovflow.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path) -> object:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, as_user: str | None = None) -> tuple[int, str]:
        prefix = ["--db", db, "--now", "2026-11-23T09:00"]
        if as_user:
            prefix += ["--as", as_user]
        result = runner.invoke(app, [*prefix, *args])
        return result.exit_code, result.output

    assert invoke("db", "upgrade")[0] == 0
    assert invoke("locations", "add", "ZON", "--name", "De Zonnebloem")[0] == 0
    assert invoke("users", "add", "anna", "--role", "coach", "--location", "ZON")[0] == 0
    assert invoke("users", "add", "bram", "--role", "pm", "--location", "ZON")[0] == 0
    return invoke


def test_a_case_through_the_cli_with_exit_codes(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("case", "open", "--first-name", "Sam", "--birth-date", "2024-05-01",
                    "--location", "ZON", "--json", as_user="anna")
    assert code == 0
    case = json.loads(out)["case_number"]
    code, out = run("case", "fire", case, "plaatsing", "plaats", "--set", "groep=Bijen",
                    "--json", as_user="bram")
    assert code == 3
    reasons = {r["code"] for r in json.loads(out)["reasons"]}
    assert {"role-not-allowed", "field-missing"} <= reasons
    code, out = run("case", "fire", case, "plaatsing", "plaats", "--set", "groep=Bijen",
                    "--set", "startdatum=2026-12-01", "--set", "mentor=bram",
                    "--set", "vve_indicatie=nee", "--revision", "0", as_user="anna")
    assert code == 0 and "aangemeld -> geplaatst" in out
    code, out = run("case", "fire", case, "plaatsing", "annuleer", "--set", "reden=x",
                    "--revision", "0", as_user="anna")
    assert code == 5 and "intussen gewijzigd" in out
    code, out = run("tasks", "--json", as_user="anna")
    assert code == 0 and [t["route"] for t in json.loads(out)] == ["wijkcoach"]
    code, out = run("case", "history", case, "--json")
    assert [e["kind"] for e in json.loads(out)][-2:] == ["transition", "start"]
    code, out = run("routes", "graph", "wijkcoach", "--case", case)
    assert code == 0 and "class navraag current" in out
    assert run("audit", "verify")[0] == 0


@pytest.mark.parametrize(("args", "code", "says"), [
    (("case", "show", "KOV-404"), 4, "No case 'KOV-404'"),
    (("case", "fire", "KOV-404", "plaatsing", "plaats"), 4, "No case"),
    (("routes", "show", "bestaat_niet"), 4, "No route 'bestaat_niet'"),
    (("--as", "niemand", "tasks"), 4, "No user 'niemand'"),
    (("case", "open", "--first-name", "A", "--birth-date", "1-5-2024", "--location", "ZON"), 2,
     "is not a date"),
    (("--now", "gisteren", "routes", "list"), 0, "plaatsing"),  # --now is read only with a case
    (("--now", "gisteren", "case", "show", "KOV-1"), 2, "not an ISO-8601 moment"),
    (("case", "fire", "KOV-1", "plaatsing", "plaats", "--set", "zonder-is-teken"), 2, "NAME=VALUE"),
    (("case", "open", "--first-name", "A", "--birth-date", "2024-05-01", "--location", "ZON",
      "--fact", "jgz_zorgen=misschien"), 2, "write NAME=ja or NAME=nee"),
    (("audit", "verify", "--anchor", "/nonexistent/anchor.json"), 2, "not a readable anchor file"),
])
def test_bad_input_gets_a_specific_error(run, args, code, says) -> None:  # type: ignore[no-untyped-def]
    got, out = run(*args)
    assert got == code, out
    assert says in out


def test_unknown_trigger_lists_the_steps_that_are_possible(run) -> None:  # type: ignore[no-untyped-def]
    _, out = run("case", "open", "--first-name", "Sam", "--birth-date", "2024-05-01",
                 "--location", "ZON", "--json", as_user="anna")
    case = json.loads(out)["case_number"]
    code, out = run("case", "fire", case, "plaatsing", "vlieg", as_user="anna")
    assert code == 4 and "plan_intake" in out


def test_unreachable_database_is_reported_not_a_traceback() -> None:
    result = CliRunner().invoke(app, ["--db", "postgresql+psycopg://nobody@127.0.0.1:1/x",
                                      "db", "upgrade"])
    assert result.exit_code == 6
    assert "cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:1/x" in result.output
    result = CliRunner().invoke(app, ["--db", "sqlite:////nonexistent/dir/k.db", "db", "upgrade"])
    assert result.exit_code == 6 and "does not exist" in result.output
    result = CliRunner().invoke(app, ["--db", "nonsense", "db", "upgrade"])
    assert result.exit_code == 6 and "is not a database URL" in result.output


def test_routes_check_reports_a_malformed_file_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "kapot").mkdir()
    (tmp_path / "kapot" / "v1.toml").write_text('id = "kapot"\nversion = [1\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["routes", "check", str(tmp_path), "--json"])
    assert result.exit_code == 2
    problems = json.loads(result.output)["problems"]
    assert [p["code"] for p in problems] == ["toml-syntax"]
    assert problems[0]["file"].endswith("kapot/v1.toml")


def test_routes_list_json_names_every_shipped_route() -> None:
    result = CliRunner().invoke(app, ["routes", "list", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.output)
    shipped = {p.name for p in (ROOT / "workflows").iterdir() if p.is_dir()}
    assert {r["id"] for r in listed} == shipped
    assert all({"id", "version", "title"} <= set(r) for r in listed)


def test_config_example_parses_and_is_the_default(tmp_path: Path) -> None:
    path = ROOT / "config.example.toml"
    tomllib.loads(path.read_text(encoding="utf-8"))
    assert load_settings(path, env={}) == load_settings(None, env={})


def test_config_rejects_unknown_keys(tmp_path: Path) -> None:
    from kovflow.errors import ConfigError

    path = tmp_path / "c.toml"
    path.write_text('[database]\nurll = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="urll"):
        load_settings(path, env={})


def test_demo_runs_clean_and_twice(tmp_path: Path) -> None:
    from kovflow.demo import run_demo

    first = run_demo(tmp_path / "demo", echo=False)
    second = run_demo(tmp_path / "demo", echo=False)
    assert first == second  # a rerun starts clean and is reproducible
    assert first["chain_breaks"] == 0
    states = list(first["cases"].values())
    assert {"wijkcoach": "borging", "plaatsing": "geplaatst"}.items() <= states[0].items()
    assert states[3]["plaatsing"] == "uitgestroomd"
    assert states[1]["wijkcoach"] == "betrokken"  # scenario 2 with consent
    assert states[2]["wijkcoach"] == "ouders_houden_af"  # scenario 3
    assert states[2]["meldcode"] == "gemeld"
    assert first["mails"] > 0  # reminders written as .eml files as simulated weeks pass
    mail_text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "demo" / "mail").glob("*.eml"))
    assert "Sam" not in mail_text and "KOV-0" not in mail_text and "meldcode" not in mail_text.lower()


def test_routes_migrate_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.test_versions import V1, V2

    folder = tmp_path / "workflows"
    (folder / "proef").mkdir(parents=True)
    (folder / "proef" / "v1.toml").write_text(V1, encoding="utf-8")
    monkeypatch.setenv("KOVFLOW_WORKFLOWS_DIR", str(folder))
    db = ["--db", f"sqlite:///{tmp_path / 'm.db'}", "--now", "2026-11-23T09:00"]
    runner = CliRunner()
    for args in (["db", "upgrade"], ["locations", "add", "ZON", "--name", "Z"],
                 ["case", "open", "--first-name", "A", "--birth-date", "2024-01-01",
                  "--location", "ZON", "--route", "proef"],
                 ["case", "open", "--first-name", "B", "--birth-date", "2024-01-01",
                  "--location", "ZON", "--route", "proef"],
                 ["case", "fire", "KOV-00002", "proef", "wacht_af"]):
        result = runner.invoke(app, [*db, *args])
        assert result.exit_code == 0, result.output
    (folder / "proef" / "v2.toml").write_text(V2, encoding="utf-8")
    shown = runner.invoke(app, [*db, "routes", "show", "proef", "--json"])
    assert json.loads(shown.output)["version"] == 2
    result = runner.invoke(app, [*db, "routes", "migrate", "proef", "--from", "1", "--to", "2"])
    assert result.exit_code == 0
    assert "moved 1 instance(s)" in result.output
    assert "in state 'wacht' (not in v2)" in result.output


def test_routes_docs_are_generated_and_checked(tmp_path: Path) -> None:
    out = tmp_path / "routes"
    runner = CliRunner()
    assert runner.invoke(app, ["routes", "docs", "--out", str(out)]).exit_code == 0
    shipped = {p.name for p in (ROOT / "workflows").iterdir() if p.is_dir()}
    assert {p.stem for p in out.glob("*.md")} == shipped | {"README"}
    page = (out / "plaatsing.md").read_text(encoding="utf-8")
    assert "```mermaid" in page and "| `plaats` Kind plaatsen |" in page
    assert runner.invoke(app, ["routes", "docs", "--out", str(out), "--check"]).exit_code == 0
    (out / "plaatsing.md").write_text(page.replace("Kind plaatsen", "Iets anders"), encoding="utf-8")
    result = runner.invoke(app, ["routes", "docs", "--out", str(out), "--check"])
    assert result.exit_code == 1 and "plaatsing.md" in result.output


def test_a_configurable_default_is_changed_in_the_configuration_file(tmp_path: Path) -> None:
    """ROUTES.md: navraag is due in 10 werkdagen (default, configurable). Here: 15."""
    config = tmp_path / "kovflow.toml"
    config.write_text('[database]\nurl = "sqlite:///' + str(tmp_path / "c.db") + '"\n\n'
                      "[routes.settings.wijkcoach]\nnavraag_termijn = { werkdagen = 15 }\n",
                      encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config), "--now", "2026-11-23T09:00"]
    for args in (["db", "upgrade"], ["locations", "add", "ZON", "--name", "Z"],
                 ["users", "add", "anna", "--role", "coach", "--location", "ZON"]):
        assert runner.invoke(app, [*base, *args]).exit_code == 0
    runner.invoke(app, [*base, "--as", "anna", "case", "open", "--first-name", "S",
                        "--birth-date", "2024-01-01", "--location", "ZON"])
    placed = runner.invoke(app, [*base, "--as", "anna", "case", "fire", "KOV-00001", "plaatsing",
                                 "plaats", "--set", "groep=B", "--set", "startdatum=2026-12-01",
                                 "--set", "mentor=anna", "--set", "vve_indicatie=nee"])
    assert placed.exit_code == 0, placed.output
    tasks = json.loads(runner.invoke(app, [*base, "--as", "anna", "tasks", "--json"]).output)
    # 15 werkdagen after Monday 23 November 2026 is Monday 14 December (10 would be 7 December).
    assert [(t["route"], t["due"][:10]) for t in tasks] == [("wijkcoach", "2026-12-14")]
    config.write_text(config.read_text(encoding="utf-8").replace("navraag_termijn", "navraagtermijn"),
                      encoding="utf-8")
    refused = runner.invoke(app, [*base, "routes", "list"])
    assert refused.exit_code == 2 and "navraagtermijn" in refused.output


def test_worker_until_writes_reminders_as_eml_files(tmp_path: Path) -> None:
    config = tmp_path / "kovflow.toml"
    mail = tmp_path / "mail"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "w.db"}"\n\n'
                      f'[mail]\nbackend = "file"\nfolder = "{mail}"\n', encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config), "--now", "2026-11-23T09:00"]
    for args in (["db", "upgrade"], ["locations", "add", "ZON", "--name", "Z"],
                 ["users", "add", "anna", "--role", "coach", "--email", "anna@example.org",
                  "--location", "ZON"],
                 ["--as", "anna", "case", "open", "--first-name", "Zwaantje", "--birth-date",
                  "2024-01-01", "--location", "ZON"],
                 ["--as", "anna", "case", "fire", "KOV-00001", "plaatsing", "plan_intake",
                  "--set", "intake_datum=2026-12-03"]):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*base, "worker", "--until", "2026-12-04T09:00", "--json"])
    assert result.exit_code == 0, result.output
    files = list(mail.glob("*.eml"))
    # The calendar invitation for the intake, and the reminder one werkdag before it.
    assert len(files) == 2
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert sum("text/calendar" in t for t in texts) == 1
    for text in texts:
        assert "anna@example.org" in text and "Zwaantje" not in text and "KOV-00001" not in text
    listed = runner.invoke(app, [*base, "outbox", "list", "--json"])
    assert [r["status"] for r in json.loads(listed.output)] == ["sent", "sent"]
    refused = runner.invoke(app, [*base, "--as", "anna", "outbox", "list"])
    assert refused.exit_code == 2 and "manage outgoing mail" in refused.output



def test_case_commands_participant_consent_transfer_start_report(run) -> None:  # type: ignore[no-untyped-def]
    _, out = run("case", "open", "--first-name", "Sam", "--birth-date", "2024-05-01",
                 "--location", "ZON", "--json", as_user="anna")
    case = json.loads(out)["case_number"]
    assert run("users", "add", "wies", "--role", "wijkcoach")[0] == 0
    code, out = run("case", "participant", case, "wijkcoach", "--user", "wies", "--json",
                    as_user="anna")
    assert code == 0 and json.loads(out)["id"] > 0
    assert run("case", "participant", case, "kapper", "--name", "X")[0] == 2
    scope = "kinderopvang_naar_wijkcoach"
    assert run("case", "consent", case, scope, "gegeven", "--form", "schriftelijk",
               as_user="anna")[0] == 0
    assert run("case", "consent", case, scope, "misschien", as_user="anna")[0] == 2
    code, out = run("case", "transfer", case, scope, "--json", as_user="anna")
    assert code == 0 and json.loads(out) == {"scope": scope, "transferred": True}
    code, out = run("case", "consents", case, "--json", as_user="anna")
    [row] = json.loads(out)
    assert (row["scope"], row["status"], row["transferred"]) == (scope, "gegeven", True)
    code, out = run("case", "start", case, "warme_overdracht_jgz", "--json")
    assert code == 0 and json.loads(out)["to_state"] == "gesignaleerd"
    assert run("case", "start", case, "warme_overdracht_jgz")[0] == 2  # already runs
    code, out = run("audit", "access-report", case, "--json")
    assert code == 0
    assert [r["action"] for r in json.loads(out)][:2] == ["write", "write"]
    assert run("audit", "access-report", case, as_user="anna")[0] == 2
    code, out = run("audit", "anchor")
    assert code == 0 and "access" in json.loads(out)


def test_routes_show_text_and_graph_without_case(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("routes", "show", "plaatsing")
    assert code == 0 and out.startswith("plaatsing v1:") and "plaats" in out and "(final)" in out
    code, out = run("routes", "graph", "plaatsing", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["current"] is None
    assert doc["mermaid"].startswith("stateDiagram-v2") and "classDef current" not in doc["mermaid"]


def test_outbox_retry_is_for_admins_and_requeues_dead_letters(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("outbox", "retry", "--json")
    assert code == 0 and json.loads(out) == {"requeued": 0}
    assert run("outbox", "retry", as_user="anna")[0] == 2


def test_worker_without_until_refuses_a_fixed_clock(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("worker")  # the fixture passes --now
    assert code == 2 and "--until" in out
