"""One job at a time on a case, on one Cortex host: an analyst who clicks again while the first job sends must not
have the same reporters mailed twice.

TheHive hands a job the case as it was at the click, and adds the job's records only once the job has ended
(docs/cortex-and-thehive.md §1, §6). A second job started meanwhile sees none of the first one's records. Cortex's
process runner makes every job folder in one directory (its job.directory, /tmp unless set): there a job holds a
lock for its case while it runs, and writes beside it each record as its interim report makes it. A job that finds
the lock taken waits for it, then counts as recorded what the jobs just before it recorded and its case does not
show yet. The docker runner mounts each job folder alone, so there no job can see another (docs/exactly-once.md).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable

from feedback import case_journals
from feedback.case import Report
from feedback.job_folder import path
from feedback.shapes import replaced
from feedback.tags import TIMED_FIELDS, UNSURE, notified_addresses, timed_records

NO_LOCK = (
    "This job could not take its turn on the {kind} in {folder} ({reason}), so a second click while it sends would"
    " mail its reporters again: let Cortex's user make a folder there of its own."
)
_held: list[Turn] = []


class Turn:
    """This job's turn on its case: the case with the records of the jobs before it, and where its own go."""

    def __init__(self, report: Report, journal: int | None = None, notes: Iterable[str] = ()) -> None:
        self.report = report
        self.notes = list(notes)
        self._journal = journal
        self._token = f"{os.getpid()}.{time.time_ns()}"
        if journal is not None:
            _held.append(self)

    def record(self, tags: Iterable[str]) -> None:
        """The records the job's report now holds, for a job on the same case that starts before TheHive adds them."""
        self._append(tags)

    def end(self) -> None:
        """The job's report is written: the next job counts the records from now, and may have the case."""
        if self._journal is not None:
            self._append((None,))
            os.close(self._journal)
            self._journal = None

    def _append(self, tags: Iterable[str | None]) -> None:
        if self._journal is None:
            return
        at = round(time.time(), 3)
        lines = "".join(json.dumps([self._token, at, tag], ensure_ascii=True) + "\n" for tag in tags)
        try:
            os.write(self._journal, lines.encode("ascii"))
        except OSError:  # the report holds the record all the same; only a job started meanwhile would miss it
            pass


def end_turns() -> None:
    """The job's report is written, however the job ended (a kill gives the lock back without a word)."""
    while _held:
        _held.pop().end()


def take_turn(report: Report, parameters: object, deadline: float, dry_run: bool) -> Turn:
    """The case's turn, once no other job on this host holds it (waiting at most until half the time left before
    `deadline` is spent), with the records of the jobs just before. A dry run waits for nobody and takes none: it
    only reads what the jobs before it recorded. `parameters`: the job's, whose organisation is part of the case's
    name (one Cortex may answer several TheHive, whose ids are alike)."""
    folder, why_not = case_journals.shared_folder()
    if folder is None or not report.id:
        notes = [NO_LOCK.format(kind=report.kind, folder=os.path.dirname(path()), reason=why_not)] if why_not else []
        return Turn(report, notes=notes)
    name = os.path.join(folder, case_journals.file_name(report, parameters))
    if dry_run:
        return Turn(_with_records(report, case_journals.read(name)))
    case_journals.clean(folder, name)
    journal, waited = case_journals.locked(name, time.monotonic() + (deadline - time.monotonic()) / 2, report.kind)
    if journal is None:
        reason = "its file system takes no lock"
        return Turn(report, notes=[NO_LOCK.format(kind=report.kind, folder=folder, reason=reason)])
    notes = []
    if waited:
        took = "under a second" if waited < 1 else f"{waited:.0f} s"
        notes.append(
            f"Another Phish_Feedback job was answering this {report.kind} when this one started: this one waited"
            f" {took} for it to end, and took those it recorded as recorded."
        )
    return Turn(_with_records(report, case_journals.lines(journal)), journal, notes)


def _with_records(report: Report, lines: list[list]) -> Report:
    """The case with the records of the recent jobs it does not show, reporter by reporter. A reporter's timed record
    of a job (`feedback_verdict`, `feedback_ack_at`), where the case shows it, says that TheHive added that job's
    records of them (TheHive 3.5 adds a job's tags one by one): one missing then was taken off by an analyst, to have
    them mailed again. A reporter with no timed record (`feedback_unsure` alone) counts until the case shows any of
    the job's records."""
    jobs: dict[str, tuple[list[float], list[str]]] = {}
    for token, at, tag in lines:
        last, tags = jobs.setdefault(token, ([at], []))
        last[0] = at
        if tag is not None:
            tags.append(tag)
    shown, unsure = timed_records(report.tags), notified_addresses(report.tags, UNSURE)
    earliest, taken = time.time() - case_journals.RECENT, []
    for (last,), tags in jobs.values():
        if last < earliest:
            continue
        timed = [record for tag in tags if (record := _timed(tag))]
        applied = {record[1][-1] for record in timed if record in shown}
        known = {fields[-1] for _, fields in timed}
        whole = bool(applied) or any(_address(tag) in unsure for tag in tags if tag.startswith(f"{UNSURE}:"))
        for tag in tags:
            address = _address(tag)
            if address in applied or (address not in known and whole):
                continue
            taken.append(tag)
    return replaced(report, tags=(*report.tags, *taken)) if taken else report


def _timed(tag: str) -> tuple[str, tuple[str, ...]] | None:
    """A timed record as `timed_records` reads it, from a tag this responder wrote."""
    namespace, _, value = tag.partition(":")
    if namespace not in TIMED_FIELDS:
        return None
    return namespace, tuple(field.strip().lower() for field in value.split(";", TIMED_FIELDS[namespace] - 1))


def _address(tag: str) -> str:
    """The address a record written by this responder names: after the namespace, its last field."""
    namespace, _, value = tag.partition(":")
    return (value.rsplit(";", 1)[-1] if namespace in TIMED_FIELDS else value).strip('"').lower()
