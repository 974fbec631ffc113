"""Turning a decision into finished e-mails: placeholders filled, values escaped, MIME built.

Every value placed in a message may come from the attacker (the reported subject is in the case
title), so values are HTML-escaped in the HTML part, never turned into links, their own links and host
names defanged (feedback/quotation.py), and flattened to one line in headers; the subject is cut short
and a message has a size limit, checked before the first one goes out. The wording comes from
`templates`.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from string import Formatter

from feedback.case import CaseError, Report
from feedback.headers import EncodedWords, header_value
from feedback.letterhead import letterhead
from feedback.logo import attach, encoded_size
from feedback.message_policy import POLICY, boundary
from feedback.message_settings import MessageSettings
from feedback.parts import LONGEST_QUOTE, LONGEST_SUBJECT, Part, check_size, fill_for, html_value, make_part
from feedback.plan import Decision
from feedback.quotation import quoted
from feedback.redaction import holds_secret, item_held, scrub
from feedback.shapes import shape
from feedback.templates import (
    Wording,
    correction_wording,
    frame,
    section_frame,
    separators,
    verdict_words,
    wording,
)

# What a sentence calls each value of the case the messages quote.
SHOWN = {
    "case_number": "number",
    "case_title": "title",
    "reported_subject": "reported subject",
    "reported_sender": "reported sender",
}


@shape
class Outgoing:
    recipient: str
    message_id: str
    dated_after: datetime | None  # what the record of it must be dated after (plan.py `Decision.dated_after`)


class Composer:
    """The messages for the reporters of one set of languages (feedback/composers.py holds one per set), built one
    at a time as they go out, so a campaign never holds them all.

    Every template is checked when the composer is made, before the first message is built.
    """

    def __init__(self, decision: Decision, report: Report, settings: MessageSettings) -> None:
        self.wording = wording(settings, decision.message)
        correcting = correction_wording(settings, decision.verdict) if decision.corrections else None
        self.frame = frame()
        from_case = {
            "case_number": report.number,
            "case_title": report.title,
            "reported_subject": decision.reported_subject,
            "reported_sender": decision.reported_sender,
        }
        values = {
            **_quoted(from_case, self.wording, correcting),
            "report_date": report.created.strftime("%Y-%m-%d") if report.created else "",
            "verdict": decision.verdict,
        }
        self.parts = [make_part(section, values, settings.guidance_url) for section in self.wording.sections]
        self.earlier = decision.corrections
        self.corrections = _corrections(decision, correcting, values, settings.guidance_url)
        every = [(self.wording, self.parts), *self.corrections.values()]
        # What stands between languages is read only for a message that has several.
        several = any(len(chosen.sections) > 1 for chosen, _ in every)
        self.section_frame = section_frame() if several else ""
        self.separators = separators() if several else ("", "")
        name = " ".join(settings.sender_name.split())
        sender = Address(display_name=name, addr_spec=settings.sender_address)
        # What every message of the job carries alike, parsed once: the email package parses each value it is given.
        fixed = {
            "From": sender,
            "Reply-To": _reply_to(settings),
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
        }
        self.fixed = {name: POLICY.header_factory(name, value) for name, value in fixed.items() if value is not None}
        self.subjects: dict[str, str] = {}
        self.dated: tuple[str, BaseHeader | None] = ("", None)
        self.boundaries = (boundary(), boundary())
        domain = settings.sender_address.rpartition("@")[2]
        later = decision.dated_after
        self.outgoing = [Outgoing(r, make_msgid(domain=domain), later.get(r)) for r in decision.recipients]
        self.letterhead = letterhead(settings, [section.language for section in self.wording.sections])
        longest = max((len(html_value(r)) for r in decision.recipients), default=0)
        head = self.letterhead
        fixed = len(self.frame) + len(head.top) + len(head.bottom) + encoded_size(head.logo)
        for chosen, parts in every:
            between = len(parts) * (len(self.section_frame) + sum(map(len, self.separators))) if parts[1:] else 0
            check_size(chosen.subject, parts, fixed + between, longest)

    def message(self, item: Outgoing) -> EmailMessage:
        chosen, parts = self._chosen(item.recipient)
        filled = [fill_for(one, item.recipient) for one in parts]
        texts = [part.section.text.format_map(values).rstrip() for part, (values, _) in zip(parts, filled)]
        pages = [part.section.html.format_map(html_values) for part, (_, html_values) in zip(parts, filled)]
        subject = _cut(chosen.subject.format_map(filled[0][0]))
        text = scrub(self.separators[0].join(texts), pieces=False) + "\n"
        content = scrub(self._content(parts, pages), pieces=False)
        message = EmailMessage(policy=POLICY)
        message["Subject"] = self._subject(scrub(subject, pieces=False))
        message["From"] = self.fixed["From"]
        if "Reply-To" in self.fixed:
            message["Reply-To"] = self.fixed["Reply-To"]
        # In angle brackets: a bare address beside HTML and one image is a spam sign (TO_NO_BRKTS_HTML_IMG).
        message["To"] = f"<{item.recipient}>"
        message["Date"] = self._date()
        message["Message-ID"] = item.message_id
        message["Auto-Submitted"] = self.fixed["Auto-Submitted"]
        message["X-Auto-Response-Suppress"] = self.fixed["X-Auto-Response-Suppress"]
        message.set_content(text, cte="quoted-printable")
        message.make_alternative(boundary=self.boundaries[0])
        language = self.wording.sections[0].language
        head = self.letterhead
        # The page's title is the subject: a reader of the page alone (a screen reader, a browser) knows what it is.
        title = html.escape(" ".join(message["Subject"].split()))
        page = self.frame.format_map(
            {"content": content, "language": language, "title": title, "logo": head.top, "footer": head.bottom}
        )
        message.add_alternative(page, subtype="html", cte="quoted-printable")
        if head.logo:
            attach(message, head.logo, head.cid, self.boundaries[1])
        return message

    def _date(self) -> BaseHeader:
        """Now, not when the job began (a paced campaign may last hours): parsed and folded once for all the
        messages of the same second."""
        now = format_datetime(datetime.now(timezone.utc))
        if self.dated[0] != now:
            self.dated = (now, POLICY.header_factory("Date", now))
        return self.dated[1]

    def _subject(self, subject: str) -> str:
        """The Subject header, parsed once for all the messages that share it."""
        if subject not in self.subjects:
            value = header_value("Subject", subject)
            # Encoded words of the case's are written as they are, never parsed (feedback/headers.py).
            parsed = value if isinstance(value, EncodedWords) else POLICY.header_factory("Subject", value)
            self.subjects[subject] = parsed
        return self.subjects[subject]

    def _chosen(self, recipient: str) -> tuple[Wording, list[Part]]:
        """The verdict's wording and parts, or, for a reporter last told another verdict, the correction's."""
        earlier = self.earlier.get(recipient)
        return (self.wording, self.parts) if earlier is None else self.corrections[earlier]

    def _content(self, parts: list[Part], pages: list[str]) -> str:
        """One language's HTML as it is; several, each in its block marked with its language, a rule between."""
        if len(pages) == 1:
            return pages[0]
        blocks = (
            self.section_frame.format_map({"content": page, "language": part.section.language})
            for part, page in zip(parts, pages)
        )
        return f"\n{self.separators[1]}\n".join(blocks)


