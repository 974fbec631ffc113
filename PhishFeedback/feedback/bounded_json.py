"""Reading answers from outside parties (TheHive, the token endpoints, the mail APIs) within a size and a depth bound.

Whoever answers decides how much the job holds in memory and how deep Python's parser recurses: a
small gzip answer can inflate to a gigabyte, and deeply nested JSON ends the parser with a
RecursionError. What the responder needs from them is small and flat (a list of observables, a
token), so anything past these bounds is refused: the HTTP client (feedback/api_session.py) reads
and decodes within them, and tells what is past them in one sentence (feedback/http_failures.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

# What the job keeps of one party's answers, after decompression.
LARGEST = 16 << 20
# Observables are three levels deep (list, observable, tags), a token answer two; room for what a version adds.
DEEPEST = 32


class PastBound(ValueError):
    """The answer nests deeper than the responder reads: the client's `Malformed`, whoever decoded it."""


def read_size(headers: Mapping[str, str], largest: int, whole_inflation: bool = False) -> int:
    """How much to ask for at each read of a body: a body whose length is said, uncompressed and within the bound,
    all at once. That makes one new buffer, where reads of a fixed size each made one and `within` joined them into
    another: memory the system hands out afresh for every page of TheHive's cases (a megabyte each, of which the
    statistics read hundreds: a tenth of their CPU). Any other body in reads of 256 KiB; a compressed one where a
    read inflates all it brings (`whole_inflation`: urllib3 before 2.6, where 256 KiB of gzip may be 256 MB, when
    2.6 stops at the size asked for) in reads of 16 KiB, which inflate to 16 MB at most."""
    length = headers.get("Content-Length", "")
    compressed = headers.get("Content-Encoding")
    if length.isascii() and length.isdigit() and len(length) < 10 and not compressed:
        if 0 < int(length) <= largest:
            return int(length)
    return 1 << 14 if compressed and whole_inflation else 1 << 18


def within(chunks: Iterable[bytes], largest: int) -> tuple[bytes, bool]:
    """At most `largest` bytes of the chunks joined, and whether more came: then nothing further is read."""
    kept, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > largest:
            kept.append(chunk[: len(chunk) - (size - largest)])
            return b"".join(kept), True
        kept.append(chunk)
    return b"".join(kept), False


def parsed(body: bytes) -> object:
    """The JSON value of the body (None when it is no JSON), nested no deeper than DEEPEST."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise PastBound(f"answered JSON nested deeper than {DEEPEST} levels") from None
    except ValueError:
        return None
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > DEEPEST:
            raise PastBound(f"answered JSON nested deeper than {DEEPEST} levels")
        level = [
            inner
            for item in level
            if isinstance(item, (list, dict))
            for inner in (item.values() if isinstance(item, dict) else item)
        ]
    return value


# Every byte but those that open, close or quote: what `nesting` keeps of a body.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
# An escape sequence (`\"`, `\\`, `\n`, `\u…`): its escaped character is no quote, whatever it is.
_ESCAPED = re.compile(rb"\\.", re.DOTALL)
# An empty array or object: one level, taken away in one pass (two replaces in a row would take `{[]}` at once).
_INNERMOST = re.compile(rb"\[\]|\{\}")


def nesting(body: bytes, most: int | None = None) -> int:
    """How deep the body's arrays and objects nest, counted on the bytes before any parser recurses into them.

    What a string holds is no nesting: escape sequences go first, then the quotes' contents
    (after the pairs `""`, a bracket is inside a string when an odd number of quotes precede it). Then
    the innermost `[]` and `{}` are taken away, one level a round. Malformed JSON may count short: its
    parser refuses it anyway. A page of 500 cases costs a tenth of decoding it; a walk over the decoded
    value (`parsed`) costs as much as decoding. A round costs a pass over the body: given `most`, the count stops
    there, as a body of 16 MB can nest millions deep.
    """
    if b"\\" in body:
        body = _ESCAPED.sub(b"", body)
    structure = body.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    depth = 0
    while structure and depth != most:
        inner = _INNERMOST.sub(b"", structure)
        if inner == structure:
            break
        structure, depth = inner, depth + 1
    return depth


def json_value(data: bytes) -> object:
    """The JSON in a short body (its size already bounded), or None: not JSON, or nested deeper than the parser goes."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None
