"""Unit tests for ``kovflow.routes.fields.validate``: the data a coach submits with a step.

Table-driven: one table of accepted values per field type (raw value -> stored value) and one of
refused values. Then the rules around them: required and optional fields, ``required_if``,
unknown fields (``field-unknown``), invalid values (``field-invalid``, never also
``field-missing``) and that every problem of one submission is reported together.

Messages are Dutch and meant for coaches, so the tests assert the stable codes and that each
message names the field by its label, not the exact wording.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kovflow.errors import Reason
from kovflow.routes.fields import MAX_TEXT, validate
from kovflow.routes.spec import FIELD_TYPES, Condition, FieldSpec, FieldType

LABEL = "Mijn veld"


def spec(ftype: FieldType, **kw: Any) -> FieldSpec:
    """A field named ``veld`` with label ``LABEL``."""
    return FieldSpec(name="veld", type=ftype, label=LABEL, **kw)


def one(field: FieldSpec, raw: Any) -> tuple[dict[str, Any], list[Reason]]:
    return validate((field,), {field.name: raw})


def codes(reasons: list[Reason]) -> list[str]:
    return sorted(r.code for r in reasons)


CHOICES = ("thuis", "locatie")

# (id, field, raw value, stored value)
VALID: list[tuple[str, FieldSpec, Any, Any]] = [
    # text
    ("text/plain", spec("text"), "hallo", "hallo"),
    ("text/trimmed", spec("text"), "  hallo  ", "hallo"),
    ("text/at-max-length", spec("text"), "x" * MAX_TEXT, "x" * MAX_TEXT),
    # date
    ("date/iso", spec("date"), "2026-12-01", "2026-12-01"),
    ("date/trimmed", spec("date"), " 2026-12-01 ", "2026-12-01"),
    ("date/date-object", spec("date"), date(2026, 12, 1), "2026-12-01"),
    # datetime: naive = Europe/Amsterdam wall clock, stored as UTC ISO
    ("datetime/naive-winter-cet", spec("datetime"), "2026-12-01T10:00", "2026-12-01T09:00:00+00:00"),
    ("datetime/naive-summer-cest", spec("datetime"), "2026-07-01T10:00", "2026-07-01T08:00:00+00:00"),
    ("datetime/naive-space-separator", spec("datetime"), "2026-12-01 10:00",
     "2026-12-01T09:00:00+00:00"),
    ("datetime/naive-day-after-dst-starts", spec("datetime"), "2026-03-29T10:00",
     "2026-03-29T08:00:00+00:00"),
    ("datetime/utc-offset", spec("datetime"), "2026-12-01T10:00+00:00", "2026-12-01T10:00:00+00:00"),
    ("datetime/z-suffix", spec("datetime"), "2026-12-01T10:00Z", "2026-12-01T10:00:00+00:00"),
    ("datetime/other-zone", spec("datetime"), "2026-12-01T10:00:00+05:30",
     "2026-12-01T04:30:00+00:00"),
    ("datetime/amsterdam-offset", spec("datetime"), "2026-07-01T10:00+02:00",
     "2026-07-01T08:00:00+00:00"),
    ("datetime/naive-object", spec("datetime"), datetime(2026, 12, 1, 10, 0),
     "2026-12-01T09:00:00+00:00"),
    ("datetime/aware-object", spec("datetime"),
     datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam")), "2026-12-01T09:00:00+00:00"),
    ("datetime/utc-object", spec("datetime"), datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
     "2026-12-01T10:00:00+00:00"),
    # enum
    ("enum/choice", spec("enum", choices=CHOICES), "thuis", "thuis"),
    ("enum/trimmed", spec("enum", choices=CHOICES), " locatie ", "locatie"),
    # bool
    ("bool/true", spec("bool"), True, True),
    ("bool/false", spec("bool"), False, False),
    ("bool/ja", spec("bool"), "ja", True),
    ("bool/nee", spec("bool"), "nee", False),
    ("bool/Ja-capital", spec("bool"), "Ja", True),
    ("bool/NEE-upper", spec("bool"), "NEE", False),
    ("bool/ja-trimmed", spec("bool"), " ja ", True),
    ("bool/true-text", spec("bool"), "true", True),
    ("bool/false-text", spec("bool"), "false", False),
    ("bool/TRUE-upper", spec("bool"), "TRUE", True),
    ("bool/yes", spec("bool"), "yes", True),
    ("bool/no", spec("bool"), "no", False),
    ("bool/one", spec("bool"), "1", True),
    ("bool/zero", spec("bool"), "0", False),
    # int
    ("int/text", spec("int"), "3", 3),
    ("int/number", spec("int"), 3, 3),
    ("int/trimmed", spec("int"), " 7 ", 7),
    ("int/negative", spec("int"), "-2", -2),
    ("int/zero", spec("int"), 0, 0),
    ("int/at-min", spec("int", minimum=1, maximum=10), "1", 1),
    ("int/at-max", spec("int", minimum=1, maximum=10), 10, 10),
    ("int/only-max", spec("int", maximum=10), -50, -50),
    # person
    ("person/name", spec("person"), "Anna de Vries", "Anna de Vries"),
    ("person/trimmed", spec("person"), "  Anna de Vries ", "Anna de Vries"),
    # list
    ("list/semicolon-string", spec("list"), "ouders; jgz ;coach", ["ouders", "jgz", "coach"]),
    ("list/single-item-string", spec("list"), "ouders", ["ouders"]),
    ("list/empty-items-dropped", spec("list"), "a;;b;", ["a", "b"]),
    ("list/json-list", spec("list"), ["ouders", "jgz"], ["ouders", "jgz"]),
    ("list/json-list-items-trimmed", spec("list"), [" ouders "], ["ouders"]),
    ("list/json-list-empty-items-dropped", spec("list"), ["a", "", None], ["a"]),
    ("list/min-items-met", spec("list", min_items=2), "a;b", ["a", "b"]),
    ("list/items-date", spec("list", items="date"), "2026-01-05; 2026-02-05",
     ["2026-01-05", "2026-02-05"]),
    ("list/items-int", spec("list", items="int"), "1;2", [1, 2]),
    ("list/items-person", spec("list", items="person"), ["Anna", "Bert"], ["Anna", "Bert"]),
    ("list/items-enum", spec("list", items="enum", choices=CHOICES), "thuis;locatie",
     ["thuis", "locatie"]),
]

# (id, field, raw value)
INVALID: list[tuple[str, FieldSpec, Any]] = [
    ("text/number", spec("text"), 42),
    ("text/too-long", spec("text"), "x" * (MAX_TEXT + 1)),
    ("date/dutch-order", spec("date"), "01-12-2026"),
    ("date/no-such-day", spec("date"), "2026-02-30"),
    ("date/word", spec("date"), "morgen"),
    ("datetime/word", spec("datetime"), "morgen"),
    ("datetime/no-such-hour", spec("datetime"), "2026-12-01T25:00"),
    ("enum/not-a-choice", spec("enum", choices=CHOICES), "school"),
    ("enum/case-sensitive", spec("enum", choices=CHOICES), "Thuis"),
    ("bool/word", spec("bool"), "misschien"),
    ("bool/two", spec("bool"), "2"),
    ("bool/number-two", spec("bool"), 2),
    ("int/word", spec("int"), "drie"),
    ("int/decimal-text", spec("int"), "2.5"),
    ("int/float", spec("int"), 2.5),
    ("int/bool", spec("int"), True),
    ("int/below-min", spec("int", minimum=1, maximum=10), "0"),
    ("int/above-max", spec("int", minimum=1, maximum=10), 11),
    ("person/number", spec("person"), 7),
    ("list/not-a-list", spec("list"), 42),
    ("list/too-few-items", spec("list", min_items=3), "a;b"),
    ("list/too-few-items-json", spec("list", min_items=3), ["a", "b"]),
    ("list/bad-date-item", spec("list", items="date"), "2026-01-05;morgen"),
    ("list/bad-int-item", spec("list", items="int"), ["1", "twee"]),
    ("list/bad-enum-item", spec("list", items="enum", choices=CHOICES), "thuis;school"),
]


def test_tables_cover_every_field_type() -> None:
    assert {f.type for _, f, _, _ in VALID} == set(FIELD_TYPES)
    assert {f.type for _, f, _ in INVALID} == set(FIELD_TYPES)


@pytest.mark.parametrize(("field", "raw", "expected"), [c[1:] for c in VALID],
                         ids=[c[0] for c in VALID])
def test_valid_value_is_normalised(field: FieldSpec, raw: Any, expected: Any) -> None:
    clean, reasons = one(field, raw)
    assert reasons == []
    assert clean == {"veld": expected}
    assert type(clean["veld"]) is type(expected)
    json.dumps(clean)  # what is stored must be JSON-safe


@pytest.mark.parametrize(("field", "raw"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_value_is_refused_with_its_label(field: FieldSpec, raw: Any) -> None:
    clean, reasons = one(field, raw)
    assert codes(reasons) == ["field-invalid"]  # and not also field-missing
    assert LABEL in reasons[0].message
    assert clean == {}


def test_naive_datetime_is_read_in_amsterdam_and_stored_in_utc() -> None:
    clean, _ = one(spec("datetime"), "2026-12-01T10:00")
    stored = datetime.fromisoformat(clean["veld"])
    offset = stored.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert stored.astimezone(ZoneInfo("Europe/Amsterdam")).replace(tzinfo=None) == datetime(
        2026, 12, 1, 10, 0)


def test_enum_message_lists_the_choices() -> None:
    _, reasons = one(spec("enum", choices=CHOICES), "school")
    assert "thuis" in reasons[0].message and "locatie" in reasons[0].message


@pytest.mark.parametrize(
    ("field", "raw", "fragment"),
    [
        (spec("int", minimum=1, maximum=10), "0", "1"),
        (spec("int", minimum=1, maximum=10), "11", "10"),
        (spec("list", min_items=3), "a;b", "3"),
    ],
    ids=["int-min", "int-max", "list-min-items"],
)
def test_bound_messages_name_the_bound(field: FieldSpec, raw: Any, fragment: str) -> None:
    _, reasons = one(field, raw)
    assert fragment in reasons[0].message.removeprefix(LABEL)


# --- required and optional ---------------------------------------------------------------------


EMPTY_VALUES: list[tuple[str, Any]] = [("none", None), ("empty", ""), ("blank", "   "),
                                       ("empty-list", [])]


@pytest.mark.parametrize("ftype", FIELD_TYPES)
def test_required_field_left_out_is_missing(ftype: FieldType) -> None:
    field = spec(ftype, choices=CHOICES if ftype == "enum" else ())
    clean, reasons = validate((field,), {})
    assert codes(reasons) == ["field-missing"]
    assert LABEL in reasons[0].message
    assert clean == {}


@pytest.mark.parametrize("raw", [v for _, v in EMPTY_VALUES], ids=[n for n, _ in EMPTY_VALUES])
def test_empty_value_counts_as_missing(raw: Any) -> None:
    _, reasons = one(spec("text"), raw)
    assert codes(reasons) == ["field-missing"]


@pytest.mark.parametrize("raw", [v for _, v in EMPTY_VALUES], ids=[n for n, _ in EMPTY_VALUES])
def test_optional_field_may_be_empty(raw: Any) -> None:
    clean, reasons = one(spec("date", required=False), raw)
    assert reasons == []
    assert clean == {}


def test_optional_field_may_be_left_out() -> None:
    assert validate((spec("int", required=False),), {}) == ({}, [])


def test_optional_field_given_is_still_checked() -> None:
    clean, reasons = one(spec("date", required=False), "morgen")
    assert codes(reasons) == ["field-invalid"]
    assert clean == {}


@pytest.mark.parametrize(("field", "raw"), [(spec("bool"), False), (spec("bool"), "nee"),
                                            (spec("int"), 0), (spec("int"), "0")],
                         ids=["bool-false", "bool-nee", "int-zero", "int-zero-text"])
def test_falsy_values_satisfy_a_required_field(field: FieldSpec, raw: Any) -> None:
    clean, reasons = one(field, raw)
    assert reasons == []
    assert "veld" in clean


@pytest.mark.parametrize("raw", [";", " ; ; ", ["", None]], ids=["semicolon", "blanks", "json"])
def test_required_list_of_only_empty_items_is_missing(raw: Any) -> None:
    _, reasons = one(spec("list"), raw)
    assert codes(reasons) == ["field-missing"]


# --- required_if -------------------------------------------------------------------------------


VVE = FieldSpec(name="vve_indicatie", type="bool", label="VVE-indicatie")
VVE_DATUM = FieldSpec(name="vve_datum", type="date", label="Datum VVE-indicatie", required=False,
                      required_if=Condition("vve_indicatie", True))
RESULTAAT = FieldSpec(name="resultaat", type="enum", label="Resultaat",
                      choices=("behaald", "deels", "niet"))
TOELICHTING = FieldSpec(name="toelichting", type="text", label="Toelichting", required=False,
                        required_if=Condition("resultaat", "niet"))


@pytest.mark.parametrize(
    ("fields", "data", "expected"),
    [
        ((VVE, VVE_DATUM), {"vve_indicatie": "ja"}, ["field-missing"]),
        ((VVE, VVE_DATUM), {"vve_indicatie": True, "vve_datum": ""}, ["field-missing"]),
        ((VVE, VVE_DATUM), {"vve_indicatie": "ja", "vve_datum": "2026-01-05"}, []),
        ((VVE, VVE_DATUM), {"vve_indicatie": "nee"}, []),
        ((VVE, VVE_DATUM), {"vve_indicatie": "nee", "vve_datum": "2026-01-05"}, []),
        ((VVE, VVE_DATUM), {"vve_indicatie": "misschien"}, ["field-invalid"]),
        ((VVE, VVE_DATUM), {"vve_indicatie": "ja", "vve_datum": "gisteren"}, ["field-invalid"]),
        ((RESULTAAT, TOELICHTING), {"resultaat": "niet"}, ["field-missing"]),
        ((RESULTAAT, TOELICHTING), {"resultaat": "deels"}, []),
    ],
    ids=[
        "bool-condition-met-value-missing",
        "bool-condition-met-value-empty",
        "bool-condition-met-value-given",
        "bool-condition-not-met",
        "bool-condition-not-met-value-given-anyway",
        "condition-field-invalid-does-not-require",
        "condition-met-value-invalid-not-also-missing",
        "enum-condition-met-value-missing",
        "enum-condition-not-met",
    ],
)
def test_required_if(fields: tuple[FieldSpec, ...], data: Mapping[str, Any],
                     expected: list[str]) -> None:
    _, reasons = validate(fields, data)
    assert codes(reasons) == expected


def test_required_if_missing_names_the_dependent_field() -> None:
    _, reasons = validate((VVE, VVE_DATUM), {"vve_indicatie": "ja"})
    assert "Datum VVE-indicatie" in reasons[0].message


def test_required_if_without_the_condition_field_is_not_required() -> None:
    optional_vve = FieldSpec(name="vve_indicatie", type="bool", label="VVE", required=False)
    assert validate((optional_vve, VVE_DATUM), {}) == ({}, [])


# --- unknown fields ----------------------------------------------------------------------------


def test_unknown_field_is_reported_with_the_known_ones() -> None:
    clean, reasons = validate((spec("text"),), {"veld": "a", "onbekend": "x"})
    assert codes(reasons) == ["field-unknown"]
    assert "onbekend" in reasons[0].message
    assert "veld" in reasons[0].message.split("onbekend", 1)[1]
    assert clean == {"veld": "a"}


def test_unknown_field_on_a_step_without_fields() -> None:
    clean, reasons = validate((), {"iets": "x"})
    assert codes(reasons) == ["field-unknown"]
    assert "geen" in reasons[0].message
    assert clean == {}


def test_each_unknown_field_is_reported() -> None:
    _, reasons = validate((), {"a": 1, "b": 2})
    assert codes(reasons) == ["field-unknown", "field-unknown"]
    assert "'a'" in reasons[0].message
    assert "'b'" in reasons[1].message


def test_no_fields_and_no_data_is_fine() -> None:
    assert validate((), {}) == ({}, [])


# --- everything at once ------------------------------------------------------------------------


def test_all_problems_are_reported_together() -> None:
    fields = (
        FieldSpec(name="datum", type="date", label="Datum gesprek"),
        FieldSpec(name="uren", type="int", label="Uren per week", minimum=1, maximum=16),
        FieldSpec(name="plaats", type="enum", label="Plaats", choices=CHOICES),
        FieldSpec(name="deelnemers", type="list", label="Deelnemers", min_items=3),
        FieldSpec(name="ouders_akkoord", type="bool", label="Ouders akkoord"),
        FieldSpec(name="notitie", type="text", label="Notitie", required=False),
    )
    data = {"datum": "morgen", "uren": "40", "deelnemers": "ouders;jgz",
            "ouders_akkoord": "nee", "extra": "?"}
    clean, reasons = validate(fields, data)
    assert codes(reasons) == ["field-invalid", "field-invalid", "field-invalid", "field-missing",
                              "field-unknown"]
    messages = " | ".join(r.message for r in reasons)
    for label in ("Datum gesprek", "Uren per week", "Deelnemers", "Plaats"):
        assert label in messages
    assert "extra" in messages
    assert clean == {"ouders_akkoord": False}


def test_valid_submission_returns_every_clean_value() -> None:
    fields = (
        FieldSpec(name="datum", type="date", label="Datum"),
        FieldSpec(name="moment", type="datetime", label="Moment"),
        FieldSpec(name="plaats", type="enum", label="Plaats", choices=CHOICES),
        FieldSpec(name="akkoord", type="bool", label="Akkoord"),
        FieldSpec(name="uren", type="int", label="Uren"),
        FieldSpec(name="mentor", type="person", label="Mentor"),
        FieldSpec(name="doelen", type="list", label="Doelen", min_items=1),
        FieldSpec(name="notitie", type="text", label="Notitie", required=False),
    )
    data = {"datum": "2026-12-01", "moment": "2026-12-01T10:00", "plaats": "thuis",
            "akkoord": "ja", "uren": "4", "mentor": "Anna", "doelen": "praten; spelen"}
    clean, reasons = validate(fields, data)
    assert reasons == []
    assert clean == {"datum": "2026-12-01", "moment": "2026-12-01T09:00:00+00:00",
                     "plaats": "thuis", "akkoord": True, "uren": 4, "mentor": "Anna",
                     "doelen": ["praten", "spelen"]}
    json.dumps(clean)


def test_input_is_not_changed() -> None:
    data = {"veld": " 2026-12-01 "}
    validate((spec("date"),), data)
    assert data == {"veld": " 2026-12-01 "}
