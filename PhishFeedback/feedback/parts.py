"""A message's parts: each language's templates with the job's values, filled for one reporter, and sized.

Values are scrubbed of secrets and HTML-escaped here, once per language, so that a campaign fills
each reporter's message by formatting alone; the size a message will have is foreseen from the
values' lengths, so that a message past the limit is refused before the first one goes out.
"""

from __future__ import annotations

import html
from string import Formatter

from feedback.items import ConfigError
from feedback.redaction import scrub
from feedback.shapes import shape
from feedback.templates import Section, default_guidance_url, no_subject, reference_template

# Characters of one message (subject, text and HTML): far above any feedback, far below what hurts.
MESSAGE_LIMIT = 1_000_000
# Characters of a message's Subject (messages.py cuts it there).
LONGEST_SUBJECT = 200
# Characters of a value of the case a message quotes (its title, the reported subject or sender): enough to know the
# report by, and the attacker's subject, 100,000 characters, cannot make a message too long to send anyone.
LONGEST_QUOTE = 1_000


@shape
class Part:
    """One language's section of the messages, with the values that differ by language."""

    section: Section
    values: dict[str, str]
    html_values: dict[str, str]


def fill_for(part: Part, recipient: str) -> tuple[dict[str, str], dict[str, str]]:
    """The part's values for one recipient, as text and as HTML, its signature filled in too."""
    values = {**part.values, "reporter": recipient}
    values["signature"] = part.section.signature_text.format_map(values)
    html_values = {**part.html_values, "reporter": html_value(recipient)}
    html_values["signature"] = part.section.signature_html.format_map(html_values)
    return values, html_values


def make_part(section: Section, shared: dict[str, str], guidance_url: str | None) -> Part:
    values = dict(shared, guidance_url=guidance_url or default_guidance_url(section.language))
    values["reported_subject"] = values["reported_subject"] or no_subject(section.language)
    # Before escaping too: a secret with `&` or `<` in it would not be found again in the HTML.
    values = {k: scrub(v, pieces=False) for k, v in values.items()}
    values["reference"] = _reference(section.language, values)
    return Part(section, values, {k: html_value(v) for k, v in values.items()})


def html_value(value: str) -> str:
    return "<br>\n".join(html.escape(value).splitlines())


def _reference(language: str, values: dict[str, str]) -> str:
    """The line that names the case, without the parts the case lacks: no sentence is left broken."""
    if not values["case_number"]:
        return ""
    return reference_template(language, dated=bool(values["report_date"])).format_map(values)


def check_size(subject: str, parts: list[Part], around: int, longest_reporter: int) -> None:
    """Refuse, before anything goes out, a message longer than MESSAGE_LIMIT, without building it.

    `around`: what every message holds besides its parts (the page's frame, the letterhead, the frames
    and rules between languages).
    """
    lengths = [_filled_lengths(one, longest_reporter) for one in parts]
    # The subject twice: in its header and as the page's title.
    size = 2 * min(_length(subject, lengths[0][0]), LONGEST_SUBJECT) + around
    for one, (text_lengths, html_lengths) in zip(parts, lengths):
        size += _length(one.section.text, text_lengths) + _length(one.section.html, html_lengths)
    if size > MESSAGE_LIMIT:
        values = parts[0].values
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
