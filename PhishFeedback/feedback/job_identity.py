"""Which Cortex job this is: the id Cortex gave it, which TheHive keeps beside the click that started it.

Cortex names each job folder `cortex-job-<id>-<random digits>` (docs/cortex-and-thehive.md §1b) and puts the id in
no input: its process runner gives the folder's path, its Kubernetes runner the folder's name in CORTEX_JOB_FOLDER,
and its docker runner mounts the folder at /job, where only the mount table still names it.
"""

from __future__ import annotations

import os
import re

from feedback.job_folder import path

PREFIX = "cortex-job-"
MOUNTS = "/proc/self/mountinfo"
# How the mount table writes a space, a tab, a line break or a backslash in a path (proc_pid_mountinfo(5)).
_ESCAPED = re.compile(r"\\([0-7]{3})")


def cortex_job_id() -> str | None:
    """The id of the job Cortex runs in this process; None in a job folder Cortex did not name (one made by hand)."""
    folder = path()
    found = job_id(os.environ.get("CORTEX_JOB_FOLDER", "")) or job_id(os.path.realpath(folder))
    if found is None:
        try:
            with open(MOUNTS, encoding="utf-8", errors="surrogateescape") as table:
                found = job_id(mounted_from(table.read(), os.path.abspath(folder)))
        except OSError:  # no /proc: no mount to read
            pass
    return found


def job_id(folder: str) -> str | None:
    """The id in a job folder's name, or None where Cortex did not name it."""
    name = os.path.basename(folder.rstrip("/"))
    if not name.startswith(PREFIX):
        return None
    job, _, digits = name[len(PREFIX) :].rpartition("-")
    return job if job and digits.isdigit() else None


def mounted_from(table: str, target: str) -> str:
    """The folder mounted at `target`, as the mount table names it (its fourth field: the path in its own file
    system); '' where nothing is mounted there. The last mount there is the one the job sees."""
    found = ""
    for line in table.splitlines():
        fields = line.split(" ")
        if len(fields) > 4 and _unescaped(fields[4]) == target:
            found = _unescaped(fields[3])
    return found


def _unescaped(field: str) -> str:
    return _ESCAPED.sub(lambda escape: chr(int(escape[1], 8)), field)
