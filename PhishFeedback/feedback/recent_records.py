"""The records of the jobs just before this one on its case that the case does not show yet (TheHive adds a job's
tags seconds after it ends), as the host's journals (feedback/case_journals.py) or TheHive's list of the case's
responder actions (feedback/thehive/running_jobs.py) give them: which count, whom they name, and until when.
"""

from __future__ import annotations

import time

from feedback import case_journals, errors
from feedback.addresses import AddressError, parse_address
from feedback.case import Report
from feedback.shapes import replaced
from feedback.tags import ACKNOWLEDGED, ACKNOWLEDGED_AT, UNSURE, notified_addresses, timed_records


def with_records(report: Report, taken: list[str]) -> Report:
    """The case as this job reads it: the records of the jobs before it among its tags, as if TheHive had added them."""
    return replaced(report, tags=(*report.tags, *taken)) if taken else report


def taken(report: Report, lines: list[list]) -> tuple[list[str], set[str], float]:
    """The records of the recent jobs the case does not show, whom they name, and when they count no more: a job's
    records of a reporter count until the case shows that job's record of them (its timed record, `feedback_verdict`
    or `feedback_ack_at`, or else its `feedback_unsure`). TheHive 3.5 adds a job's tags one by one; where the case
    shows that record, a tag of the same job that is missing was taken off by an analyst, to have the reporter
    mailed again."""
    last: dict[str, float] = {}
    jobs: dict[str, list[str]] = {}
    # The verdict's feedback reads no acknowledgement's record; the acknowledgement (no verdict) reads them all.
    unread = (ACKNOWLEDGED, ACKNOWLEDGED_AT) if report.verdict else ()
    for token, at, tag in lines:
        last[token] = at
        tags = jobs.setdefault(token, [])
        if tag is not None and tag.partition(":")[0] not in unread:
            tags.append(tag)
    for token in case_journals.unended(lines):  # or still running, for a dry run, which holds no lock: ended now
        last[token] = time.time()
    shown, unsure = timed_records(report.tags), notified_addresses(report.tags, UNSURE)
    earliest, found, named, until = time.time() - case_journals.RECENT, [], set(), 0.0
    for token, tags in jobs.items():
        if last[token] < earliest:
            continue
        read = [(tag, *whom) for tag in tags if (whom := _read(tag))]
        timed = {address for _, address, record in read if record is not None}
        applied = {address for _, address, record in read if record in shown} | (unsure - timed)
        counted = [(tag, address) for tag, address, _ in read if address not in applied]
        found += [tag for tag, _ in counted]
        named |= {address for _, address in counted}
        until = max(until, last[token] + case_journals.RECENT) if counted else until
    return list(dict.fromkeys(found)), named, until  # two jobs may have written the same record


def counted(kind: str, named: set[str], until: float) -> str:
    """The warning that names whom the records of the jobs before count as notified."""
    return (
        f"{errors.named(sorted(named), str)}: counted as notified by a Phish_Feedback job on this {kind}"
        f" whose tags it does not show yet (TheHive adds them seconds after a job ends). If they were taken off"
        f" to have them mailed again, run the responder after {_clock(until)} UTC, when"
        " that job's records count no more."
    )


def _read(tag: str) -> tuple[str, tuple[str, tuple[str, ...]] | None] | None:
    """Whom a record names, in lower case, and its timed record if it is one: read as the case's tags are. None for
    one that names no address (a damaged or hostile list of TheHive's): it is neither counted nor carried."""
    (record,) = timed_records((tag,)) or (None,)
    namespace = tag.partition(":")[0]
    address = record[1][-1] if record else next(iter(notified_addresses((tag,), namespace)), "")
    try:
        parse_address(address)
    except AddressError:
        return None
    return address, record


def _clock(at: float) -> str:
    """A time of day, dated where it is not today's: an end TheHive dates days after this job began makes that
    job's records count that long."""
    when = time.gmtime(at)
    return time.strftime("%H:%M:%S" if when[:3] == time.gmtime()[:3] else "%Y-%m-%d %H:%M:%S", when)
