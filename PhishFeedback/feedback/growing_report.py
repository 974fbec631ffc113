"""The report a kill leaves, grown in place as messages are accepted (feedback/interim_report.py says what it holds).

Were it written whole at every accepted message, every write would hold every record before it, and a campaign would
cost the square of its reporters (docs/performance.md). So a message's records go into blank room left inside the
report's operations list, and its sentence over the one before, in room left after it: two writes in place. The
report is written whole (a new file renamed over it) only where those cannot be made: its first record, closing tags
that change, room run out (it is then left as much room again as it holds, so that the whole writes add up to a few
times the last report), a sentence or records that outgrew their room or would span two pages, a write that failed,
output.json that is no longer the file the job wrote; and at every message on a disk with little room to spare.

Each write in place lies within one page of the file, and the kernel copies it from pages it holds itself (a file in
memory, sent with sendfile), never from the job's memory, where a page may fault midway through the copy and the kill
be taken there, half of the write done. Where a write goes through Linux's page cache (ext4, XFS, tmpfs, an NFS
client), it is copied in page by page, and a kill is taken only between pages: it leaves the file's page as it was or
as written, and output.json stays whole JSON that holds every record. The records go first: a kill between a
message's two writes leaves the sentence one message behind its records, never a record missing. Where Python has no
memfd_create (glibc before 2.27), the report is written whole at every message, as it was.

Every report written whole while more may come keeps room, too, for one message's records more and a sentence of a
given length, used only where the report can no longer be written whole (a full disk): the last reporter the service
accepted is recorded all the same, and the sentence says why nothing more went out (`last`).
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Sequence

from feedback.job_folder import has_room, path, write_output_text

# Linux's smallest page: a larger page holds whole pages of this size, so a write within one of these is within it.
PAGE = 4096
# Blank room after the sentence, for a longer one (more digits, a reporter whose message may have gone).
SENTENCE_ROOM = 32


class GrowingReport:
    """output.json as `opening` sentence `middle` [records, closing] `end`: a list whose records grow, and whose
    closing items follow them. Every part is ASCII JSON text (job_folder.json_text), so that characters are bytes;
    `records` holds one at least."""

    def __init__(self, opening: str, middle: str, end: str, kept: tuple[int, int] = (0, 0)) -> None:
        """`kept`: the room kept for the records of one message more and for the sentence `last` writes."""
        self.opening, self.middle, self.end = opening, middle, end
        self._written: tuple[int, int] | None = None  # the device and inode of output.json as last written whole
        self._said_room = self._records_end = self._room_end = self._records = 0
        self._closing: tuple[str, ...] = ()
        # The sentence's room stays within the report's first page, however long the kept sentence would be.
        self._kept_records, self._kept_said = kept[0], min(kept[1], PAGE - len(opening) - SENTENCE_ROOM)

    def write(self, said: str, records: Sequence[str], closing: Sequence[str], more: bool) -> None:
        """Whole; with room to grow only while `more` records may come (the last message's report, a one-reporter
        job's only one, is as small as it can be) and where the disk has it to spare. Raises OSError as
        job_folder.write_output_text does."""
        said_room = max(len(said), self._kept_said) + SENTENCE_ROOM if more else len(said)
        head = f"{self.opening}{said.ljust(said_room)}{self.middle}{', '.join(records)}"
        tail = "".join(f", {item}" for item in closing) + self.end
        room, kept = (max(PAGE, len(head)), self._kept_records) if more else (0, 0)
        # Room only where the disk holds the report with it twice over, the second time for the whole write after:
        # blank room on a disk filling up would take the place the records need (job_folder.reserve_room).
        if room and not has_room(2 * (len(head) + room + kept + len(tail))):
            room = 0
        try:
            written = write_output_text(f"{head}{' ' * (room + kept)}{tail}")
        except OSError as failure:
            if not room or failure.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            room = 0  # the disk filled up since it was looked at: the records first
            written = write_output_text(f"{head}{' ' * kept}{tail}")
        if more:
            self._said_room, self._records_end, self._room_end = said_room, len(head), len(head) + room
            self._records, self._closing = len(records), tuple(closing)
        # Until a new report is in its place, the last one stays the one to fill: a write that failed left it whole.
        self._written = (written.st_dev, written.st_ino) if more else None

    def grow(self, said: str, records: Sequence[str], closing: Sequence[str]) -> bool:
        """The records after those already written, and the sentence, written in place; False where the report must
        be written whole: no report yet to grow, another closing, no room left, or a write that failed."""
        if tuple(closing) != self._closing or not self._said_fits(said):
            return False
        return self._fill(said, records, self._room_end)

    def last(self, saids: Sequence[str], records: Sequence[str]) -> None:
        """As `grow`, into the room kept as well, the closing items left as they were written (`closing`): where the
        report could not be written whole, the records of the message that was to be in it, and the first of the
        sentences that fits, which say why the job stops (the records, whether one fits or not)."""
        said = next((said for said in saids if self._said_fits(said)), None)
        self._fill(said, records, self._room_end + self._kept_records)

    @property
    def closing(self) -> tuple[str, ...]:
        """The closing items of the report on disk, which `last` leaves as they are: the sentence says what to mend."""
        return self._closing

    def _said_fits(self, said: str) -> bool:
        return len(said) <= self._said_room and _within_a_page(len(self.opening), self._said_room)

    def _fill(self, said: str | None, records: Sequence[str], room_end: int) -> bool:
        """The records, then the sentence unless None: the records first, so that a kill between the two writes leaves
        the sentence behind them, never ahead."""
        if self._written is None or _staging() is None:
            return False
        added = "".join(f", {record}" for record in records[self._records :]).encode()
        at = self._records_end
        if not _within_a_page(at, len(added)):
            at = at // PAGE * PAGE + PAGE  # the rest of this page stays blank
        if at + len(added) > room_end or not _within_a_page(at, len(added)):
            return False
        try:
            file = os.open(path("output", "output.json"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            found = os.fstat(file)
            if (found.st_dev, found.st_ino) != self._written:
                return False
            if added and not _put(file, added, at):
                return False
            self._records_end, self._records = at + len(added), len(records)
            return said is None or _put(file, said.ljust(self._said_room).encode(), len(self.opening))
        except OSError:  # a disk full even for a write in place (btrfs, ZFS: copy on write)
            return False
        finally:
            os.close(file)


def _put(file: int, data: bytes, at: int) -> bool:
    """`data` written at `at` by the kernel, from the file in memory it was put in first."""
    staging = _staging()
    os.pwrite(staging, data, 0)  # a page at most, to a file in memory: whole, or an OSError
    os.lseek(file, at, os.SEEK_SET)
    return os.sendfile(file, staging, 0, len(data)) == len(data)


@functools.cache
def _staging() -> int | None:
    """The file in memory the writes in place are sent from, one for the process; None where there is none: no
    memfd_create in Python built on glibc before 2.27, or no descriptor left."""
    try:
        return os.memfd_create("phish_feedback", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        return None


def _within_a_page(at: int, size: int) -> bool:
    return size <= 0 or at // PAGE == (at + size - 1) // PAGE