def _quoted(values: dict[str, str], *wordings: Wording | None) -> dict[str, str]:
    """The attacker's words as the messages quote them; refused, whole, where the messages show one that holds a
    secret of the responder's.

    Masked, a secret would tell the reporter which of the words they wrote is the password (a subject can hold
    thousands of guesses). Refused, the job tells whoever wrote the words no more than whether one of them was a
    secret, and tells the SOC that the secret is out, at the first such report: changed, it answers no more guesses.
    """
    for name, text in values.items():
        # The templates are read for their placeholders only where a value holds a secret: most jobs never do.
        if holds_secret(text, pieces=False) and name in _shown(*wordings):
            item = item_held(text) or "a password, key or token of its configuration"
            raise CaseError(
                f"The case's {SHOWN[name]} holds one of the responder's secrets ({item}), which the messages would"
                " show the reporter: whoever put it there, a person or a server that echoed it, knows that secret."
                " Change it where it was issued and in the responder's configuration, then run the responder again;"
                " nothing was sent."
            )
    return {name: quoted(_cut(text, LONGEST_QUOTE)) for name, text in values.items()}


def _shown(*wordings: Wording | None) -> set[str]:
    """The placeholders the messages fill, in any part: a value no message shows tells a reporter nothing."""
    templates = [
        template
        for chosen in wordings
        if chosen is not None
        for template in (
            chosen.subject,
            *(text for s in chosen.sections for text in (s.text, s.html, s.signature_text, s.signature_html)),
        )
    ]
    names = {name for template in templates for _, name, _, _ in Formatter().parse(template) if name}
    return names | {"case_number"} if "reference" in names else names  # the line that names the case


def _cut(text: str, longest: int = LONGEST_SUBJECT) -> str:
    """The text at most `longest` characters long: a subject quotes the attacker's, which may be 100,000 (beyond what
    Postfix keeps of a header block, 100 kB, and Exchange Online takes, 256 kB), and readers show the first hundred
    or so; a value of the case, cut once its secrets were looked for whole."""
    return text if len(text) <= longest else text[: longest - 1].rstrip() + "…"


def _corrections(
    decision: Decision, chosen: Wording | None, values: dict[str, str], guidance_url: str | None
) -> dict[str, tuple[Wording, list[Part]]]:
    """The correction's wording, and its parts for each earlier verdict, named in each language's words."""
    if chosen is None:
        return {}
    return {
        earlier: (
            chosen,
            [
                make_part(
                    section,
                    {**values, "earlier_verdict": verdict_words(section.language).get(earlier, earlier)},
                    guidance_url,
                )
                for section in chosen.sections
            ],
        )
        for earlier in sorted(set(decision.corrections.values()))
    }


def _reply_to(settings: MessageSettings) -> Address | None:
    """Where a reporter's answer goes when `from` is a mailbox nobody reads."""
    if settings.reply_to is None:
        return None
    name, address = settings.reply_to
    return Address(display_name=" ".join(name.split()), addr_spec=address)
