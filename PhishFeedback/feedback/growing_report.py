"""The report a kill leaves, grown in place as messages are accepted (feedback/interim_report.py says what it holds).

Replaced whole at every accepted message, that report cost the square of a campaign: every rewrite held every record
so far, 33 GB written over 20,000 reporters. Now it is written whole only when its shape changes (its closing tags, a
record first) or its room runs out, each time with blank room inside the operations list for as many records again
as it holds, and blank room after its sentence. Between those, a message's records are written into that room and its
sentence over the one before, in place. Each of those writes lies within one page of the file: Linux copies a write
into the page cache a page at a time and looks for a kill only between pages, so a kill leaves the page as it was or
as written, never half, and output.json stays whole JSON holding every record. The records go first: a kill between
the two writes leaves the sentence a message behind its records, never a record missing.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence

from feedback.job_folder import path, write_output_text

# Linux's smallest page: a larger page holds whole pages of this size, so a write within one of these is within it.
PAGE = 4096
# Blank room after the sentence, for a longer one (more digits, a reporter whose message may have gone).
SENTENCE_ROOM = 32


class GrowingReport:
    """output.json as `opening` sentence `middle` [records, closing] `end`: a list whose records grow, and whose
    closing items follow them. Every part is ASCII JSON text (job_folder.json_text), so that characters are bytes."""

    def __init__(self, opening: str, middle: str, end: str) -> None:
        self.opening, self.middle, self.end = opening, middle, end
        self._written: tuple[int, int] | None = None  # the device and inode of output.json as last written whole
        self._said_room = self._records_end = self._room_end = 0
        self._records, self._closing = 0, ()

    def write(self, said: str, records: Sequence[str], closing: Sequence[str], more: bool) -> None:
        """Whole, with room to grow when `more` records may come and the disk has it to spare. Raises OSError as
        job_folder.write_output_text does."""
        self._written = None
        said_room = len(said) + SENTENCE_ROOM if more else len(said)
        head = f"{self.opening}{said.ljust(said_room)}{self.middle}{', '.join(records)}"
        after = ", ".join(closing)
        tail = f"{', ' if records and after else ''}{after}{self.end}"
        room = max(PAGE, len(head)) if more and _spare(4 * (2 * len(head) + len(tail))) else 0
        try:
            write_output_text(f"{head}{' ' * room}{tail}")
        except OSError as failure:
            if not room or failure.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            room = 0  # the disk filled up since it was looked at: the records first
            write_output_text(f"{head}{tail}")
        if room:
            found = os.stat(path("output", "output.json"), follow_symlinks=False)
            self._said_room, self._records_end, self._room_end = said_room, len(head), len(head) + room
            self._records, self._closing = len(records), tuple(closing)
            self._written = (found.st_dev, found.st_ino)

    def grow(self, said: str, records: Sequence[str], closing: Sequence[str]) -> bool:
        """The records after those already written, and the sentence, written in place; False where the report must
        be written whole: no report yet to grow, another closing, no room left, or a write that failed."""
        if self._written is None or tuple(closing) != self._closing or not 0 < self._records <= len(records):
            return False
        added = "".join(f", {record}" for record in records[self._records :]).encode()
        at = self._records_end
        if not _within_a_page(at, len(added)):
            at = at // PAGE * PAGE + PAGE  # the rest of this page stays blank
        fits = at + len(added) <= self._room_end and _within_a_page(at, len(added))
        if not fits or len(said) > self._said_room or not _within_a_page(len(self.opening), self._said_room):
            return False
        try:
            file = os.open(path("output", "output.json"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            found = os.fstat(file)
            if (found.st_dev, found.st_ino) != self._written:
                return False
            if added and os.pwrite(file, added, at) != len(added):
                return False
            self._records_end, self._records = at + len(added), len(records)
            return os.pwrite(file, said.ljust(self._said_room).encode(), len(self.opening)) == self._said_room
        except OSError:
            return False
        finally:
            os.close(file)


def _within_a_page(at: int, size: int) -> bool:
    return size <= 0 or at // PAGE == (at + size - 1) // PAGE


def _spare(size: int) -> bool:
    """Whether the job folder's disk has `size` bytes free: blank room on a disk filling up would take the place the
    records need (feedback/job_folder.py `reserve_room`)."""
    try:
        free = os.statvfs(path("output"))
    except OSError:
        return False
    return free.f_bavail * free.f_frsize >= size
