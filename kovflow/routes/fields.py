"""Validate and normalise the data a coach submits with a step.

Values arrive as strings (forms, CLI) or JSON values (API). Each field type has one parser that
returns a JSON-safe value or a Dutch sentence saying what is wrong. Every problem is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kovflow.errors import Reason
from kovflow.routes.spec import FieldSpec

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_TRUE = {"true", "ja", "yes", "1", "j", "y"}
_FALSE = {"false", "nee", "no", "0", "n"}
MAX_TEXT = 10_000


class _Invalid(ValueError):
    pass


def _text(value: Any, spec: FieldSpec) -> str:
    if not isinstance(value, str):
        raise _Invalid("moet tekst zijn")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise _Invalid(f"is te lang (maximaal {MAX_TEXT} tekens)")
    return text


# Reasons never repeat the refused value: it may be a name typed into the wrong field, and
# reasons reach screens, API answers and logs.
# Dates far outside a child's life are typing errors; they would also overflow date arithmetic.
_YEARS = range(1900, 2200)


def _in_range(day: date) -> None:
    if day.year not in _YEARS:
        raise _Invalid(f"ligt buiten de jaren {_YEARS.start}-{_YEARS.stop - 1}")


def _date(value: Any, spec: FieldSpec) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        _in_range(value)
        return value.isoformat()
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise _Invalid("is geen datum; schrijf JJJJ-MM-DD, bijvoorbeeld 2026-12-01") from None
    _in_range(day)
    return day.isoformat()


def _datetime(value: Any, spec: FieldSpec) -> str:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise _Invalid("is geen datum en tijd; schrijf bijvoorbeeld 2026-12-01T10:00") from None
    _in_range(moment.date())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_AMSTERDAM)
    return moment.astimezone(ZoneInfo("UTC")).isoformat()


def _enum(value: Any, spec: FieldSpec) -> str:
    text = str(value).strip()
    if text not in spec.choices:
        raise _Invalid(f"is geen keuze; kies uit {', '.join(spec.choices)}")
    return text


def _bool(value: Any, spec: FieldSpec) -> bool:
    try:
        return parse_bool(value)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def parse_bool(value: Any) -> bool:
    """ja/nee, true/false, 1/0 (any case) as a bool; ``ValueError`` says what is accepted."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("is geen ja/nee")


def _int(value: Any, spec: FieldSpec) -> int:
    if isinstance(value, bool):
        raise _Invalid("moet een geheel getal zijn")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise _Invalid("is geen geheel getal") from None
    if spec.minimum is not None and number < spec.minimum:
        raise _Invalid(f"moet minstens {spec.minimum} zijn")
    if spec.maximum is not None and number > spec.maximum:
        raise _Invalid(f"mag hoogstens {spec.maximum} zijn")
    return number


def _person(value: Any, spec: FieldSpec) -> str:
    text = _text(value, spec)
    if not text:
        raise _Invalid("noem een persoon")
    return text


def _list(value: Any, spec: FieldSpec) -> list[Any]:
    items = [v.strip() for v in value.split(";")] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _Invalid("moet een lijst zijn")
    parser = PARSERS[spec.items or "text"]
    out = [parser(v, spec) for v in items if v not in ("", None)]
    if len(out) < spec.min_items:
        raise _Invalid(f"noem er minstens {spec.min_items}")
    return out


PARSERS: Mapping[str, Callable[[Any, FieldSpec], Any]] = {
    "text": _text, "date": _date, "datetime": _datetime, "enum": _enum, "bool": _bool,
    "int": _int, "person": _person, "list": _list,
}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def validate(fields: tuple[FieldSpec, ...], data: Mapping[str, Any]) -> tuple[dict[str, Any], list[Reason]]:
    """Normalise ``data`` against ``fields``; return clean values and every problem found."""
    clean: dict[str, Any] = {}
    reasons: list[Reason] = []
    invalid: set[str] = set()
    known = {f.name for f in fields}
    for name in data:
        if name not in known:
            allowed = ", ".join(sorted(known)) or "geen"
            reasons.append(Reason("field-unknown", f"veld '{name}' hoort niet bij deze stap "
                                  f"(velden: {allowed})"))
    for spec in fields:
        raw = data.get(spec.name)
        if _empty(raw):
            continue
        try:
            value = PARSERS[spec.type](raw, spec)
            if value != []:  # a list of only blanks is as empty as no list
                clean[spec.name] = value
        except _Invalid as exc:
            invalid.add(spec.name)
            reasons.append(Reason("field-invalid", f"{spec.label}: {exc}"))
    for spec in fields:
        if spec.name in clean or spec.name in invalid:
            continue
        needed = spec.required
        if spec.required_if is not None:
            needed = clean.get(spec.required_if.field) == spec.required_if.equals
        if needed:
            reasons.append(Reason("field-missing", f"{spec.label} is verplicht"))
    return clean, reasons
