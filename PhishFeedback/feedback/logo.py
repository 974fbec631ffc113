"""The organisation's logo: the `logo` item read and checked once, and the part that carries it in a message.

The image travels in the message, an inline part the HTML names by its Content-ID: a remote image
is blocked by most mail readers, and fetching it would tell a server who opened the mail. Its
width and height are read from the file so that the HTML can say them: the page keeps its layout
while a reader still asks whether to show images.
"""

from __future__ import annotations

import base64
import binascii
from email.message import EmailMessage

from feedback.items import WHERE, ConfigError
from feedback.shapes import shape

# Decoded bytes: far above a logo, and what the message can carry through every way out (docs/messages.md).
LOGO_LIMIT = 200 * 1024
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}
# The box the logo is shown in, in CSS pixels: a larger image is scaled down to fit, a smaller one kept.
BOX = (200, 64)
# JPEG markers that start a frame (SOF0–SOF15) and carry its size; C4, C8 and CC are others.
FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@shape
class Logo:
    data: bytes
    subtype: str
    # The size it is shown at, in CSS pixels.
    width: int
    height: int


def read_logo(value: str | None) -> Logo | None:
    """The logo of the item (base64 text of a PNG or JPEG file, or a data: URL of one); None when unset."""
    if value is None:
        return None
    text = value.partition(",")[2] if value[:5].lower() == "data:" else value  # a URL's scheme in any case
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"logo is not base64 text: paste the output of `base64 -w0 logo.png` (a PNG or JPEG file). {WHERE}"
        ) from None
    subtype = next((kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), None)
    if subtype is None:
        raise ConfigError(f"logo is not a PNG or JPEG image (its first bytes are neither's): convert it. {WHERE}")
    if len(data) > LOGO_LIMIT:
        raise ConfigError(
            f"logo is {len(data):,} bytes once decoded, past the limit of {LOGO_LIMIT:,} (200 KB):"
            f" a logo of {BOX[0]}×{BOX[1]} pixels needs far less, so shrink the image. {WHERE}"
        )
    size = _png_size(data) if subtype == "png" else _jpeg_size(data)
    if size is None:
        raise ConfigError(
            f"logo is a damaged {subtype.upper()} image, whose width and height cannot be read:"
            f" export it again. {WHERE}"
        )
    width, height = size
    scale = min(1.0, BOX[0] / width, BOX[1] / height)
    return Logo(data, subtype, max(1, round(width * scale)), max(1, round(height * scale)))


def attach(message: EmailMessage, logo: Logo, cid: str, boundary: str) -> None:
    """The logo as an inline part beside the HTML: `multipart/related` inside `multipart/alternative`."""
    page = message.get_body(("html",))
    page.make_related(boundary=boundary)
    page.set_param("type", "text/html")  # the root part's type, which RFC 2387 requires
    name = f"logo.{logo.subtype}"
    page.add_related(logo.data, "image", logo.subtype, cid=f"<{cid}>", disposition="inline", filename=name)


def encoded_size(logo: Logo | None) -> int:
    """Characters the logo adds to a message: its base64 lines (76 characters and a line break each)."""
    if logo is None:
        return 0
    characters = 4 * -(-len(logo.data) // 3)
    return characters + 2 * -(-characters // 76)


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk, which a PNG file starts with."""
    if data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return (width, height) if width and height else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first frame header, found by walking the segments after SOI."""
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in FRAME_MARKERS:
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return (width, height) if width and height else None
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None
