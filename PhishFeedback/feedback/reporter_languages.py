"""Each reporter's own language with `language: auto,…` (docs/messages.md): the sources, in their order.

The mailbox's own setting comes first (read through Microsoft Graph or the Gmail API by their
packages), then the admin's `reporter_languages`, an address before its domain, then the rest of
`language`. A source that names a language the responder does not ship (`it`, `pt-BR`) gives way
to the next one; a regional form names its language (`nl-BE` is Dutch).
"""

from __future__ import annotations

import re

from feedback.addresses import AddressError, is_domain, parse_address
from feedback.flavours import AUTO, shipped_language
from feedback.items import WHERE, ConfigError
from feedback.redaction import shortened

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

ITEM = "reporter_languages"
# A language tag as mail services and admins write one: en, nl-BE, fr_CA, zh-Hant-TW.
# Compiled by `re` on first use: most configurations name no language per reporter (docs/performance.md).
LANGUAGE_TAG = r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*"


def read_reporter_languages(entries: list[str], auto: bool) -> dict[str, str]:
    """`example.fr=fr`, `bob@example.org=nl`, keyed in lower case; a malformed entry is an error naming it."""
    if entries and not auto:
        raise ConfigError(
            f"{ITEM} is set but language does not start with {AUTO}, so it would not be used: write language as"
            f" {AUTO},en (each reporter's own language where known, else English), or empty {ITEM}. {WHERE}"
        )
    mapping = {}
    for entry in entries:
        key, equals, code = (part.strip() for part in entry.partition("="))
        key = key.lower()
        key = key[1:] if key.startswith("@") and key.count("@") == 1 else key  # @example.fr: the domain
        if not equals or not re.fullmatch(LANGUAGE_TAG, code, re.ASCII) or not _address_or_domain(key):
            raise ConfigError(
                f"{ITEM} holds '{shortened(entry, 80)}', which is not a domain or an address, '=' and a language"
                f" code: write one per line, like example.fr=fr or bob@example.org=nl. {WHERE}"
            )
        mapping[key] = code
    return mapping


def language_of(address: str, mailbox: str | None, mapping: dict[str, str], rest: tuple[str, ...]) -> tuple[str, ...]:
    """The languages of one reporter's message: the first source naming a shipped language, else `rest`."""
    for code in (mailbox, *_mapped(address.lower(), mapping)):
        language = shipped_language(code) if code else None
        if language:
            return (language,)
    return rest


def _mapped(address: str, mapping: dict[str, str]) -> Iterator[str | None]:
    """The codes the mapping gives the address, then its domain, then each parent domain, nearest first."""
    yield mapping.get(address)
    labels = address.rpartition("@")[2].split(".")
    for start in range(len(labels) - 1):
        yield mapping.get(".".join(labels[start:]))


def _address_or_domain(key: str) -> bool:
    if "@" in key:
        try:
            return parse_address(key).lower() == key
        except AddressError:
            return False
    return is_domain(key)
