"""Logos as an admin pastes them into the `logo` item: base64 text of a PNG or JPEG file.

The PNG is the project's own logo (PhishFeedback/assets/logo.png, 128×128); the JPEG a small one
(64×32). `padded` makes a valid PNG of any size, with a private chunk that readers skip; `tables_first` the
JPEG with its Huffman tables before its frame header, as some encoders write it.
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

HERE = Path(__file__).parent
PNG = (HERE.parent / "PhishFeedback" / "assets" / "logo.png").read_bytes()
JPEG = (HERE / "logo.jpg").read_bytes()


def as_item(data: bytes) -> str:
    """What `base64 -w0 logo.png` prints."""
    return base64.b64encode(data).decode("ascii")


def padded(size: int) -> bytes:
    """The PNG logo grown to `size` bytes by a private ancillary chunk after its header."""
    header_end = 8 + 25  # signature, then IHDR: length, type, 13 bytes of data, CRC
    filler = b"\0" * (size - len(PNG) - 12)
    chunk = len(filler).to_bytes(4, "big") + b"prVt" + filler + zlib.crc32(b"prVt" + filler).to_bytes(4, "big")
    return PNG[:header_end] + chunk + PNG[header_end:]


def tables_first(jpeg: bytes) -> bytes:
    """The JPEG with its Huffman tables (DHT segments) moved before its frame header (SOF0): still a valid file."""
    segments, position = [], 2
    while jpeg[position + 1] != 0xDA:  # up to the start of scan, which runs to the end
        length = int.from_bytes(jpeg[position + 2 : position + 4], "big")
        segments.append(jpeg[position : position + 2 + length])
        position += 2 + length
    tables = [s for s in segments if s[1] == 0xC4]
    others = [s for s in segments if s[1] != 0xC4]
    frame = next(i for i, s in enumerate(others) if s[1] == 0xC0)
    return jpeg[:2] + b"".join(others[:frame] + tables + others[frame:]) + jpeg[position:]
