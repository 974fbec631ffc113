"""The job folder Cortex hands the script: where its input is read and its one report is written.

Everything the job reports goes through `write_output`, so every report is scrubbed of secrets,
strict JSON and whole (docs/cortex-and-thehive.md §1: a report Cortex cannot parse leaves the job
"in progress" for ever). Standard library only: the script loads this before anything heavy.
"""

from __future__ import annotations

import errno
import itertools
import json
import math
import os
import re
import stat
import sys

from feedback.redaction import scrub, shortened

_SURROGATES = "[\ud800-\udfff]"
# Levels of the input echoed on error; deeper values are shown as "…".
DEEPEST_ECHO = 100
# Characters of JSON of the case or alert an error report echoes whole; past them, only what names it.
LONGEST_ECHO = 64 * 1024

# The exit code of a job that ended as an error once its report (or, where none can be written, its printed words)
# said so. Cortex reads the report, never the code; but its Kubernetes runner's Job leaves the controller's
# backoffLimit at 6, which starts a job that exits with any other code again, up to six times, minutes apart: a wrong
# password would be tried seven times, and the analyst kept waiting.
REPORTED = 0

_temporary_names = itertools.count()
# The room reserve_room keeps, in a file Cortex does not read. A report replaced on a full disk needs room for itself
# beside the one before it: this holds a report of about half its size, the records of some 300 reporters.
RESERVE, RESERVED = ".output.reserve", 128 * 1024


def path(*parts: str) -> str:
    return os.path.join(sys.argv[1] if len(sys.argv) > 1 else "/job", *parts)


def write_output(data: dict) -> None:
    """output.json, scrubbed and strict."""
    write_output_text(json_text(data))


def json_text(value: object) -> str:
    """A value as the job's report holds it: scrubbed, strict JSON, ASCII."""
    return json.dumps(cleaned(value), ensure_ascii=True, allow_nan=False)


def write_output_text(text: str) -> os.stat_result:
    """output.json holding `text` (JSON made of `json_text`'s), whole or not at all (a temporary file renamed over
    it): Cortex may read it at any moment, once the job was killed. On a disk found full, the reserved room is given
    back, the report replaced in it, and what the report before it held reserved for the next. Returns what the file
    written is, for a report grown in place to know it (feedback/growing_report.py)."""
    folder = path("output")
    os.makedirs(folder, exist_ok=True)
    try:
        return _replace(folder, text)
    except OSError as failure:
        if failure.errno not in (errno.ENOSPC, errno.EDQUOT) or not release_room():
            raise
        written = _replace(folder, text)
        reserve_room()
        return written


def _replace(folder: str, text: str) -> os.stat_result:
    """A temporary file renamed over output.json: the report is the old one or the new one, never half of either."""
    temporary = os.path.join(folder, f".output.json.{os.getpid()}.{next(_temporary_names)}")
    try:
        with open(_created(temporary), "w", encoding="utf-8") as file:
            file.write(text)
            written = os.fstat(file.fileno())
        os.replace(temporary, os.path.join(folder, "output.json"))
        return written
    finally:
        if os.path.lexists(temporary):
            os.remove(temporary)


def reserve_room() -> None:
    """Room kept beside the report for a disk that fills up while the messages go out: a report is replaced by a
    second copy, which would then find no space, and the record of those mailed would be lost with it."""
    try:
        with open(_created(path("output", RESERVE)), "wb") as file:
            file.write(os.urandom(RESERVED))  # zeros would take no room where the file system compresses (ZFS, btrfs)
    except OSError:  # a disk nearly full: what was written of it is room all the same
        pass


def has_room(size: int) -> bool:
    """Whether the disk of the output folder has `size` bytes free."""
    try:
        free = os.statvfs(path("output"))
    except OSError:
        return False
    return free.f_bavail * free.f_frsize >= size


