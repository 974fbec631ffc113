"""A disk that fills up while the job runs."""

from __future__ import annotations

from pathlib import Path


def fill(folder: Path) -> None:
    """Every byte left on the disk of `folder` taken, as another program writing there would take it."""
    with open(folder / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 512)
        except OSError:  # no space left
            pass
