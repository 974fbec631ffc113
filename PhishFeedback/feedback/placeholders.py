"""What each template may name, and the check that it names nothing else: a typo in an admin's override is a clear
error that names the item before anything goes out, rather than a message with a hole."""

from __future__ import annotations

from string import Formatter

from feedback.flavours import ACKNOWLEDGEMENT, CORRECTION, TEMPLATE_ITEMS
from feedback.items import ConfigError
from feedback.message_settings import MessageSettings

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
# The acknowledgement comes before any verdict: its template cannot name one.
ACKNOWLEDGEMENT_PLACEHOLDERS = tuple(p for p in PLACEHOLDERS if p != "verdict")
# A correction names the verdict the reporter was told before, in the words of its language (verdicts.txt).
CORRECTION_PLACEHOLDERS = (*PLACEHOLDERS, "earlier_verdict")
SIGNATURE_PLACEHOLDERS = tuple(p for p in PLACEHOLDERS if p != "signature")
# What each message's template may name, where it differs from a verdict's.
KNOWN = {ACKNOWLEDGEMENT: ACKNOWLEDGEMENT_PLACEHOLDERS, CORRECTION: CORRECTION_PLACEHOLDERS}


def checked(template: str, source: str, known: tuple[str, ...] = PLACEHOLDERS) -> str:
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


def check_overrides(settings: MessageSettings) -> None:
    """Every template, subject and signature the admin set, checked against what its own message fills, whichever
    message this job sends: a dry run must find a broken one, not the first case of another verdict or the first
    correction."""
    for message, template in settings.templates.items():
        checked(template, TEMPLATE_ITEMS[message], KNOWN.get(message, PLACEHOLDERS))
    if settings.subject is not None:
        checked(settings.subject, "subject")
    if settings.signature is not None:
        checked(settings.signature, "signature", SIGNATURE_PLACEHOLDERS)
