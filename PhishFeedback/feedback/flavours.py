"""The flavours, the messages they send and the languages those are shipped in (docs/flavours.md).

Cortex runs one script for two manifests, told apart by the `flavour` in their `config`: the
verdict (one message per verdict of the custom field) and the acknowledgement (one message, on
receipt, before any verdict). Each message has its template item and its shipped files per language.
"""

from __future__ import annotations

from feedback.items import ACKNOWLEDGE_RESPONDER, VERDICT_RESPONDER, WHERE, ConfigError

LANGUAGES = ("en", "fr", "nl", "de", "es")
# The first code of `language` that makes each reporter's message their own language where it is known.
AUTO = "auto"
VERDICT_ITEMS = {
    "Phishing": "template_phishing",
    "Spam": "template_spam",
    "Legit email": "template_legit",
    "Simulation": "template_simulation",
}
# The acknowledgement flavour's message, sent on receipt, before any verdict (docs/flavours.md).
ACKNOWLEDGEMENT = "Acknowledgement"
# A verdict message that corrects an earlier one (docs/corrections.md): one override for every verdict.
CORRECTION = "Correction"
TEMPLATE_ITEMS = {**VERDICT_ITEMS, ACKNOWLEDGEMENT: "template_acknowledge", CORRECTION: "template_correction"}
# The manifest's `config.flavour` (Cortex hands it to the job as a config key); absent: the verdict.
VERDICT_FLAVOUR, ACKNOWLEDGE_FLAVOUR = "verdict", "acknowledge"
# The responder each flavour's manifest names.
RESPONDERS = {VERDICT_FLAVOUR: VERDICT_RESPONDER, ACKNOWLEDGE_FLAVOUR: ACKNOWLEDGE_RESPONDER}


def read_flavour(value: object) -> str:
    """Which manifest Cortex ran: its `config.flavour`, set by the manifest, never by the admin."""
    flavour = value or VERDICT_FLAVOUR
    if flavour not in (VERDICT_FLAVOUR, ACKNOWLEDGE_FLAVOUR):
        raise ConfigError(
            f"The responder's manifest names the flavour {str(flavour)[:40]!r}, which this script does not know"
            f" ({VERDICT_FLAVOUR} or {ACKNOWLEDGE_FLAVOUR}): install the manifests that came with the script."
        )
    return flavour


def read_languages(value: str) -> tuple[str, ...]:
    """One code or several separated by commas (`fr,nl`): each language's text, in this order, in one message."""
    codes = [code.strip().lower() for code in value.split(",") if code.strip()] or ["en"]
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown:
        raise ConfigError(
            f"language holds {', '.join(repr(code[:20]) for code in unknown)}, which the responder has no messages"
            f" for: use one of {', '.join(LANGUAGES)}, or several separated by commas, like fr,nl. {WHERE}"
        )
    return tuple(dict.fromkeys(codes))


def read_language_item(value: str) -> tuple[bool, tuple[str, ...]]:
    """Whether `language` starts with `auto` (each reporter's own language where known), and the languages of the
    rest of the list, for whoever's language is not known (or for everyone, without `auto`)."""
    codes = [code.strip().lower() for code in value.split(",")]
    auto = codes[0] == AUTO
    rest = codes[1:] if auto else codes
    if AUTO in rest:
        raise ConfigError(
            f"language holds '{AUTO}' after another code: write it first, like auto,en (each reporter's own language,"
            f" else English). {WHERE}"
        )
    return auto, read_languages(",".join(rest))


def shipped_language(code: str) -> str | None:
    """The shipped language a code names, its regional form too (nl-BE, fr_CA, EN-gb); None when none is shipped."""
    language = code.strip().lower().replace("_", "-").partition("-")[0]
    return language if language in LANGUAGES else None
