"""How the job's messages are written: parsed and folded once for all that they share.

A campaign writes hundreds of messages that differ in a recipient and a Message-ID; the email
package would parse, fold and search each one whole (docs/performance.md).
"""

from __future__ import annotations

import random
from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import Policy, default

# Headers whose few values recur from message to message: a header object is immutable, so they can share one.
RECURRING = frozenset(
    ("mime-version", "content-type", "content-transfer-encoding", "content-disposition", "content-language")
)


class _FoldedOnce(BaseHeader):
    """A header the job's messages share is folded once for each way of writing them, not once for each message."""

    def fold(self, *, policy: Policy) -> str:
        # All that folding reads of the policy (email/_header_value_parser.py `_refold_parse_tree`).
        key = (policy.linesep, policy.max_line_length, policy.utf8)
        folds = self.__dict__.setdefault("_folds", {})
        if key not in folds:
            folds[key] = super().fold(policy=policy)
        return folds[key]


class _HeaderClasses(HeaderRegistry):
    """The standard registry, with one class per header name for the whole job, whose headers fold once.

    The standard one builds a new class for every header it parses; a message has about thirty,
    and in a campaign that would be a tenth of the job's time.
    """

    def __init__(self) -> None:
        super().__init__(base_class=_FoldedOnce)
        self.made: dict[str, type] = {}
        self.parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: object) -> BaseHeader:
        """The header, parsed once for the job where its value recurs in every message (the parts' MIME headers)."""
        if type(value) is not str or name.lower() not in RECURRING:
            return super().__call__(name, value)
        if (name, value) not in self.parsed:
            self.parsed[name, value] = super().__call__(name, value)
        return self.parsed[name, value]

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self.made:
            self.made[key] = super().__getitem__(name)
        return self.made[key]


# Headers folded at 76, as RFC 2047 has encoded words fit (75 characters each): at 78 the email package wrote a sender's
# name past it, in lines of 81.
POLICY = default.clone(header_factory=_HeaderClasses(), max_line_length=76)


def boundary() -> str:
    """A boundary no part of the job's messages can hold: they are all quoted-printable or base64, in which `=_` never
    occurs (RFC 2045 §6.7). The generator would otherwise make one per message and compile a pattern to search the
    whole message for it, a twentieth of a campaign's time."""
    return f"=_{random.getrandbits(64):016x}"
