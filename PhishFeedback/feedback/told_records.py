"""What each reporter was last told, read from the case's verdict records, whatever hand or clock wrote them."""

from __future__ import annotations

from datetime import datetime, timedelta

from feedback.case import verdict_named
from feedback.tags import TOLD, tag_values, verdict_records

# How far ahead of the job's clock a record may be dated and still be read: the clocks of two Cortex hosts.
CLOCKS_APART = timedelta(hours=1)


def last_told(
    tags: list[object], now: datetime
) -> tuple[dict[str, str], dict[str, datetime], tuple[tuple[str, str], ...]]:
    """The verdict each address was last told, by its own name (a hand may have changed its case): the latest
    record, on a tie the later tag; and the records the analyst is told of. One naming no verdict, or whose time is
    not written as the responder writes it, is passed over: the reporter may be owed a correction; one dated more
    than CLOCKS_APART after the job's time (a clock that ran far ahead), which would be the last for ever and have
    every run correct again, is read as older than any other (though in its order among those), so that a reporter
    it alone names is corrected once. Beside the verdicts, the time of each last record dated at or after the job's
    time, after which the next must be dated: two records of one reporter in one second would be told apart by their
    tags' order alone, which TheHive does not keep."""
    kept, passed_over = [], []
    for value in tag_values(tags, TOLD):  # each record read once, in whatever form TheHive keeps its tag
        records = verdict_records((f"{TOLD}:{value}",))
        if not records:  # a time a hand wrote otherwise (`+00:00`, a fraction, 30 February)
            passed_over.append((value.rpartition(";")[2].strip() or value, "its time is not written as the job writes"))
            continue
        (told,) = records
        named = verdict_named(told.verdict)
        if named is None:
            passed_over.append((told.address, "names no verdict"))
            continue
        readable = told.at <= now + CLOCKS_APART
        if not readable:
            passed_over.append((told.address, f"dated {told.at:%Y-%m-%d %H:%M} UTC"))
        kept.append((readable, told.at, told.address, named))
    kept.sort(key=lambda record: record[:2])  # stable: on a tie (records no job of this version writes), tag order
    verdicts, ahead, last = {}, {}, {}
    for readable, at, address, verdict in kept:
        key = address.lower()
        if readable and at >= now:  # dated by a clock ahead of the job's, or within the job's own second
            ahead[key] = at
        verdicts[key] = verdict
        moment, told, _ = last.get(key, (None, set(), address))
        last[key] = (at, told | {verdict} if moment == at else {verdict}, address)
    # Two verdicts recorded in a reporter's last second (by a version before this one): which came last is unknown.
    passed_over += [(address, "two verdicts in one second") for _, told, address in last.values() if len(told) > 1]
    return verdicts, ahead, tuple(passed_over)
