"""The timed records as the statistics read them: a few hundred thousand, each read by the responder's own reader of
their fields (feedback/tags.py), without making a record of each."""

from __future__ import annotations

from collections.abc import Iterable

from feedback.case import VERDICTS, verdict_named
from feedback.tags import ACKNOWLEDGED_AT, TIMED_TAGS, TOLD, timed_fields

_ANY_TIMED = (*TIMED_TAGS[TOLD], *TIMED_TAGS[ACKNOWLEDGED_AT])
# The verdicts as the responder writes them in its records: read at once; any other form through `verdict_named`.
_WRITTEN_VERDICTS = frozenset(VERDICTS)


def timed_namespace(tag: str) -> str | None:
    """TOLD or ACKNOWLEDGED_AT where the tag is one of their records, as `tag_values` reads a namespace (in any
    case, white space around it); None for any other tag. At once for a tag as the responder writes it."""
    form = tag if tag.startswith(_ANY_TIMED) else tag.strip().lower()
    if form.startswith(TIMED_TAGS[TOLD]):
        return TOLD
    return ACKNOWLEDGED_AT if form.startswith(TIMED_TAGS[ACKNOWLEDGED_AT]) else None


def first_times(
    tags: Iterable[object], namespace: str, earliest: float, horizon: float
) -> tuple[set[str], dict[str, float]]:
    """Every address the namespace's timed records (TOLD or ACKNOWLEDGED_AT) name, in lower case, and each one's
    first time, in epoch seconds, where the records tell it.

    A verdict record naming no verdict tells no time, as the responder passes it over (feedback/told_records.py). An
    address with a record dated before `earliest` has no time: its first message went before its case began. Nor has
    one with a record dated after `horizon` (by a clock far ahead): which of its records came first is unknown, as
    TheHive keeps no order of tags, and the responder reads the one dated ahead as the oldest.
    """
    named, firsts, untimed = set(), {}, set()
    verdicts = _WRITTEN_VERDICTS if namespace == TOLD else None
    for at, fields in timed_fields(tags, namespace):
        address = fields[-1].strip().lower()
        named.add(address)
        if verdicts is not None and fields[1] not in verdicts and not verdict_named(fields[1]):
            continue
        seconds = at.timestamp()
        if seconds < earliest or seconds > horizon:
            untimed.add(address)
        elif seconds < firsts.get(address, seconds + 1):
            firsts[address] = seconds
    for address in untimed:
        firsts.pop(address, None)
    return named, firsts
