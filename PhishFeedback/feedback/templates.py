"""The messages' wording: the shipped templates per language and verdict, and an admin's overrides.

Each is checked for the placeholders it names (feedback/placeholders.py), the shipped ones too, so that a broken
translation stops the job before it sends; a plain-text override gets an HTML twin whose links come from the
template's own text only, never from a value.
"""

from __future__ import annotations

import html
import os
import re
from string import Formatter

from feedback.flavours import ACKNOWLEDGEMENT, CORRECTION, TEMPLATE_ITEMS
from feedback.items import IN_BOTH
from feedback.message_settings import MessageSettings
from feedback.placeholders import CORRECTION_PLACEHOLDERS, KNOWN, PLACEHOLDERS, SIGNATURE_PLACEHOLDERS, checked
from feedback.shapes import shape

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
# template_phishing → phishing.txt and phishing.html, and so on.
TEMPLATE_FILE = {message: item.removeprefix("template_") for message, item in TEMPLATE_ITEMS.items()}
SUBJECT_FILE = {ACKNOWLEDGEMENT: "acknowledge_subject.txt"}
# What the acknowledgement's report says when a shared item names {verdict} (docs/flavours.md).
SET_ASIDE = (
    "The acknowledgement has its own shipped {item}: the configured {item} names {{verdict}}, and an"
    " acknowledgement goes out before any verdict. To have one {item} in both responders' messages, write it"
    " without {{verdict}} (" + IN_BOTH + ")."
)
URL = r"https?://[^\s<>\"'{}]+[^\s<>\"'{}.,;:!?)]"
LINK = '<a href="{url}" style="color:#0b57d0">{url}</a>'


@shape
class Section:
    """One language's full text of a message; a message holds one section per language, in their order."""

    language: str
    text: str
    html: str
    signature_text: str
    signature_html: str


@shape
class Wording:
    subject: str
    sections: tuple[Section, ...]
    notes: tuple[str, ...]  # for the job's report: a shared item the acknowledgement set aside (`_shared`)


def wording(settings: MessageSettings, message: str) -> Wording:
    """The wording of this message (a verdict's or the acknowledgement), overrides before the shipped text.

    Each language brings its full text, subject and signature. An override is the admin's own
    text, whatever language it is in: a template override is the whole body, once (in the first
    language's frame); a subject or signature override stands for every language's.
    """
    known = KNOWN.get(message, PLACEHOLDERS)
    subject, note = _shared(settings.subject, "subject", message)
    if subject is None:
        subject = _shipped_subject(settings.languages, SUBJECT_FILE.get(message, "subject.txt"))
    return _wording(settings, message, TEMPLATE_FILE[message], known, subject, (note,) if note else ())


def correction_wording(settings: MessageSettings, verdict: str) -> Wording:
    """The wording of a correction to `verdict`: template_correction, else the shipped correction_<verdict> files.

    Its subject is always the shipped one, which says it is a correction and what the message was (a reporter told
    it was harmless must not take a correction to Phishing for more of the same): a `subject` override was written
    for the verdict's message, and would hide that this one corrects it.
    """
    name = f"correction_{TEMPLATE_FILE[verdict]}"
    subject = _shipped_subject(settings.languages, f"{name}_subject.txt")
    return _wording(settings, CORRECTION, name, CORRECTION_PLACEHOLDERS, subject, ())


def verdict_words(language: str) -> dict[str, str]:
    """How a sentence of this language names each verdict ("a legitimate e-mail"): a correction names the earlier."""
    lines = _shipped(language, "verdicts.txt").splitlines()
    return {name.strip(): words.strip() for name, _, words in (line.partition(":") for line in lines) if words.strip()}


def _wording(
    settings: MessageSettings, message: str, name: str, known: tuple[str, ...], subject: str, notes: tuple[str, ...]
) -> Wording:
    languages = settings.languages
    override = settings.templates.get(message)
    if override is not None:
        text = override  # checked when the settings were read (feedback/placeholders.py)
        bodies = [(languages[0], text, text_to_html(text))]
    else:
        bodies = [
            (
                lang,
                _shipped_template(lang, f"{name}.txt", known=known),
                _shipped_template(lang, f"{name}.html", known=known),
            )
            for lang in languages
        ]
    signature, signature_note = _shared(settings.signature and settings.signature.strip(), "signature", message)
    sections = []
    for language, text, html_part in bodies:
        own = signature or _shipped_template(language, "signature.txt", known=SIGNATURE_PLACEHOLDERS).strip()
        sections.append(Section(language, text, html_part, own, _html_lines(own)))
    return Wording(subject, tuple(sections), notes + ((signature_note,) if signature_note else ()))


def _shared(template: str | None, item: str, message: str) -> tuple[str | None, str | None]:
    """The admin's `subject` or `signature`, checked as the settings were read (None: the shipped one serves), and a
    note if it was set aside.

    An admin often gives both flavours the same items: one written for the verdict's message ("Your
    report: {verdict}") would read "Your report: " in an acknowledgement, which goes out before any
    verdict, so the acknowledgement has its own instead, and its report says so (SET_ASIDE).
    """
    if template is None:
        return None, None
    if message == ACKNOWLEDGEMENT and _names_verdict(template):
        return None, SET_ASIDE.format(item=item)
    return template, None


def _names_verdict(template: str) -> bool:
    return any(name == "verdict" for _, name, _, _ in Formatter().parse(template))


def _shipped_subject(languages: tuple[str, ...], name: str) -> str:
    return " / ".join(_shipped_template(lang, name).strip() for lang in languages)


def frame() -> str:
    """The HTML page every message's content goes in."""
    return _shipped_template("frame.html", known=("content", "language", "title", "logo", "footer"))


def letterhead_templates() -> tuple[str, str]:
    """The rows a page with the organisation's logo starts and ends with: the logo beside its name, the footer."""
    top = _shipped_template("logo.html", known=("cid", "name", "contact", "width", "height"))
    return top, _shipped_template("footer.html", known=("name", "contact", "footer"))


def footer_text(language: str) -> str:
    """Why the reporter got the message, below a letterhead's page."""
    return _shipped(language, "footer.txt").strip()


def section_frame() -> str:
    """Where a message holds several languages: each one's HTML in its own block."""
    return _shipped_template("section.html", known=("content", "language"))


def separators() -> tuple[str, str]:
    """What stands between two languages' texts, in the text part and in the HTML part."""
    return "\n\n" + _shipped("separator.txt").strip() + "\n\n", _shipped("separator.html").strip()


def default_guidance_url(language: str) -> str:
    return _shipped(language, "guidance_url.txt").strip()


def no_subject(language: str) -> str:
    """What stands for the reported subject where the reported e-mail had none, as mail readers show it."""
    return _shipped(language, "no_subject.txt").strip()


def reference_template(language: str, dated: bool) -> str:
    """The line that names the case, in the wording for a case with a date or without one."""
    return _shipped_template(language, "reference.txt" if dated else "reference_undated.txt").strip()


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


def _shipped_template(*parts: str, known: tuple[str, ...] = PLACEHOLDERS) -> str:
    """A file of templates/, checked as an override is: a broken translation stops the job before it sends."""
    return checked(_shipped(*parts), f"the shipped {'/'.join(parts)}", known)


def _shipped(*parts: str) -> str:
    with open(os.path.join(TEMPLATES, *parts), encoding="utf-8") as template:
        return template.read()
