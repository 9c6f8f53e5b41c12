"""Mail templates render from an allow-listed context that cannot carry personal data."""

from __future__ import annotations

import jinja2
import pytest

from kovflow.notify.render import MailContext, RenderError, environment, link_for, render
from kovflow.resources import template_names

BASE = "https://kovflow.arnhem.example"


def _ctx(template: str) -> MailContext:
    soort = template if template in {"melding", "herinnering", "escalatie"} else "taak"
    if template == "digest":
        return MailContext("digest", link_for(BASE), aantal=3)
    return MailContext(soort, link_for(BASE))


@pytest.mark.parametrize("template", sorted(template_names()))
def test_every_shipped_template_renders(template: str) -> None:
    mail = render(template, _ctx(template), base_url=BASE)
    assert mail.subject and "\n" not in mail.subject
    assert f"{BASE}/taken" in mail.text
    assert f'href="{BASE}/taken"' in mail.html
    assert "{{" not in mail.text + mail.html and "{%" not in mail.text + mail.html


def test_subject_is_the_subject_block_alone() -> None:
    mail = render("melding", _ctx("melding"))
    assert mail.subject == "Er staat een taak voor u klaar"
    assert mail.text.startswith("Er staat een taak voor u klaar in kovflow.")


def test_the_shipped_set_is_not_empty() -> None:
    assert {"melding", "herinnering", "escalatie"} <= template_names()


def test_html_autoescapes_and_text_does_not() -> None:
    env = environment()
    assert env is environment()  # one environment, built once
    hostile = '"><script>alert(1)</script>'
    html = env.get_template("melding.html").render(link=hostile)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&#34;&gt;" in html
    assert hostile in env.get_template("melding.txt").render(link=hostile)


def test_strict_undefined_raises_on_a_missing_variable() -> None:
    page = environment().get_template("melding.txt")
    with pytest.raises(jinja2.UndefinedError):
        page.render()


def test_unknown_template_is_refused_with_the_known_names() -> None:
    with pytest.raises(RenderError, match=r"unknown mail template 'bestaat_niet'.*melding"):
        render("bestaat_niet", _ctx("melding"))
    with pytest.raises(RenderError):
        render("_base", _ctx("melding"))  # a layout is not a message


@pytest.mark.parametrize("soort", ["", "kind", "Zwaantje", "meldcode"])
def test_unknown_soort_is_refused(soort: str) -> None:
    with pytest.raises(RenderError, match="soort"):
        MailContext(soort, link_for(BASE))


@pytest.mark.parametrize("link", [
    "https://kovflow.arnhem.example/taken?case=KOV-00001",
    "https://kovflow.arnhem.example/taken#KOV-00001",
    "https://kovflow.arnhem.example/cases/KOV-00001",
    "https://kovflow.arnhem.example/KOV-00001/taken",
    "https://kovflow.arnhem.example/meldcode/12/",
    "https://zwaantje:geheim@kovflow.arnhem.example/taken",
    "javascript:alert(1)",
    "/taken",
])
def test_links_that_could_carry_a_case_are_refused(link: str) -> None:
    with pytest.raises(RenderError):
        MailContext("melding", link)


def test_a_link_to_another_host_is_refused_against_the_base_url() -> None:
    elsewhere = MailContext("melding", "https://evil.example/taken")  # well-formed on its own
    with pytest.raises(RenderError, match="does not point at this installation"):
        render("melding", elsewhere, base_url=BASE)
    with pytest.raises(RenderError, match="does not point at this installation"):
        MailContext.from_stored({"soort": "melding", "link": "https://evil.example/taken"}, BASE)
    assert MailContext.from_stored({"soort": "melding", "link": f"{BASE}/"}, BASE).link == f"{BASE}/"


def test_stored_context_with_extra_keys_is_refused() -> None:
    with pytest.raises(RenderError, match="first_name"):
        MailContext.from_stored({"soort": "melding", "link": link_for(BASE),
                                 "first_name": "Zwaantje"}, BASE)


def test_aantal_only_for_a_digest_and_only_a_count() -> None:
    with pytest.raises(RenderError):
        MailContext("digest", link_for(BASE))
    with pytest.raises(RenderError):
        MailContext("melding", link_for(BASE), aantal=2)
    with pytest.raises(RenderError):
        MailContext("digest", link_for(BASE), aantal=-1)
    with pytest.raises(RenderError):
        MailContext("digest", link_for(BASE), aantal="Zwaantje")  # type: ignore[arg-type]
    with pytest.raises(RenderError):
        link_for(BASE, "/cases/1")


def test_context_is_frozen() -> None:
    ctx = MailContext("melding", link_for(BASE))
    with pytest.raises(AttributeError):
        ctx.soort = "Zwaantje"  # type: ignore[misc]
    with pytest.raises(TypeError):
        MailContext("melding", link_for(BASE), first_name="Zwaantje")  # type: ignore[call-arg]
