"""One case as the statistics count it: when, which verdict, who reported it, who was told and when.

Read with the responder's own readers, so that the numbers speak of what the responder does: the
reporters as `decide` finds them in the tags (feedback/plan.py), the verdict as feedback/case.py reads
the custom field in every shape TheHive sends it, the record as feedback/tags.py writes it.
"""

from __future__ import annotations

import time
from functools import lru_cache

from feedback.addresses import LONGEST_ADDRESS, AddressError, parse_address
from feedback.case import field_value, is_report_title, verdict_named
from feedback.plan import REPORTER_NAMESPACE as REPORTER
from feedback.redaction import shortened
from feedback.shapes import shape
from feedback.stats.records import first_times, timed_namespace
from feedback.tags import (
    ACKNOWLEDGED,
    ACKNOWLEDGED_AT,
    NOTIFIED,
    TOLD,
    notified_addresses,
    tag_values,
)
from feedback.told_records import CLOCKS_APART

# The verdict of a case whose field is unset.
NONE = "none"
# Where a TheHive 5 case came from an alert, the alert's own times (thehive4py's OutputCase): feedback is timed
# from the first of them.
ALERT_TIMES = ("alertDate", "alertNewDate", "alertImportedDate")
# Whom each untimed tag names (`_said`): reporter tags and untimed records recur from case to case (5,000 reporters,
# a few forms each, over 150,000 reports). Bounded, as a TheHive may hold any number of distinct tags: emptied when
# full. A dict, looked up in the loop itself: a cached function's call cost as much again, for 400,000 tags.
_KNOWN: dict[str, tuple[str, str] | None] = {}
KNOWN_MOST = 1 << 16
# The longest tag or value the caches keep: a reporter's tag is shorter; a longer one is read afresh each time, or
# a TheHive that sends tags of megabytes would have every one of them kept for the whole read.
CACHED_LONGEST = 512
_UNREAD = object()
# How long before its case's start a record may be dated and still count as at once: two hosts' clocks a little
# apart. One dated longer before was made on the alert before TheHive 4 made the case, whose v0 shape does not say
# when the alert came, or before the case it was merged into: it tells no time to feedback.
CLOCK_BEHIND = 300
# How far ahead of this read's clock a record may be dated and still tell a time, as the responder reads it: in
# seconds once, as `timedelta.total_seconds` for every case cost the counting 2 % more.
AHEAD_MOST = CLOCKS_APART.total_seconds()
# The times of a case that has no timed record: read, never written.
NO_RECORD: dict[str, float] = {}


@shape
class CaseFacts:
    created: float  # epoch seconds: the case's creation, which places it in a month
    start: float  # epoch seconds from which feedback is timed: the alert's date where TheHive gives one
    verdict: str  # one of VERDICTS, another value as written, or NONE
    reporters: tuple[str, ...]  # distinct, lower case
    answered: set  # reporters the record says were given the verdict
    told: dict  # reporter -> epoch seconds of the first verdict message, where the record has its time
    acknowledged: set
    acked: dict  # reporter -> epoch seconds of the first acknowledgement


def case_facts(case: object, field: str, title_prefix: str) -> CaseFacts | None:
    """The facts of a phishing-report case; None for anything else (a title the responder would refuse, no creation
    time).

    Read once for every case of a year's statistics: whom a tag names is read once for all the cases that carry
    it (`_KNOWN`); the timed records, each of which is its own, are read together.
    """
    if not isinstance(case, dict):
        return None
    title = case.get("title")
    if not isinstance(title, str) or not is_report_title(title, title_prefix):
        return None
    created = _seconds(case.get("_createdAt")) or _seconds(case.get("createdAt"))
    if created is None:
        return None
    reporters: dict[str, None] = {}
    answered, acknowledged, told_tags, acked_tags = set(), set(), [], []
    tags, known = case.get("tags"), _KNOWN
    for tag in tags if isinstance(tags, list) else ():
        if not isinstance(tag, str):
            continue
        said = known.get(tag, _UNREAD)
        if said is _UNREAD:
            timed = timed_namespace(tag)  # a timed record is its own: not cached, and given only to its reader
            if timed is not None:
                (told_tags if timed == TOLD else acked_tags).append(tag)
                continue
            said = _said(tag)
        if said is not None:
            namespace, address = said
            if namespace == REPORTER:
                reporters[address] = None
            elif namespace == NOTIFIED:
                answered.add(address)
            else:
                acknowledged.add(address)
    start = _alert(case) or created
    told = acked = NO_RECORD
    if told_tags or acked_tags:
        # The times a record may tell: from a little before the case's start (two clocks apart) to an hour past this
        # read's clock; one dated earlier went before the case began, one dated later came from a clock far ahead.
        earliest, horizon = start - CLOCK_BEHIND, time.time() + AHEAD_MOST
        if told_tags:
            named, told = first_times(told_tags, TOLD, earliest, horizon)
            answered.update(named)
        if acked_tags:
            named, acked = first_times(acked_tags, ACKNOWLEDGED_AT, earliest, horizon)
            acknowledged.update(named)
    verdict = verdict_of(field_value(case, field))
    return CaseFacts(created, start, verdict, tuple(reporters), answered, told, acknowledged, acked)


