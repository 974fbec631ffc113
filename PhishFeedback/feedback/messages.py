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
from feedback.templates import (
    Section,
    default_guidance_url,
    frame,
    reference_template,
    section_frame,
    separators,
    wording,
)

# Characters of one message (subject, text and HTML): far above any feedback, far below what hurts.
MESSAGE_LIMIT = 1_000_000


class _HeaderClasses(HeaderRegistry):
    """The standard registry, with one class per header name for the whole job.

    The standard one builds a new class for every header it parses; a message has about thirty,
    and in a campaign that would be a tenth of the job's time.
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


@shape
class Part:
    """One language's section of the messages, with the values that differ by language."""

    section: Section
    values: dict[str, str]
    html_values: dict[str, str]


class Composer:
    """The messages of one job, built one at a time as they go out, so a campaign never holds them all.

    Every template is checked when the composer is made, before the first message is built.
    """

    def __init__(self, decision: Decision, report: Report, settings: Settings, now: datetime) -> None:
        self.wording = wording(settings, decision.message)
        self.frame = frame()
        # What stands between languages is read only for a message that has several.
        several = len(self.wording.sections) > 1
        self.section_frame = section_frame() if several else ""
        self.separators = separators() if several else ("", "")
        values = {
            "case_number": report.number,
            "case_title": report.title,
            "reported_subject": decision.reported_subject,
            "reported_sender": decision.reported_sender,
            "report_date": report.created.strftime("%Y-%m-%d") if report.created else "",
            "verdict": decision.verdict,
        }
        self.parts = [_part(section, values, settings.guidance_url) for section in self.wording.sections]
        name = " ".join(settings.sender_name.split())
        self.sender = Address(display_name=name, addr_spec=settings.sender_address)
        self.date = format_datetime(now)
        domain = settings.sender_address.rpartition("@")[2]
        self.outgoing = [Outgoing(r, make_msgid(domain=domain)) for r in decision.recipients]
        _check_size(self, max((len(_html_value(r)) for r in decision.recipients), default=0))

    def message(self, item: Outgoing) -> EmailMessage:
        filled = [_filled(part, item.recipient) for part in self.parts]
        texts = [part.section.text.format_map(values).rstrip() for part, (values, _) in zip(self.parts, filled)]
        pages = [part.section.html.format_map(html_values) for part, (_, html_values) in zip(self.parts, filled)]
        subject = self.wording.subject.format_map(filled[0][0])
        text = scrub(self.separators[0].join(texts)) + "\n"
        content = scrub(self._content(pages))
        message = EmailMessage(policy=POLICY)
        message["Subject"] = scrub(" ".join(subject.split()))
        message["From"] = self.sender
        message["To"] = item.recipient
        message["Date"] = self.date
        message["Message-ID"] = item.message_id
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message.set_content(text, cte="quoted-printable")
        page = self.frame.format_map({"content": content, "language": self.wording.sections[0].language})
        message.add_alternative(page, subtype="html", cte="quoted-printable")
        return message

    def _content(self, pages: list[str]) -> str:
        """One language's HTML as it is; several, each in its block marked with its language, a rule between."""
        if len(pages) == 1:
            return pages[0]
        blocks = (
            self.section_frame.format_map({"content": page, "language": part.section.language})
            for part, page in zip(self.parts, pages)
        )
        return f"\n{self.separators[1]}\n".join(blocks)


def _filled(part: Part, recipient: str) -> tuple[dict[str, str], dict[str, str]]:
    """The part's values for one recipient, as text and as HTML, its signature filled in too."""
    values = {**part.values, "reporter": recipient}
    values["signature"] = part.section.signature_text.format_map(values)
    html_values = {**part.html_values, "reporter": _html_value(recipient)}
    html_values["signature"] = part.section.signature_html.format_map(html_values)
    return values, html_values


def _part(section: Section, shared: dict[str, str], guidance_url: str | None) -> Part:
    values = dict(shared, guidance_url=guidance_url or default_guidance_url(section.language))
    # Before escaping too: a secret with `&` or `<` in it would not be found again in the HTML.
    values = {k: scrub(v) for k, v in values.items()}
    values["reference"] = _reference(section.language, values)
    return Part(section, values, {k: _html_value(v) for k, v in values.items()})


def _html_value(value: str) -> str:
    return "<br>\n".join(html.escape(value).splitlines())


def _reference(language: str, values: dict[str, str]) -> str:
    """The line that names the case, without the parts the case lacks: no sentence is left broken."""
    if not values["case_number"]:
        return ""
    return reference_template(language, dated=bool(values["report_date"])).format_map(values)


def _check_size(composer: Composer, longest_reporter: int) -> None:
    """Refuse, before anything goes out, a message longer than MESSAGE_LIMIT, without building it."""
    lengths = [_filled_lengths(part, longest_reporter) for part in composer.parts]
    size = _length(composer.wording.subject, lengths[0][0]) + len(composer.frame)
    for part, (text_lengths, html_lengths) in zip(composer.parts, lengths):
        size += _length(part.section.text, text_lengths) + _length(part.section.html, html_lengths)
    if composer.parts[1:]:
        size += len(composer.parts) * (len(composer.section_frame) + sum(map(len, composer.separators)))
    if size > MESSAGE_LIMIT:
        values = composer.parts[0].values
        longest = max(values, key=lambda k: len(values[k]))
        raise ConfigError(
            f"Each message would hold about {size:,} characters, past the responder's limit of {MESSAGE_LIMIT:,}:"
            f" the templates repeat placeholders whose values are long ({{{longest}}} has"
            f" {len(values[longest]):,} characters). Shorten the subject, signature or template"
            " overrides, or the case's long field; nothing was sent."
        )


def _filled_lengths(part: Part, reporter: int) -> tuple[dict[str, int], dict[str, int]]:
    """How long the part's values are, as text and as HTML, for a reporter address of this length."""
    text = {**{k: len(v) for k, v in part.values.items()}, "reporter": reporter}
    text["signature"] = _length(part.section.signature_text, text)
    html_lengths = {**{k: len(v) for k, v in part.html_values.items()}, "reporter": reporter}
    html_lengths["signature"] = _length(part.section.signature_html, html_lengths)
    return text, html_lengths


def _length(template: str, lengths: dict[str, int]) -> int:
    """How long the template is once filled with values of these lengths."""
    return sum(
        len(literal) + (lengths[name] if name is not None else 0) for literal, name, _, _ in Formatter().parse(template)
    )