def _created(name: str) -> int:
    """A new file at `name`, never a file a link left there leads to: the job writes in its own folder alone."""
    if os.path.lexists(name):
        os.remove(name)
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def release_room() -> bool:
    """The reserved room given back; whether there was any."""
    try:
        os.remove(path("output", RESERVE))
    except OSError:
        return False
    return True


def report_so_far() -> dict | None:
    """The report output.json holds now, if it can be read: one written as messages were accepted holds their
    record."""
    try:
        with open(path("output", "output.json"), encoding="utf-8") as file:
            report = json.load(file)
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def write_failure(message: str, **details: object) -> None:
    """Cortex's error output (with `input` when cortexutils would echo it); printed when it cannot be written."""
    try:
        write_output({"success": False, **details, "errorMessage": message})
    except OSError as unwritable:
        # Without output.json, Cortex shows what the job printed.
        print(f"{message} (The report could not be written: {unwritable})", file=sys.stderr)


def echoed_data(data: object) -> object:
    """The job's case or alert as an error report echoes it, as cortexutils does; one of megabytes (tags by the
    thousand, an observable holding a whole mail) only by what names it, so that Cortex stores and shows a report of
    kilobytes, and the job spends no time scrubbing what nobody reads there."""
    # Python's encoder follows as deep as its decoder, which read the input (3.9 to 3.13).
    size = len(json.dumps(data))
    if size <= LONGEST_ECHO:
        return data
    fields = data if isinstance(data, dict) else {}
    named: dict[str, object] = {}
    for name in ("_id", "id", "_type", "caseId", "title"):  # cut too: a hand-made job may hold anything there
        value = fields.get(name)
        if isinstance(value, str):
            named[name] = shortened(value, 200)
        elif isinstance(value, (int, float)):
            named[name] = value
    named["not_echoed"] = f"the rest: {size:,} characters of JSON, past the {LONGEST_ECHO:,} an error report echoes"
    return named


def missing_input() -> str | None:
    """Why the folder is no Cortex job, or not this process's to read, checked before cortexutils falls back to
    reading stdin."""
    where = path("input", "input.json")
    try:
        if stat.S_ISREG(os.stat(where).st_mode):
            return None
    except PermissionError:
        # Cortex's job folder is private to its own user: a container started as another user cannot enter it.
        return (
            f"The job's input {where} cannot be reached by user id {os.getuid()} (permission denied): the responder"
            " must run as the user that owns the job folder, or start as root to become that user"
            " (docs/image.md). Nothing was sent or tagged."
        )
    except OSError:
        pass
    return (
        f"The job's input {where} does not exist: Cortex runs this script with the job"
        " folder as its only argument, holding input/input.json. Nothing was sent or tagged."
    )


def unreadable_input(error: Exception) -> str:
    """Why cortexutils could not start the job on this input; said before anything was sent."""
    if isinstance(error, RecursionError):
        why = "it is nested too deeply to be read"
    elif isinstance(error, TypeError):
        # What cortexutils compares and sets itself before the responder runs.
        why = (
            "tlp, pap, config.max_tlp and config.max_pap must be numbers, config.proxy.http and config.proxy.https"
            f" text; {error}"
        )
    else:
        why = f"{type(error).__name__}: {error}"
    return (
        f"The job's input {path('input', 'input.json')} cannot be read as the JSON object Cortex writes"
        f" ({shortened(why, 300)}). Nothing was sent or tagged."
    )


def cleaned(value: object, depth: int = 0) -> object:
    """A JSON value fit for Cortex: secrets blotted out, strict JSON (no Infinity or NaN), no lone surrogate.

    Past DEEPEST_ECHO levels a value is shown as "…": the input Cortex echoes on error may be nested
    as deep as its parser allows, deeper than Python's recursion here.
    """
    if isinstance(value, str):
        return scrub(value if value.isascii() or _encodable(value) else re.sub(_SURROGATES, "\ufffd", value))
    if isinstance(value, (dict, list, tuple)) and depth >= DEEPEST_ECHO:
        return "…"
    if isinstance(value, dict):
        return {cleaned(str(k)): cleaned(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cleaned(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
