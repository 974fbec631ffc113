"""Turning a decision into finished e-mails: templates, placeholders, escaping and MIME.

Every value placed in a message may come from the attacker (the reported subject is in the case
title), so values are HTML-escaped in the HTML part and flattened to one line in headers, and a
template can name nothing but the known placeholders.
"""

from __future__ import annotations

import html
import os
import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from string import Formatter

from feedback.case import Report
from feedback.plan import Decision
from feedback.settings import VERDICT_ITEMS, ConfigError, Settings
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
)
URL = r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]"


@shape
class Outgoing:
    recipient: str
    message_id: str


@shape
class _Templates:
    subject: str
    text: str
    html: str | None


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
            "guidance_url": settings.guidance_url or _shipped(settings.language, "guidance_url.txt").strip(),
            "signature": settings.signature or _shipped(settings.language, "signature.txt").strip(),
        }
        self.html_values = {k: _html_value(v) for k, v in self.values.items()}
        self.sender = Address(display_name=" ".join(settings.sender_name.split()), addr_spec=settings.sender_address)
        self.date = format_datetime(now)
        domain = settings.sender_address.rpartition("@")[2]
        self.outgoing = [Outgoing(r, make_msgid(domain=domain)) for r in decision.recipients]

    def message(self, item: Outgoing) -> EmailMessage:
        values = {**self.values, "reporter": item.recipient}
        text = self.templates.text.format_map(values)
        if self.templates.html is None:
            content = text_to_html(text)
        else:
            content = self.templates.html.format_map({**self.html_values, "reporter": _html_value(item.recipient)})
        message = EmailMessage()
        message["Subject"] = " ".join(self.templates.subject.format_map(values).split())
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


def text_to_html(text: str) -> str:
    """HTML for a plain-text template: escaped, with its paragraphs, line breaks and links kept."""
    lines = "\n".join(text.strip().splitlines())
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", lines) if p.strip()]
    return "\n".join(f'<p style="margin:0 0 16px 0">{_linked(p)}</p>' for p in paragraphs)


def _linked(paragraph: str) -> str:
    parts, position = [], 0
    for match in re.finditer(URL, paragraph):
        url = html.escape(match.group())
        parts += [html.escape(paragraph[position : match.start()]), f'<a href="{url}" style="color:#0b57d0">{url}</a>']
        position = match.end()
    parts.append(html.escape(paragraph[position:]))
    return "<br>\n".join("".join(parts).splitlines())


def _templates(settings: Settings, verdict: str) -> _Templates:
    language, name = settings.language, TEMPLATE_FILE[verdict]
    override = settings.templates.get(verdict)
    if override is not None:
        text, html_part = _checked(override, VERDICT_ITEMS[verdict]), None
    else:
        text, html_part = _shipped_template(language, f"{name}.txt"), _shipped_template(language, f"{name}.html")
    if settings.subject is not None:
        subject = _checked(settings.subject, "subject")
    else:
        subject = _shipped_template(language, "subject.txt").strip()
    return _Templates(subject, text, html_part)


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
