"""The files where the jobs on one Cortex host meet (feedback/concurrent_jobs.py): a folder of the Cortex user's
beside the job folders, and in it a file for each case, locked by the job that answers it, which holds the records
of the jobs on that case one line each: `[job, time, tag]`, and `[job, time, null]` when the job's report is written.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
import time

from feedback import stopping
from feedback.case import Report
from feedback.errors import PhishFeedbackError
from feedback.job_folder import path

# How long after a job's last line its records count for the next job, where the case does not show them: TheHive
# adds them seconds after the job ends; what it never added (a report Cortex could not read) still went out.
RECENT = 15 * 60
# How often a job waiting for another looks again, in seconds.
POLL = 0.2


class Busy(PhishFeedbackError):
    """Another job on the case was still going when this one had spent half its time waiting for it."""


def shared_folder() -> tuple[str | None, str | None]:
    """Where the jobs of this host meet: a folder of this user's alone beside the job folder, in a directory of its
    own (Cortex's job directory) or whose sticky bit keeps each user's entries their own (/tmp); else why not, where
    they should meet (a job folder of the process runner), and nothing where no job can see another (the docker
    runner's /job)."""
    job = os.path.realpath(path())
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
        by_cortex = os.path.basename(job).startswith("cortex-job-")
        return None, (failure.strerror or type(failure).__name__) if by_cortex else None
    return folder, None


def _private(found: os.stat_result) -> bool:
    return found.st_uid == os.geteuid() and not found.st_mode & 0o022


def file_name(report: Report, parameters: object) -> str:
    organisation = parameters.get("organisation") if isinstance(parameters, dict) else None
    key = json.dumps([report.kind, report.id, organisation if isinstance(organisation, str) else ""])
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def locked(name: str, until: float, kind: str) -> tuple[int | None, float]:
    """The case's file, locked for this job, and how long another job held it; None where the file system takes no
    lock (or the file is no regular file)."""
    started, waited = time.monotonic(), 0.0
    while True:
        journal = _opened(name, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        if journal is None:
            return None, 0.0
        try:
            while True:
                try:
                    _flock(journal)
                    break
                except BlockingIOError:
                    if time.monotonic() >= until:
                        raise Busy(
                            f"Another Phish_Feedback job on this {kind} was still going when this one had waited half"
                            " its time for it, so this one sent nothing. Run the responder again once that job has"
                            " ended and its tags are on the case: only reporters it did not reach are mailed then."
                        ) from None
                    with stopping.waiting():
                        time.sleep(POLL)
                    waited = time.monotonic() - started
        except OSError:  # a file system that implements no lock
            os.close(journal)
            return None, 0.0
        except BaseException:
            os.close(journal)
            raise
        try:
            if os.fstat(journal).st_ino == os.stat(name).st_ino:  # not a file the last job's cleaning removed
                return journal, waited
        except OSError:
            pass
        os.close(journal)


def _flock(journal: int) -> None:
    fcntl.flock(journal, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _opened(name: str, flags: int) -> int | None:
    """The file, if it is a regular file (never a link, nor a FIFO that would hold the job)."""
    try:
        opened = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(opened).st_mode):
            return opened
    except OSError:
        pass
    os.close(opened)
    return None


def clean(folder: str, own: str) -> None:
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
        except OSError:
            continue
        journal = _opened(entry.path, os.O_RDONLY)
        if journal is None:
            continue
        try:
            _flock(journal)
            if os.fstat(journal).st_mtime < earliest:
                os.unlink(entry.path)
        except OSError:  # a job holds it, or another job removed it first
            pass
        finally:
            os.close(journal)


def read(name: str) -> list[list]:
    journal = _opened(name, os.O_RDONLY)
    if journal is None:
        return []
    try:
        return lines(journal, forget=False)
    finally:
        os.close(journal)


def lines(journal: int, forget: bool = True) -> list[list]:
    """The journal's readable lines; a line a kill cut short, or one no job wrote, is passed over. Where none is
    recent, the file is emptied (`forget`)."""
    chunks, offset = [], 0
    try:
        while chunk := os.pread(journal, 1 << 16, offset):
            chunks.append(chunk)
            offset += len(chunk)
    except OSError:
        return []
    lines, earliest = [], time.time() - RECENT
    for line in b"".join(chunks).decode("ascii", "replace").split("\n")[:-1]:
        try:
            token, at, tag = json.loads(line)
        except (ValueError, TypeError):
            continue
        if isinstance(token, str) and isinstance(at, (int, float)) and isinstance(tag, (str, type(None))):
            lines.append([token, at, tag])
    if forget and not any(at >= earliest for _, at, _ in lines):
        os.ftruncate(journal, 0)
    return lines
