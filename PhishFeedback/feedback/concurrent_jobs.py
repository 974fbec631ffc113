"""One job at a time on a case, on one Cortex host: an analyst who clicks again while the first job sends must not
have the same reporters mailed twice.

TheHive hands a job the case as it was at the click, and adds the job's records only once the job has ended
(docs/cortex-and-thehive.md §1, §6). A second job started meanwhile sees none of the first one's records. Cortex's
process runner makes every job folder in one directory (its job.directory, /tmp unless set): there a job holds a
lock for its case while it runs, and writes beside it each record as its interim report makes it. A job waits
while another holds the lock; once it has it, it counts as recorded what the jobs just before it recorded and its
case does not show yet. The docker and Kubernetes runners mount each job folder alone: there TheHive's list of the
case's responder actions, where a job can read it (feedback/thehive/running_jobs.py), says which jobs came before
and what they recorded (docs/exactly-once.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from feedback import case_journals, recent_records, stopping
from feedback.case import Report
from feedback.recent_records import with_records
from feedback.shapes import Shape, replaced, shape
from feedback.tags import TAG_OPERATION

UNWRITTEN = (
    "This job could not write its records beside the other jobs' in {folder} ({reason}): a second click before"
    " TheHive adds its tags would mail its reporters again. Wait for them to show on the {kind} before running the"
    " responder on it again."
)

# How often a job waiting for another asks TheHive again: TheHive learns that a job ended within 5 s
# (docs/cortex-and-thehive.md §5b).
LIST_POLL = 2.0
TYPE_CHECKING = False  # without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable

UNFOLLOWED = (
    "Another Phish_Feedback job on this {kind} was still going, and TheHive could no longer say whether it had ended,"
    " so this one sent nothing: {reason}"
)

_held: list[Turn] = []


@shape
class Others:
    """The other jobs on the case as a list of them tells (TheHive's, where the host shows none)."""

    running: int  # those that came before this one and have not ended
    lines: list[list]  # the records of those that ended, as a journal's lines


class Unlisted(Exception):
    """The list of the other jobs could not be read: what that means for this job, and `why`, in whole sentences."""

    def __init__(self, sentences: str, why: str) -> None:
        super().__init__(sentences)
        self.why = why


class Turn:
    """This job's turn on its case: the case with the records of the jobs before it, and where its own go."""

    def __init__(
        self,
        report: Report,
        journal: int | None = None,
        notes: Iterable[str] = (),
        taken: Iterable[str] = (),
        folder: str = "",
    ) -> None:
        """`taken`: the records of the jobs before it that the case does not show, now among the report's tags;
        `folder`: where the journal is, for the warning that one of its records could not be written there."""
        self.report = report
        self.notes = list(notes)
        self.taken = list(taken)
        self._journal = journal
        self._folder = folder
        self._unwritten = ""  # why a record could not be written beside the others, if one could not
        self._token = f"{os.getpid()}.{time.time_ns()}"
        if journal is not None:
            _held.append(self)

    def recorded(self, outcome: Shape) -> Shape:
        """The job's outcome (its report's `operations`), with the records it took from the jobs before it: TheHive
        may never add those jobs' own (a report Cortex could not read), and past RECENT they would count no more."""
        if self._unwritten:
            unwritten = UNWRITTEN.format(kind=self.report.kind, folder=self._folder, reason=self._unwritten)
            outcome = replaced(outcome, full={**outcome.full, "warnings": [*outcome.full["warnings"], unwritten]})
        if not self.taken:
            return outcome
        operation, there = TAG_OPERATION[self.report.kind], {item["tag"] for item in outcome.operations}
        carried = [{"type": operation, "tag": tag} for tag in self.taken if tag not in there]
        return replaced(outcome, operations=[*outcome.operations, *carried])

    def record(self, tags: Iterable[str]) -> None:
        """The records the job's report now holds, for a job on the same case that starts before TheHive adds them."""
        if self._journal is not None:
            # The report holds them all the same; a job started meanwhile would not know of them.
            self._unwritten = self._unwritten or case_journals.append(self._journal, self._token, tags)

    def end(self) -> None:
        """The job's report is written: the next job counts the records from now, and may have the case (an end line
        unwritten, the next job that holds the lock writes it)."""
        if self._journal is not None:
            case_journals.append(self._journal, self._token, (None,))
            os.close(self._journal)
            self._journal = None


def end_turns() -> None:
    """The job's report is written, however the job ended short of a kill: the time its records count from."""
    while _held:
        _held.pop().end()


def take_turn(
    report: Report,
    parameters: object,
    deadline: float,
    dry_run: bool,
    listed: Callable[[Report, float], Others] | None = None,
) -> Turn:
    """The case's turn, once no other job on this host holds it (waiting at most until half the time left before
    `deadline` is spent), with the records of the jobs just before. A dry run waits for nobody and takes none: it
    only reads what the jobs before it recorded. `parameters`: the job's, whose organisation is part of the case's
    name (one Cortex may answer several TheHive, whose ids are alike). `listed`: where this host shows no other job
    (or the jobs of this host cannot meet), what lists them (given the case and the job's deadline), if anything
    does."""
    if not report.id:
        return Turn(report)
    try:
        folder = case_journals.shared_folder()
        if folder is None:
            return _listed_turn(report, listed, deadline, dry_run) if listed else Turn(report)
        name = os.path.join(folder, case_journals.file_name(report, parameters))
        if dry_run:
            return Turn(with_records(report, recent_records.taken(report, case_journals.read(name))[0]))
        case_journals.clean(folder, name)
        until = time.monotonic() + (deadline - time.monotonic()) / 2
        journal, waited = case_journals.locked(name, until, report.kind)
    except case_journals.NoLock as failure:
        if listed:  # the jobs TheHive lists are the host's too
            return _listed_turn(report, listed, deadline, dry_run)
        return Turn(report, notes=[_no_lock(report, failure.where, str(failure))])
    found = case_journals.lines(journal)
    case_journals.end_the_killed(journal, found)
    taken, named, until = recent_records.taken(report, found)
    return Turn(with_records(report, taken), journal, _notes(report, waited, taken, named, until), taken, folder)


def _listed_turn(report: Report, listed: Callable[[Report, float], Others], deadline: float, dry_run: bool) -> Turn:
    """The turn where no job on the host can see another: after the jobs `listed` before this one, with what they
    recorded. A dry run waits for nobody."""
    started = time.monotonic()
    until, waited = started + (deadline - started) / 2, 0.0
    while True:
        try:
            with stopping.waiting(report.kind if waited else ""):  # a stop in a listing after a wait is in the wait
                others = listed(report, deadline)
        except Unlisted as failure:
            if waited:  # a job known to run before this one may still run
                raise case_journals.Busy(UNFOLLOWED.format(kind=report.kind, reason=failure.why)) from None
            return Turn(report, notes=[str(failure)])
        if not others.running or dry_run:
            break
        if time.monotonic() + LIST_POLL >= until:
            raise case_journals.busy(report.kind)
        with stopping.waiting(report.kind):
            time.sleep(LIST_POLL)
        waited = time.monotonic() - started
    taken, named, ends = recent_records.taken(report, others.lines)
    return Turn(with_records(report, taken), notes=_notes(report, waited, taken, named, ends), taken=taken)


def _notes(report: Report, waited: float, taken: list[str], named: set[str], until: float) -> list[str]:
    if waited:
        took = "under a second" if waited < 1 else f"{waited:.0f} s"
        return [
            f"Another Phish_Feedback job was answering this {report.kind} when this one started: this one waited"
            f" {took} for it to end, and took those it recorded as recorded."
        ]
    return [recent_records.counted(report.kind, named, until)] if taken else []


def _no_lock(report: Report, folder: str, reason: str) -> str:
    return (
        f"This job could not take its turn on the {report.kind} in {folder} ({reason}), so a second click while a"
        " job sends would mail the reporters again: give Cortex a job directory of its own (job.directory)."
    )
