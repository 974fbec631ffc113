"""The reporter's own report as the parent of their message: its Message-ID, checked, and the headers naming it.

A report's Message-ID comes from TheHive (an alert's `sourceRef`), which took it from outside mail:
only a well-formed one (RFC 5322 §3.6.4, dot-atoms on both sides of the '@', nothing else) ever
reaches a header, so that no value can add a line or a header of its own; nor one that holds a secret of
the job's, which a server may have echoed into it.
"""

from __future__ import annotations

import re
from email.headerregistry import HeaderRegistry, MessageIDHeader
from email.message import EmailMessage

from feedback.redaction import holds_secret

ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = rf"{ATOM}(?:\.{ATOM})*"
# Compiled by `re` on first use: most jobs answer no thread (docs/performance.md).
MESSAGE_ID = rf"{DOT_ATOM}@{DOT_ATOM}"
# Characters of a Message-ID, brackets included: Exchange's and Gmail's are under 120.
LONGEST = 250
# Each header folded as a Message-ID is: an unstructured one would turn a long ID into encoded words.
_HEADERS = HeaderRegistry(default_class=MessageIDHeader, use_default_map=False)


def message_id(value: object) -> str | None:
    """The Message-ID in angle brackets, from `<local@domain>` or `local@domain`; None for anything else."""
    if not isinstance(value, str):
        return None
    inner = value[1:-1] if value.startswith("<") and value.endswith(">") else value
    if len(inner) + 2 > LONGEST:  # one bound for both forms, as the header writes it
        return None
    # `=?` starts an RFC 2047 encoded word, which an interpreter without the CVE-2024-6923 fix would decode.
    well_formed = re.fullmatch(MESSAGE_ID, inner, re.ASCII) and "=?" not in inner
    return f"<{inner}>" if well_formed and not holds_secret(inner, pieces=False) else None


def threaded(message: EmailMessage, parent: str) -> None:
    """The message as a reply to `parent` (a `message_id`), so that the reporter's mail client shows them together."""
    for name in ("In-Reply-To", "References"):
        message[name] = _HEADERS(name, parent)
