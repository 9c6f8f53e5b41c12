"""Render mail templates from an allow-listed context that cannot carry personal data.

One Jinja2 environment over the shipped ``notifications/`` folder, built on first use (never at
import). HTML autoescapes; a variable a template needs but the context lacks is an error
(``StrictUndefined``) rather than an empty string. The subject is the ``subject`` block of the
text template, rendered on its own.

``MailContext`` is the only thing a template sees: the kind of message, a link to the task list
(or the start page) of this installation, and for a digest a count. Nothing else fits in it, so a
case row cannot leak into a mail by accident (research notes §3.4). A calendar invitation
(soort ``uitnodiging``) also carries its ``invite``: UID, sequence, method, start and minutes, each
checked strictly (``kovflow.notify.invites.Invitation``); the mailer attaches it as iCalendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import jinja2

from kovflow.errors import KovflowError
from kovflow.notify.invites import Invitation, InvitationError
from kovflow.resources import notifications_dir, template_names

__all__ = ["SOORTEN", "MailContext", "RenderError", "RenderedMail", "link_for", "render"]

SOORTEN = frozenset({"melding", "herinnering", "escalatie", "taak", "digest", "uitnodiging"})
# The only pages a mail may point at: the task list, the start page and (for the coordinator's
# digest) the dashboard. Never a case.
_PAGES = ("/taken", "/", "/coordinator")
_KEYS = frozenset({"soort", "link", "aantal", "invite", "regels"})
# The rule codes a digest may count (kovflow.reports.stalled.RULES and the confidential
# aggregate): an allow-list, so a count line can never carry a name or a case number.
DIGEST_RULES = frozenset({
    "beschikking_beslistermijn", "taak_over_tijd", "gesprek_niet_vastgelegd",
    "toestemming_onbeslist", "beschikking_servicenorm", "geen_voortgang", "uitrol_stap",
    "vertrouwelijk"})


class RenderError(KovflowError):
    """A mail cannot be rendered: unknown template, or a context that is not allowed."""


def link_for(base_url: str, page: str = "/taken") -> str:
    """The link to ``page`` ("/taken" or "/") of the installation at ``base_url``."""
    if page not in _PAGES:
        raise RenderError(f"a mail may only link to {' or '.join(_PAGES)}")
    base = base_url.rstrip("/")
    return f"{base}/" if page == "/" else f"{base}{page}"


@dataclass(frozen=True, slots=True)
class MailContext:
    """What a mail template may know. Validated on construction; refuses anything else."""

    soort: str
    link: str
    aantal: int | None = None
    invite: Invitation | None = None
    regels: tuple[tuple[str, int], ...] | None = None  # digest: (rule code, count) pairs

    def __post_init__(self) -> None:
        if self.soort not in SOORTEN:
            raise RenderError(f"unknown soort; known: {', '.join(sorted(SOORTEN))}")
        parts = urlsplit(self.link)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RenderError("a mail link must be an absolute http(s) URL")
        # A query, fragment or account in the link could carry a case number or a name.
        if parts.query or parts.fragment or parts.username or parts.password:
            raise RenderError("a mail link may not carry a query, fragment or account")
        if not (parts.path.endswith("/taken") or parts.path.endswith("/") or parts.path == ""
                or (self.soort == "digest" and parts.path.endswith("/coordinator"))):
            raise RenderError("a mail may only link to the task list or the start page")
        # Case numbers and record ids are numbered; an installation's own path is not.
        if any(ch.isdigit() for ch in parts.path):
            raise RenderError("a mail link may not carry a number in its path")
        if self.aantal is not None and (isinstance(self.aantal, bool)
                                        or not isinstance(self.aantal, int) or self.aantal < 0):
            raise RenderError("aantal must be a count (int >= 0)")
        if (self.aantal is None) == (self.soort == "digest"):
            raise RenderError("aantal belongs to a digest, and a digest needs aantal")
        if self.invite is not None and not isinstance(self.invite, Invitation):
            raise RenderError(f"invite must be an Invitation, got {type(self.invite).__name__}")
        if (self.invite is None) == (self.soort == "uitnodiging"):
            raise RenderError("invite belongs to an uitnodiging, and an uitnodiging needs invite")
        if self.regels is not None:
            if self.soort != "digest":
                raise RenderError("regels belong to a digest")
            for pair in self.regels:
                if (not isinstance(pair, tuple) or len(pair) != 2 or pair[0] not in DIGEST_RULES
                        or isinstance(pair[1], bool) or not isinstance(pair[1], int)
                        or pair[1] < 0):
                    raise RenderError("regels must be (known rule code, count >= 0) pairs; "
                                      f"known codes: {', '.join(sorted(DIGEST_RULES))}")

    def check_base(self, base_url: str) -> None:
        """Refuse a link that is not exactly this installation's task list or start page."""
        allowed = {link_for(base_url, page) for page in _PAGES} | {base_url.rstrip("/")}
        if self.link not in allowed:
            raise RenderError(f"the mail link does not point at this installation ({base_url}); "
                              "a mail may only link to its task list or start page")

    @classmethod
    def from_stored(cls, values: Mapping[str, Any], base_url: str) -> MailContext:
        """Rebuild a context from an outbox row's JSON, checking keys and link once more."""
        unknown = set(values) - _KEYS
        if unknown:
            raise RenderError(f"mail context holds keys that are not allowed: "
                              f"{', '.join(sorted(unknown))}")
        invite = None
        if values.get("invite") is not None:
            try:
                invite = Invitation.from_context(values["invite"])
            except InvitationError as exc:
                raise RenderError(str(exc)) from None
        regels = values.get("regels")
        if regels is not None:
            if not isinstance(regels, list | tuple):
                raise RenderError("regels must be a list of (rule code, count) pairs")
            regels = tuple(tuple(p) if isinstance(p, list | tuple) else p for p in regels)
        ctx = cls(soort=str(values.get("soort", "")), link=str(values.get("link", "")),
                  aantal=values.get("aantal"), invite=invite, regels=regels)
        ctx.check_base(base_url)
        return ctx

    def variables(self) -> dict[str, Any]:
        found: dict[str, Any] = {"soort": self.soort, "link": self.link}
        if self.aantal is not None:
            found["aantal"] = self.aantal
        if self.regels is not None:
            found["regels"] = [list(p) for p in self.regels]
        if self.invite is not None:
            # What the text may say about an invitation: new, changed or cancelled. Never when.
            found["uitnodiging"] = ("geannuleerd" if self.invite.method == "CANCEL"
                                    else "gewijzigd" if self.invite.sequence > 0 else "nieuw")
        return found


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment for mail templates (cached: templates compile once)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(notifications_dir()),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@cache
def _known_templates() -> frozenset[str]:
    return template_names(notifications_dir())


def render(template: str, ctx: MailContext, *, base_url: str | None = None) -> RenderedMail:
    """Subject, text and HTML of ``template`` for ``ctx`` (link checked against ``base_url``)."""
    known = _known_templates()
    if template not in known:
        raise RenderError(f"unknown mail template {template!r}; known: {', '.join(sorted(known))} "
                          f"(in {notifications_dir()})")
    if base_url is not None:
        ctx.check_base(base_url)
    env = environment()
    variables = ctx.variables()
    try:
        txt = env.get_template(f"{template}.txt")
        html = env.get_template(f"{template}.html")
        subject_block = txt.blocks.get("subject")
        if subject_block is None:
            raise RenderError(f"mail template {template}.txt has no {{% block subject %}}")
        subject = "".join(subject_block(txt.new_context(variables)))
        text_body, html_body = txt.render(variables), html.render(variables)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"mail template {template!r} needs a value the context lacks: "
                          f"{exc.message}") from None
    # A header may not span lines: collapse whitespace so nothing can inject a header.
    subject = " ".join(subject.split())
    if not subject:
        raise RenderError(f"mail template {template}.txt has an empty subject")
    return RenderedMail(subject, text_body, html_body)
