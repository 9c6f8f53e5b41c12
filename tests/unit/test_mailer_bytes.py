"""The SMTP mailer's per-content message template gives the same message as building it anew."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from kovflow.notify.mailers import OutgoingMail, SmtpMailer, build_mime


def _parsed(data: bytes) -> tuple[dict[str, str], list[str]]:
    msg = message_from_bytes(data, policy=policy.default)
    headers = {k: str(v) for k, v in msg.items() if k.lower() != "content-type"}
    parts = [p.get_content() for p in msg.walk() if not p.is_multipart()]  # type: ignore[attr-defined]
    return headers, parts


def test_templated_bytes_equal_a_fresh_build_for_every_message_of_a_batch() -> None:
    mailer = SmtpMailer()
    base = {"subject": "Herinnering: er wacht een stap op u", "text": "Bekijk uw taken.\n",
            "html": "<p>Bekijk uw taken.</p>"}
    mails = [OutgoingMail(message_id=f"<{i:032x}@kovflow>", to=f"user{i}@example.org",
                          date=datetime(2027, 3, 1 + i, 8, tzinfo=UTC), **base) for i in range(3)]
    for mail in mails:
        assert _parsed(mailer._bytes(mail)) == _parsed(build_mime(mail, mailer.sender).as_bytes())
    assert len(mailer._templates) == 1  # one build for the three messages
    odd = OutgoingMail(message_id="<x@kovflow>", to="Naam Met Spatie <a@example.org>",
                       date=mails[0].date, **base)  # not plain: built the ordinary way
    assert _parsed(mailer._bytes(odd)) == _parsed(build_mime(odd, mailer.sender).as_bytes())
