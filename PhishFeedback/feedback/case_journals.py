"""The files where the jobs on one Cortex host meet (feedback/concurrent_jobs.py): a folder of the Cortex user's
beside the job folders, and in it a file for each case, locked by the job that answers it, which holds the records
of the jobs on that case one line each: `[job, time, tag]`, and `[job, time, null]` when the job's report is written.
A job a kill ended has no such line: whoever next holds the lock, which the kill released, writes it then. Each line
begins with a line break, so that one a kill or a full disk cut short ends there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable

from feedback import stopping
from feedback.case import Report
from feedback.errors import PhishFeedbackError
from feedback.job_folder import path

# How long after a job's last line its records count for the next job, where the case does not show them: TheHive
# adds them seconds after the job ends; what it never added (a report Cortex could not read) still went out.
RECENT = 15 * 60
# The form of the lines, in the files' names: one more at each change of it, so that a copy of the responder that
# reads them otherwise never shares a file with this one.
FORM = 2
# How often a job waiting for another looks again, in seconds.
POLL = 0.2


class Busy(PhishFeedbackError):
    """Another job on the case was still going when this one had spent half its time waiting for it."""


def busy(kind: str) -> Busy:
    """The job's end where the jobs before it on the case held it half its time, however it learnt of them."""
    return Busy(
        f"Another Phish_Feedback job on this {kind} was still going when this one had waited half its time for it,"
        f" so this one sent nothing. {stopping.WAITED} Only reporters it did not reach are mailed then."
    )


def shared_folder() -> str | None:
    """Where the jobs of this host meet: a folder of this user's alone beside the job folder, in a directory of its
    own (Cortex's job directory) or whose sticky bit keeps each user's entries their own (/tmp); `NoLock` where they
    should meet and cannot (a job folder of the process runner), and None where no job can see another (the docker
    runner's /job)."""
    job = os.path.realpath(path())
    if not os.path.basename(job).startswith("cortex-job-"):  # a folder mounted alone, or a job made by hand
        return None
    parent = os.path.dirname(job)
    try:
        found = os.stat(parent)
        if not (_private(found) or found.st_mode & stat.S_ISVTX):
            raise PermissionError(0, "other users may write in it")
        folder = os.path.join(parent, f".phish_feedback-{os.geteuid()}")
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        found = os.lstat(folder)
        if not (stat.S_ISDIR(found.st_mode) and _private(found) and not found.st_mode & 0o077):
            raise PermissionError(0, f"{folder} is not a folder of its user's alone")
    except OSError as failure:
        raise NoLock(failure.strerror or type(failure).__name__, parent) from None
    return folder


def _private(found: os.stat_result) -> bool:
    return found.st_uid == os.geteuid() and not found.st_mode & 0o022


def file_name(report: Report, parameters: object) -> str:
    organisation = parameters.get("organisation") if isinstance(parameters, dict) else None
    # The lines' form first: a job of a version that writes them otherwise has a file of its own. The case's number
    # too: two TheHive that answer to one Cortex may give a case the same id, in organisations named alike.
    key = json.dumps(
        [FORM, report.kind, report.id, report.number, organisation if isinstance(organisation, str) else ""]
    )
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class NoLock(Exception):
    """Why this job cannot take its turn where the jobs of the host meet, and where that is."""

    def __init__(self, why: str, where: str) -> None:
        super().__init__(why)
        self.where = where


