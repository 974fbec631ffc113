"""Turning a decision into finished e-mails: templates, placeholders, escaping and MIME.

Every value placed in a message may come from the attacker (the reported subject is in the case
title), so values are HTML-escaped in the HTML part, never turned into links, and flattened to one
line in headers; a template can name nothing but the known placeholders, and a message has a
size limit, checked before the first one goes out.
"""

from __future__ import annotations

import html
import os
import re
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from string import Formatter

from feedback.case import Report, printable
from feedback.items import ConfigError
from feedback.plan import Decision
from feedback.redaction import scrub
from feedback.settings import VERDICT_ITEMS, Settings
from feedback.shapes import shape

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
TEMPLATE_FILE = {"Phishing": "phishing", "Spam": "spam", "Legit email": "legit"}
PLACEHOLDERS = (
    "reporter",
    "case_number",
    "case_title",
    "reported_subject",
    "reported_sender",
    "report_date",
    "verdict",
    "guidance_url",
    "signature",
    "reference",
)
URL = r"https?://[^\s<>\"'{}]+[^\s<>\"'{}.,;:!?)]"
LINK = '<a href="{url}" style="color:#0b57d0">{url}</a>'
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


@shape
class _Templates:
    subject: str
    text: str
    html: str
    signature_text: str
    signature_html: str


class Composer:
    """The messages of one job, built one at a time as they go out, so a campaign never holds them all.

    Every template is checked when the composer is made, before the first message is built.
    """

    def __init__(self, decision: Decision, report: Report, settings: Settings, now: datetime) -> None:
        self.templates = _templates(settings, decision.verdict)
        self.frame = _shipped_template("frame.html", known=("content", "language"))
        self.language = settings.language
        self.values = {
            "case_number": report.number,
            "case_title": report.title,
            "reported_subject": decision.reported_subject,
            "reported_sender": decision.reported_sender,
            "report_date": report.created.strftime("%Y-%m-%d") if report.created else "",
            "verdict": decision.verdict,
            "guidance_url": printable(settings.guidance_url or _shipped(settings.language, "guidance_url.txt").strip()),
        }
        # Before escaping too: a secret with `&` or `<` in it would not be found again in the HTML.
        self.values = {k: scrub(v) for k, v in self.values.items()}
        self.values["reference"] = _reference(settings.language, self.values)
        self.html_values = {k: _html_value(v) for k, v in self.values.items()}
        name = " ".join(printable(settings.sender_name).split())
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
    name = "reference.txt" if values["report_date"] else "reference_undated.txt"
    return _shipped_template(language, name).strip().format_map(values)


def text_to_html(template: str) -> str:
    """The HTML template for a plain-text one: its paragraphs, line breaks and links kept, its text escaped.

    Links are found in the template's own text only: a placeholder's value (an attacker's subject,
    say) is inserted escaped, never as a link; `{guidance_url}`, the admin's own link, is linked.
    """
    lines = "\n".join(template.strip().splitlines())
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", lines) if p.strip()]
    return "\n".join(f'<p style="margin:0 0 16px 0">{_html_lines(p)}</p>' for p in paragraphs)


def _html_lines(template: str) -> str:
    """A plain-text template as HTML lines: literal text escaped and linked, placeholders kept."""
    parts = []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(_linked(literal).replace("{", "{{").replace("}", "}}"))
        if name == "guidance_url":
            parts.append(LINK.format(url="{guidance_url}"))
        elif name is not None:
            parts.append(f"{{{name}}}")
    return "<br>\n".join("".join(parts).splitlines())


def _linked(text: str) -> str:
    if "://" not in text:
        return html.escape(text)
    parts, position = [], 0
    for match in re.finditer(URL, text):
        parts += [html.escape(text[position : match.start()]), LINK.format(url=html.escape(match.group()))]
        position = match.end()
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def _templates(settings: Settings, verdict: str) -> _Templates:
    language, name = settings.language, TEMPLATE_FILE[verdict]
    override = settings.templates.get(verdict)
    if override is not None:
        text = _checked(printable(override), VERDICT_ITEMS[verdict])
        html_part = text_to_html(text)
    else:
        text, html_part = _shipped_template(language, f"{name}.txt"), _shipped_template(language, f"{name}.html")
    if settings.subject is not None:
        subject = _checked(printable(settings.subject), "subject")
    else:
        subject = _shipped_template(language, "subject.txt").strip()
    signature_known = tuple(p for p in PLACEHOLDERS if p != "signature")
    if settings.signature is not None:
        signature = _checked(printable(settings.signature.strip()), "signature", signature_known)
    else:
        signature = _shipped_template(language, "signature.txt", known=signature_known).strip()
    return _Templates(subject, text, html_part, signature, _html_lines(signature))


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


def _shipped_template(*parts: str, known: tuple[str, ...] = PLACEHOLDERS) -> str:
    return _checked(_shipped(*parts), f"the shipped {'/'.join(parts)}", known)


def _checked(template: str, source: str, known: tuple[str, ...] = PLACEHOLDERS) -> str:
    """The template unchanged, once every {placeholder} in it is one the responder fills."""
    try:
        fields = [
            (name, spec, conversion) for _, name, spec, conversion in Formatter().parse(template) if name is not None
        ]
    except ValueError as bad:
        raise ConfigError(
            f"The template in {source} is malformed ({bad}); write a lone brace as {{{{ or }}}}."
        ) from None
    for name, spec, conversion in fields:
        if name not in known or spec or conversion:
            raise ConfigError(
                f"The template in {source} uses the unknown placeholder {{{name}}}."
                f" Known placeholders: {', '.join('{' + k + '}' for k in known)}."
            )
    return template


def _shipped(*parts: str) -> str:
    with open(os.path.join(TEMPLATES, *parts), encoding="utf-8") as template:
        return template.read()