def _said(tag: str) -> tuple[str, str] | None:
    """Whom one untimed tag names, kept in _KNOWN: (namespace, address in lower case), or None."""
    if len(tag) > CACHED_LONGEST:
        return _read(tag)
    if len(_KNOWN) >= KNOWN_MOST:
        _KNOWN.clear()
    said = _KNOWN[tag] = _read(tag)
    return said


def _read(tag: str) -> tuple[str, str] | None:
    """Whom one tag names, through the responder's own readers. No tag is of two namespaces: none of them, followed
    by ':' or '=', begins another."""
    for value in tag_values((tag,), REPORTER):
        # In lower case, as the secrets' index also knows each secret. Longer than any address: refused uncached;
        # beyond ASCII too, as the responder refuses it, though lower case may make it ASCII (the Kelvin sign, 'K').
        address = _address(value.lower()) if len(value) <= LONGEST_ADDRESS and value.isascii() else None
        return (REPORTER, address) if address else None
    for namespace in (NOTIFIED, ACKNOWLEDGED):
        for address in notified_addresses((tag,), namespace):
            return namespace, address
    return None


def _alert(case: dict) -> float | None:
    """The alert's date, where TheHive 5 says the case came from one: the first of its times that is set."""
    for key in ALERT_TIMES:
        value = case.get(key)  # most cases came from no alert, and have none of them
        if value is not None and (seconds := _seconds(value)) is not None:
            return seconds
    return None


def verdict_of(value: object) -> str:
    """The verdict as the responder names it; any other value as written (shortened), NONE when unset.

    Only texts, numbers and a list of them are read: whatever else a field holds is not walked into.
    """
    if isinstance(value, str):
        return _shown_verdict(value) if value else NONE
    if isinstance(value, list):
        value = [_scalar(v) for v in value if v is not None and (not isinstance(v, str) or v.strip())]
        value = value[0] if len(value) == 1 else ", ".join(value)
    if value is None or value == "":
        return NONE
    return _shown_verdict(_scalar(value))


def _shown_verdict(text: str) -> str:
    """Cached where a field's options recur, as verdicts do; a longer value, which no option is, read afresh."""
    return _named(text) if len(text) <= CACHED_LONGEST else _verdict_named(text)


def _verdict_named(text: str) -> str:
    # Shortened as any outside text: on one line, without the bidirectional controls that would show it as another
    # ("Legit\u202elanruoj").
    return verdict_named(text) or shortened(text, 80) or NONE


_named = lru_cache(maxsize=1 << 10)(_verdict_named)


def _scalar(value: object) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else "(not a text)"


@lru_cache(maxsize=1 << 16)
def _address(value: str) -> str | None:
    """The reporter's address (given in lower case), or None where the responder would refuse it.

    Cached: reporters recur, and the responder's check costs a tenth of a millisecond an address.
    """
    try:
        return parse_address(value).lower()
    except AddressError:
        return None


def _seconds(epoch_ms: object) -> float | None:
    """A time in epoch milliseconds, in seconds; None for anything else."""
    if type(epoch_ms) in (int, float) and 0 < epoch_ms < 1e14:
        return epoch_ms / 1000
    return None