def locked(name: str, until: float, kind: str) -> tuple[int, float]:
    """The case's file, locked for this job, and how long another job held it (`NoLock` where none can be had)."""
    started, waited = time.monotonic(), 0.0
    while True:
        journal = _opened(name, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        try:
            if not _locks(journal, name):
                # From the first refusal to the lock, not only while asleep: a stop between two tries, on a busy host
                # held off the processor, says as well that the job was waiting.
                with stopping.waiting(kind):
                    while not _locks(journal, name):
                        if time.monotonic() >= until:
                            raise busy(kind)
                        time.sleep(POLL)
                waited = time.monotonic() - started
            if os.fstat(journal).st_ino == os.stat(name).st_ino:  # not a file the last job's cleaning removed
                return journal, waited
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(journal)
            raise
        os.close(journal)


def _locks(journal: int, name: str) -> bool:
    """Whether this job now holds the lock of the file `name`; False while another job does."""
    try:
        fcntl.flock(journal, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as failure:  # ENOLCK, ENOSYS, EOPNOTSUPP: a file system that implements no lock
        raise NoLock(f"its file system takes no lock: {failure.strerror}", os.path.dirname(name)) from None
    return True


def _opened(name: str, flags: int) -> int:
    """The file, if it is a regular file (never a link, nor a FIFO that would hold the job); else `NoLock`."""
    try:
        opened = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError as failure:
        raise NoLock(f"{os.path.basename(name)}: {failure.strerror}", os.path.dirname(name)) from None
    if stat.S_ISREG(os.fstat(opened).st_mode):
        return opened
    os.close(opened)
    raise NoLock(f"{os.path.basename(name)} is no regular file", os.path.dirname(name))


def clean(folder: str, own: str) -> None:
    """The files of cases no job answered for RECENT seconds removed, each under its lock: a job that opened one
    meanwhile finds it gone once it has the lock, and makes it again. One that holds a job a kill ended is kept,
    that job ended now (`end_the_killed`): TheHive may not have added its records yet."""
    earliest = time.time() - RECENT
    try:
        entries = [entry for entry in os.scandir(folder) if entry.path != own]
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= earliest:
                continue
        except OSError:
            continue
        try:
            journal = _opened(entry.path, os.O_RDWR | os.O_APPEND)
        except NoLock:
            continue
        try:
            if not _locks(journal, entry.path):  # a job holds it
                continue
            # None came since, and it is still the file of that name (another cleaning job may have removed it, and
            # a job made it again).
            found = os.fstat(journal)
            if found.st_mtime < earliest and found.st_ino == os.stat(entry.path).st_ino:
                if not end_the_killed(journal, _read_lines(journal)):
                    os.unlink(entry.path)
        # Another job removed it first; a file system without locks keeps its files, and one that cannot be read
        # keeps a file that may hold a killed job's records.
        except (OSError, NoLock):
            pass
        finally:
            os.close(journal)


def append(journal: int, job: str, tags: Iterable[str | None]) -> str:
    """The lines of `job`'s `tags`, stamped now; why they could not all be written, or ''."""
    at = round(time.time(), 3)
    # Each line begins with its own line break: one a kill or a full disk cut short never runs into the next.
    left = "".join("\n" + json.dumps([job, at, tag], ensure_ascii=True) for tag in tags).encode("ascii")
    try:
        while left:
            left = left[os.write(journal, left) :]
    except OSError as failure:
        return failure.strerror or type(failure).__name__
    return ""


def unended(found: list[list]) -> list[str]:
    """The jobs whose last line is no end line: a kill ended them, or they still run (only a job holding the lock
    knows they do not)."""
    last = {job: tag for job, _, tag in found}
    return [job for job, tag in last.items() if tag is not None]


def end_the_killed(journal: int, found: list[list]) -> list[str]:
    """The jobs a kill ended, ended now in the file whose lock this job holds: the kill released that lock, and their
    records count RECENT more, for TheHive may not have added them yet (it never adds them once a kill ended the
    job long after its last record, as a slow mail server can have it). Those jobs."""
    ended = unended(found)
    for job in ended:
        append(journal, job, (None,))  # unwritten, the next holder of the lock writes it
    return ended


def read(name: str) -> list[list]:
    """The file's lines, as a dry run reads them: without its lock, which a job sending may hold."""
    try:
        journal = _opened(name, os.O_RDONLY)
    except NoLock:
        return []
    try:
        return lines(journal)
    finally:
        os.close(journal)


def lines(journal: int) -> list[list]:
    """The file's readable lines, none where it cannot be read (a job then counts no records but its case's)."""
    try:
        return _read_lines(journal)
    except OSError:
        return []


def _read_lines(journal: int) -> list[list]:
    """The file's readable lines; one a kill or a full disk cut short, or one no job wrote, is passed over."""
    chunks, offset = [], 0
    while chunk := os.pread(journal, 1 << 16, offset):
        chunks.append(chunk)
        offset += len(chunk)
    found = []
    for line in b"".join(chunks).decode("ascii", "replace").split("\n"):
        try:
            token, at, tag = json.loads(line)
        except (ValueError, TypeError):
            continue
        if isinstance(token, str) and isinstance(at, (int, float)) and isinstance(tag, (str, type(None))):
            found.append([token, at, tag])
    return found
