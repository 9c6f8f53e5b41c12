"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API returns has ``type``, ``title``, ``status`` and ``detail``; a refused step adds
``reasons`` (the engine's stable codes with their Dutch sentences) and a request that does not fit
the schema adds ``errors`` (where and what, never the value that was sent: it may be a name).

How kovflow's errors map to statuses:

=========================  ======  ==========================================================
error                      status  why
=========================  ======  ==========================================================
(no or unknown token)      401     with ``WWW-Authenticate: Bearer``
InvalidInput               422     on POST: the body is well-formed JSON but cannot be used
InvalidInput               400     on GET: a query parameter cannot be used
(other refusals, exit 3)   403     the audit or the monitor for a role that may not run them
TransitionNotAllowed       422     with ``reasons``
NotFound                   404     also for a case the actor may not see (no enumeration)
ConcurrentUpdate           409     another writer changed the instance during the step
UnknownState               409     the stored state is not in the pinned route version
(If-Match not current)     412     raised by the API before the step is tried
(If-Match missing)         428     steps need ``If-Match: "<revision>"`` or ``If-Match: *``
DatabaseUnavailable        503
anything else              500     a generic text; the details stay in the server log
=========================  ======  ==========================================================
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from kovflow.errors import (
    ConcurrentUpdate,
    ConfigError,
    DatabaseUnavailable,
    InvalidInput,
    KovflowError,
    NotFound,
    RouteDefinitionError,
    TransitionNotAllowed,
    UnknownState,
)

PROBLEM_JSON = "application/problem+json"
_TYPE = "urn:kovflow:problem:"


class ProblemReason(BaseModel):
    """One unmet condition of a refused step."""

    code: str = Field(description="Stable machine code, e.g. field-missing, role-not-allowed")
    message: str = Field(description="The reason in Dutch, for the coach")


class ProblemError(BaseModel):
    """One place where the request does not fit the schema."""

    location: str = Field(description="Where, e.g. body.birth_date or query.limit")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="A URI naming the kind of problem, e.g. urn:kovflow:problem:not-found")
    title: str = Field(description="Short, the same for every problem of this type (Dutch)")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong this time")
    reasons: list[ProblemReason] | None = Field(
        None, description="For a refused step: every unmet condition")
    errors: list[ProblemError] | None = Field(
        None, description="For a request that does not fit the schema: what and where")


class ApiProblem(Exception):
    """Raised by the API itself (authentication, preconditions) to answer with a problem."""

    def __init__(self, status: int, slug: str, title: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers = headers or {}


def problem(status: int, slug: str, title: str, detail: str, *,
            reasons: list[dict[str, str]] | None = None, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json response; optional members are left out when empty."""
    body: dict[str, Any] = {"type": _TYPE + slug, "title": title, "status": status, "detail": detail}
    if reasons is not None:
        body["reasons"] = reasons
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_WITH_BODY = {"POST", "PUT", "PATCH"}


def _kovflow_problem(request: Request, exc: KovflowError) -> JSONResponse:
    if isinstance(exc, TransitionNotAllowed):
        return problem(422, "step-refused", "Stap niet toegestaan", str(exc),
                       reasons=[{"code": r.code, "message": r.message} for r in exc.reasons])
    if isinstance(exc, NotFound):
        return problem(404, "not-found", "Niet gevonden", str(exc))
    if isinstance(exc, ConcurrentUpdate):
        return problem(409, "conflict", "Casus intussen gewijzigd", str(exc))
    if isinstance(exc, UnknownState):
        return problem(409, "unknown-state", "Onbekende stand", str(exc))
    if isinstance(exc, DatabaseUnavailable):
        # The message may name hosts or files of the installation: not for API clients.
        return problem(503, "database-unavailable", "Database niet bereikbaar",
                       "De database is niet bereikbaar; probeer het later opnieuw.",
                       headers={"Retry-After": "30"})
    if isinstance(exc, ConfigError | RouteDefinitionError):
        return _internal()  # the installation is broken, not the request
    if isinstance(exc, InvalidInput) or exc.exit_code == 2:
        status = 422 if request.method in _WITH_BODY else 400
        return problem(status, "invalid-input", "Ongeldige invoer", str(exc))
    # Other refusals (the audit and the monitor for a role that may not run them) are about the
    # actor's role, never about one case: 403 reveals nothing.
    if exc.exit_code == 3:
        return problem(403, "forbidden", "Geen toegang", str(exc))
    if exc.exit_code == 4:
        return problem(404, "not-found", "Niet gevonden", str(exc))
    if exc.exit_code == 5:
        return problem(409, "conflict", "Conflict", str(exc))
    return _internal()


def _internal() -> JSONResponse:
    return problem(500, "internal", "Interne fout",
                   "Er ging iets mis in kovflow; de beheerder kan het in het serverlog terugvinden.")


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        # Only where and what: pydantic's "input" member would echo what was sent (a name?).
        where = ".".join(str(p) for p in err.get("loc", ()))
        errors.append({"location": where, "message": str(err.get("msg", "invalid"))})
    return problem(422, "invalid-request", "Ongeldig verzoek",
                   "Het verzoek past niet bij het schema; zie errors.", errors=errors)


_HTTP_TITLES = {
    400: ("bad-request", "Ongeldig verzoek"),
    401: ("unauthenticated", "Niet aangemeld"),
    404: ("not-found", "Niet gevonden"),
    405: ("method-not-allowed", "Methode niet toegestaan"),
    406: ("not-acceptable", "Niet aanvaardbaar"),
    415: ("unsupported-media-type", "Mediatype niet ondersteund"),
}


def _http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug, title = _HTTP_TITLES.get(exc.status_code, ("http-error", "Fout"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404:
        detail = "Dit adres bestaat niet in de API."
    return problem(exc.status_code, slug, title, detail, headers=getattr(exc, "headers", None))


def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem(exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return _internal()


def install(api: FastAPI) -> None:
    """Register the handlers that turn every error into a problem."""
    api.add_exception_handler(KovflowError, _kovflow_problem)  # type: ignore[arg-type]
    api.add_exception_handler(RequestValidationError, _validation_problem)  # type: ignore[arg-type]
    api.add_exception_handler(StarletteHTTPException, _http_problem)  # type: ignore[arg-type]
    api.add_exception_handler(ApiProblem, _api_problem)  # type: ignore[arg-type]
    api.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` argument of a route: these statuses answer with a Problem."""
    described = {400: "Ongeldige parameter", 401: "Geen of ongeldig token",
                 403: "Geen toegang voor deze rol",
                 404: "Niet gevonden (of geen toegang: hetzelfde antwoord)",
                 409: "Intussen gewijzigd", 412: "If-Match is niet de huidige revisie",
                 422: "Ongeldige invoer of geweigerde stap", 428: "If-Match ontbreekt",
                 503: "Database niet bereikbaar"}
    return {s: {"description": described.get(s, "Fout"),
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for s in sorted({400, 401, 422, 503, *statuses})}
