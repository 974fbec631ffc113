"""The timed records as the statistics read them: a few hundred thousand, each read by the responder's own reader of
their fields (feedback/tags.py), without making a record of each."""

from __future__ import annotations

import math
from collections.abc import Iterable

from feedback.tags import ACKNOWLEDGED_AT, TIMED_TAGS, TOLD, timed_fields

_ANY_TIMED = (*TIMED_TAGS[TOLD], *TIMED_TAGS[ACKNOWLEDGED_AT])


def timed_namespace(tag: str) -> str | None:
    """TOLD or ACKNOWLEDGED_AT where the tag is one of their records, as `tag_values` reads a namespace (in any
    case, white space around it); None for any other tag. At once for a tag as the responder writes it."""
    form = tag if tag.startswith(_ANY_TIMED) else tag.strip().lower()
    if form.startswith(TIMED_TAGS[TOLD]):
        return TOLD
    return ACKNOWLEDGED_AT if form.startswith(TIMED_TAGS[ACKNOWLEDGED_AT]) else None


def first_times(tags: Iterable[object], namespace: str, horizon: float = math.inf) -> dict[str, float]:
    """Each address's first time in the namespace's timed records (TOLD or ACKNOWLEDGED_AT), in epoch seconds, the
    address in lower case.

    A record dated after `horizon` (by a clock far ahead) stands as its address's first, whatever the others say: the
    responder reads it as older than any other (feedback/plan.py), and corrects from it at once, so the record after
    it is a correction, not the first message, whose time is then not known.
    """
    firsts: dict[str, float] = {}
    for at, fields in timed_fields(tags, namespace):
        address, seconds = fields[-1].strip().lower(), at.timestamp()
        first = firsts.get(address)
        if first is None or first <= horizon and (seconds < first or seconds > horizon):
            firsts[address] = seconds
    return firsts
