"""The statistics' files (--csv, --html), written all or none: each first into a file of its own beside where it
goes, readable by its owner alone (the tables name reporters), then all moved into place together. A failure leaves
the files of the run before as they were, never half of each run; a link planted where a file goes is replaced, never
followed (a folder others may write in, /tmp/stats, would otherwise have the command overwrite what the link names,
with its user's rights).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile

from feedback.errors import CommandError


def check(csv_folder: str | None, page: str | None) -> None:
    """Said before the read, which may take an hour: a file the figures could not be written to at its end."""
    if page and os.path.isdir(page):
        raise _unwritable(page, os.strerror(errno.EISDIR))
    wanted = [(page, os.path.dirname(os.path.abspath(page)), False)] if page else []
    if csv_folder:  # made if missing, with the folders above it: the nearest that exists must take it
        wanted.append((csv_folder, os.path.abspath(csv_folder), True))
    for path, folder, made in wanted:
        nearest = folder
        while not os.path.exists(nearest) and os.path.dirname(nearest) != nearest:
            nearest = os.path.dirname(nearest)
        if not os.path.isdir(nearest):  # a file where a folder must be
            raise _unwritable(path, os.strerror(errno.ENOTDIR))
        if nearest != folder and not made:
            raise _unwritable(path, os.strerror(errno.ENOENT))
        if not os.access(nearest, os.W_OK | os.X_OK):
            raise _unwritable(path, os.strerror(errno.EACCES))


def write(texts: dict[str, str]) -> list[str]:
    """Each path's text, in that order; the paths written. A folder made for them is its owner's alone."""
    staged: list[tuple[str, str]] = []
    moved: list[str] = []
    path = ""
    try:
        for path, text in texts.items():
            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, mode=0o700, exist_ok=True)
            descriptor, part = tempfile.mkstemp(prefix=".", suffix=".part", dir=folder)
            staged.append((part, path))
            with open(descriptor, "w", encoding="utf-8", newline="") as file:
                file.write(text)
        for _, path in staged:  # before any is moved: a folder standing where a file goes
            if os.path.isdir(path):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        for part, path in staged:
            os.replace(part, path)
            moved.append(path)
    except OSError as failure:
        for part, _ in staged:
            with contextlib.suppress(OSError):
                os.remove(part)
        so = f"; written before it: {', '.join(moved)}" if moved else ", so none of the files was written"
        raise _unwritable(path, failure.strerror or type(failure).__name__, so) from None
    return moved


def _unwritable(path: str, why: str, so: str = "") -> CommandError:
    return CommandError(f"{path} cannot be written ({why}){so}.")
