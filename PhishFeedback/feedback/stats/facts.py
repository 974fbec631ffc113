"""One case as the statistics count it: when, which verdict, who reported it, who was told and when.

Read with the responder's own readers, so that the numbers speak of what the responder does: the
reporters as `decide` finds them in the tags (feedback/plan.py), the verdict as feedback/case.py reads
the custom field in every shape TheHive sends it, the record as feedback/tags.py writes it.
"""

from __future__ import annotations

from functools import lru_cache

from feedback.addresses import AddressError, parse_address
from feedback.case import field_value, printable, verdict_named
from feedback.plan import REPORTER_NAMESPACE
from feedback.redaction import shortened
from feedback.shapes import shape
from feedback.tags import ACKNOWLEDGED, NOTIFIED, ack_records, notified_addresses, tag_values, verdict_records

# The verdicts whose reporters are owed a message; a case without one of them is not yet answerable.
NONE = "none"
# Where a TheHive 5 case came from an alert, the alert's own time (REFERENCE §12): feedback is timed from it.
ALERT_TIMES = ("alertDate", "alertNewDate", "alertImportedDate")
CREATION_TIMES = ("_createdAt", "createdAt")


@shape
class CaseFacts:
    created: float  # epoch seconds: the case's creation, which places it in a month
    start: float  # epoch seconds from which feedback is timed: the alert's date where TheHive gives one
    verdict: str  # one of VERDICTS, another value as written, or NONE
    reporters: tuple[str, ...]  # distinct, lower case
    answered: frozenset  # reporters the record says were given the verdict
    told: dict  # reporter -> epoch seconds of the first verdict message, where the record has its time
    acknowledged: frozenset
    acked: dict  # reporter -> epoch seconds of the first acknowledgement


def case_facts(case: object, field: str, title_prefix: str) -> CaseFacts | None:
    """The facts of a phishing-report case; None for anything else (no title with the prefix, no creation time)."""
    if not isinstance(case, dict):
        return None
    title = case.get("title")
    if not isinstance(title, str) or not title.lstrip().lower().startswith(title_prefix.lower()):
        return None
    created = _seconds(*(case.get(key) for key in CREATION_TIMES))
    if created is None:
        return None
    tags = case.get("tags")
    tags = [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []
    reporters = tuple(dict.fromkeys(a for a in map(_address, tag_values(tags, REPORTER_NAMESPACE)) if a))
    told = _firsts((r.address, r.at.timestamp()) for r in verdict_records(tags))
    acked = _firsts((r.address, r.at.timestamp()) for r in ack_records(tags))
    return CaseFacts(
        created=created,
        start=_seconds(*(case.get(key) for key in ALERT_TIMES)) or created,
        verdict=verdict_of(field_value(case, field)),
        reporters=reporters,
        answered=frozenset(notified_addresses(tags, NOTIFIED)) | told.keys(),
        told=told,
        acknowledged=frozenset(notified_addresses(tags, ACKNOWLEDGED)) | acked.keys(),
        acked=acked,
    )


def verdict_of(value: object) -> str:
    """The verdict as the responder names it; any other value as written (shortened), NONE when unset."""
    if isinstance(value, list):
        value = [v for v in value if v is not None and (not isinstance(v, str) or v.strip())]
        value = value[0] if len(value) == 1 else ", ".join(map(str, value))
    if value is None or value == "":
        return NONE
    text = value if isinstance(value, str) else str(value)
    return verdict_named(text) or printable(shortened(" ".join(text.split()), 80))


@lru_cache(maxsize=1 << 16)
def _address(value: str) -> str | None:
    """The reporter's address in lower case, or None where the responder would refuse it. Cached: reporters recur."""
    try:
        return parse_address(value).lower()
    except AddressError:
        return None


def _firsts(pairs) -> dict:
    firsts: dict[str, float] = {}
    for address, at in pairs:
        key = address.strip().lower()
        if key not in firsts or at < firsts[key]:
            firsts[key] = at
    return firsts


def _seconds(*epoch_ms: object) -> float | None:
    """The first value that is a time in epoch milliseconds, in seconds."""
    for value in epoch_ms:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e14:
            return value / 1000
    return None
