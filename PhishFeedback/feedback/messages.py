"""Turning a decision into finished e-mails: placeholders filled, values escaped, MIME built.

Every value placed in a message may come from the attacker (the reported subject is in the case
title), so values are HTML-escaped in the HTML part, never turned into links, and flattened to one
line in headers; a message has a size limit, checked before the first one goes out. The wording
comes from `templates`.
"""

from __future__ import annotations

import html
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from string import Formatter

from feedback.case import Report
from feedback.items import ConfigError
from feedback.plan import Decision
from feedback.redaction import scrub
from feedback.settings import Settings
from feedback.shapes import shape
from feedback.templates import default_guidance_url, frame, reference_template, verdict_templates

# Characters of one message (subject, text and HTML): far above any feedback, far below what hurts.
MESSAGE_LIMIT = 1_000_000


class _HeaderClasses(HeaderRegistry):
    """The standard registry, with one class per header name for the whole job.

    The standard one builds a new class for every header it parses; a message has about thirty,
    and in a campaign that was a tenth of the job's time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self.made:
            self.made[key] = super().__getitem__(name)
        return self.made[key]


POLICY = default.clone(header_factory=_HeaderClasses())


@shape
class Outgoing:
    recipient: str
    message_id: str


class Composer:
    """The messages of one job, built one at a time as they go out, so a campaign never holds them all.

    Every template is checked when the composer is made, before the first message is built.
    """

    def __init__(self, decision: Decision, report: Report, settings: Settings, now: datetime) -> None:
        self.templates = verdict_templates(settings, decision.verdict)
        self.frame = frame()
        self.language = settings.language
        self.values = {
            "case_number": report.number,
            "case_title": report.title,
            "reported_subject": decision.reported_subject,
            "reported_sender": decision.reported_sender,
            "report_date": report.created.strftime("%Y-%m-%d") if report.created else "",
            "verdict": decision.verdict,
            "guidance_url": settings.guidance_url or default_guidance_url(settings.language),
        }
        # Before escaping too: a secret with `&` or `<` in it would not be found again in the HTML.
        self.values = {k: scrub(v) for k, v in self.values.items()}
        self.values["reference"] = _reference(settings.language, self.values)
        self.html_values = {k: _html_value(v) for k, v in self.values.items()}
        name = " ".join(settings.sender_name.split())
        self.sender = Address(display_name=name, addr_spec=settings.sender_address)
        self.date = format_datetime(now)
        domain = settings.sender_address.rpartition("@")[2]
        self.outgoing = [Outgoing(r, make_msgid(domain=domain)) for r in decision.recipients]
        _check_size(self, max((len(_html_value(r)) for r in decision.recipients), default=0))

    def message(self, item: Outgoing) -> EmailMessage:
        templates = self.templates
        values = {**self.values, "reporter": item.recipient}
        values["signature"] = templates.signature_text.format_map(values)
        html_values = {**self.html_values, "reporter": _html_value(item.recipient)}
        html_values["signature"] = templates.signature_html.format_map(html_values)
        text = scrub(templates.text.format_map(values).rstrip()) + "\n"
        content = scrub(templates.html.format_map(html_values))
        message = EmailMessage(policy=POLICY)
        message["Subject"] = scrub(" ".join(templates.subject.format_map(values).split()))
        message["From"] = self.sender
        message["To"] = item.recipient
        message["Date"] = self.date
        message["Message-ID"] = item.message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(text, cte="quoted-printable")
        page = self.frame.format_map({"content": content, "language": self.language})
        message.add_alternative(page, subtype="html", cte="quoted-printable")
        return message


def _html_value(value: str) -> str:
    return "<br>\n".join(html.escape(value).splitlines())


def _reference(language: str, values: dict[str, str]) -> str:
    """The line that names the case, without the parts the case lacks: no sentence is left broken."""
    if not values["case_number"]:
        return ""
    return reference_template(language, dated=bool(values["report_date"])).format_map(values)


def _check_size(composer: Composer, longest_reporter: int) -> None:
    """Refuse, before anything goes out, a message longer than MESSAGE_LIMIT, without building it."""
    templates = composer.templates
    text_lengths = {**{k: len(v) for k, v in composer.values.items()}, "reporter": longest_reporter}
    text_lengths["signature"] = _length(templates.signature_text, text_lengths)
    html_lengths = {**{k: len(v) for k, v in composer.html_values.items()}, "reporter": longest_reporter}
    html_lengths["signature"] = _length(templates.signature_html, html_lengths)
    content = _length(templates.html, html_lengths)
    size = (
        _length(templates.subject, text_lengths)
        + _length(templates.text, text_lengths)
        + _length(composer.frame, {"content": content, "language": len(composer.language)})
    )
    if size > MESSAGE_LIMIT:
        longest = max(composer.values, key=lambda k: len(composer.values[k]))
        raise ConfigError(
            f"Each message would hold about {size:,} characters, past the responder's limit of {MESSAGE_LIMIT:,}:"
            f" the templates repeat placeholders whose values are long ({{{longest}}} has"
            f" {len(composer.values[longest]):,} characters). Shorten the subject, signature or template"
            " overrides, or the case's long field; nothing was sent."
        )


def _length(template: str, lengths: dict[str, int]) -> int:
    """How long the template is once filled with values of these lengths."""
    return sum(
        len(literal) + (lengths[name] if name is not None else 0) for literal, name, _, _ in Formatter().parse(template)
    )
