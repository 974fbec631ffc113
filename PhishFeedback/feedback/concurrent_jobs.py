"""One job at a time on a case, on one Cortex host: an analyst who clicks again while the first job sends must not
have the same reporters mailed twice.

TheHive hands a job the case as it was at the click, and adds the job's records only once the job has ended
(docs/cortex-and-thehive.md §1, §6). A second job started meanwhile sees none of the first one's records. Cortex's
process runner makes every job folder in one directory (its job.directory): there a job holds a lock for its
case while it runs, and writes beside it each record as its interim report makes it. A job that finds the lock
taken waits for it, then counts as recorded what the jobs just before it recorded and its case does not show yet.
The docker runner mounts each job folder alone, so there no job can see another (docs/exactly-once.md).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Iterable

from feedback.case import Report
from feedback.errors import PhishFeedbackError
from feedback.job_folder import path
from feedback.shapes import replaced
from feedback.tags import verdict_records

# In Cortex's job directory, beside the job folders: one file a case, named by its kind and id.
FOLDER = ".phish_feedback"
# How long after a job's last line its records count for the next job, unless the case already shows them: TheHive
# adds them seconds after the job ends; what it never added (a report Cortex could not read) still went out.
RECENT = 15 * 60
# How often a job waiting for another looks again, in seconds.
POLL = 0.2
_SAFE_ID = re.compile(r"[A-Za-z0-9_~-]{1,100}")
_held: list[Turn] = []


class Busy(PhishFeedbackError):
    """Another job on the case was still going when this one had spent half its time waiting for it."""


class Turn:
    """This job's turn on its case: the case with the records of the jobs before it, and where its own go."""

    def __init__(self, report: Report, journal: int | None = None, waited: float = 0.0) -> None:
        self.report = report
        self.notes: list[str] = []
        self._journal = journal
        self._token = f"{os.getpid()}.{time.time_ns()}"
        if journal is not None:
            _held.append(self)
        if waited >= POLL:
            self.notes.append(
                f"Another Phish_Feedback job was answering this {report.kind} when this one started: this one waited"
                f" {waited:.0f} s for it to end, and took those it recorded as recorded."
            )

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


def take_turn(report: Report, deadline: float, dry_run: bool) -> Turn:
    """The case's turn, once no other job on this host holds it (waiting at most until half the time left before
    `deadline` is spent), with the records of the jobs just before. A dry run sends nothing and waits for nobody."""
    folder = None if dry_run or not report.id else _shared_folder()
    if folder is None:
        return Turn(report)
    name = os.path.join(folder, _file_name(report))
    started = time.monotonic()
    journal = _locked(name, started + (deadline - started) / 2, report.kind)
    if journal is None:
        return Turn(report)
    _clean(folder, name)
    earlier = _unshown(_lines(journal), report.tags)
    return Turn(replaced(report, tags=(*report.tags, *earlier)), journal, time.monotonic() - started)


def _shared_folder() -> str | None:
    """Where the jobs of this host meet: beside the job folder, in a directory of this user's alone (Cortex's job
    directory); None where there is no such place (the docker runner's /job, a folder others may write in)."""
    parent = os.path.dirname(os.path.realpath(path()))
    try:
        if not _private(os.stat(parent)):
            return None
        folder = os.path.join(parent, FOLDER)
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        found = os.lstat(folder)
    except OSError:
        return None
    return folder if stat.S_ISDIR(found.st_mode) and _private(found) else None


def _private(found: os.stat_result) -> bool:
    return found.st_uid == os.geteuid() and not found.st_mode & 0o022


def _file_name(report: Report) -> str:
    safe = report.id if _SAFE_ID.fullmatch(report.id) else report.id.encode("utf-8", "surrogatepass").hex()[:200]
    return f"{report.kind}-{safe}"


def _locked(name: str, until: float, kind: str) -> int | None:
    """The case's file, locked for this job; None where the host's file system takes no lock."""
    while True:
        try:
            journal = os.open(name, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            while True:
                try:
                    fcntl.flock(journal, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= until:
                        raise Busy(
                            f"Another Phish_Feedback job on this {kind} was still going when this one had waited half"
                            " its time for it, so this one sent nothing. Run the responder again once that job has"
                            " ended and its tags are on the case: only reporters it did not reach are mailed then."
                        ) from None
                    time.sleep(POLL)
        except OSError as failure:
            os.close(journal)
            if isinstance(failure, BlockingIOError) or failure.errno not in (errno.ENOLCK, errno.EINVAL):
                raise
            return None
        except BaseException:
            os.close(journal)
            raise
        try:
            if os.fstat(journal).st_ino == os.stat(name).st_ino:  # not a file the last job's cleaning removed
                return journal
        except OSError:
            pass
        os.close(journal)


def _clean(folder: str, own: str) -> None:
    """The files of cases no job answered for RECENT seconds removed, each under its lock: a job that opened one
    meanwhile finds it gone once it has the lock, and makes it again."""
    earliest = time.time() - RECENT
    try:
        entries = [entry for entry in os.scandir(folder) if entry.path != own]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= earliest:
                continue
            journal = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(journal, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(journal).st_mtime < earliest:
                os.unlink(entry.path)
        except OSError:  # a job holds it, or another job removed it first
            pass
        finally:
            os.close(journal)


def _lines(journal: int) -> list[list]:
    """The journal's readable lines; a line a kill cut short is passed over."""
    text = b""
    while chunk := os.pread(journal, 1 << 16, len(text)):
        text += chunk
    lines = []
    for line in text.decode("ascii", "replace").split("\n")[:-1]:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, list) and len(item) == 3 and isinstance(item[1], (int, float)):
            lines.append(item)
    if not any(at >= time.time() - RECENT for _, at, _ in lines):
        os.ftruncate(journal, 0)
    return lines


def _unshown(lines: list[list], case_tags: tuple[str, ...]) -> list[str]:
    """The records of the recent jobs of which the case shows none. TheHive adds a job's records together: where the
    case shows one, it shows the job's, and one missing was taken off by an analyst to have that reporter mailed again.
    """
    jobs: dict[str, tuple[float, list[str]]] = {}
    for token, at, tag in lines:
        _, tags = jobs.get(token, (at, []))
        jobs[token] = (at, [*tags, tag] if isinstance(tag, str) else tags)
    shown, told = set(case_tags), set(verdict_records(case_tags))
    earliest = time.time() - RECENT
    unshown = []
    for at, tags in jobs.values():
        if at >= earliest and not shown.intersection(tags) and told.isdisjoint(verdict_records(tags)):
            unshown += tags
    return unshown
