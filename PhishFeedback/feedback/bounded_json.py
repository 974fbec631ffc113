"""Reading answers from outside parties (TheHive, the token endpoints, the mail APIs) within a size and a depth bound.

Whoever answers decides how much the job holds in memory and how deep Python's parser recurses: a
small gzip answer can inflate to a gigabyte, and deeply nested JSON ends the parser with a
RecursionError. What the responder needs from them is small and flat (a list of observables, a
token), so anything past these bounds is refused, as a sentence its caller words for its party.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

# What the job keeps of one party's answers, after decompression.
LARGEST = 16 << 20
# Observables are three levels deep (list, observable, tags), a token answer two; room for what a version adds.
DEEPEST = 32


class PastBound(ValueError):
    """The answer is larger or deeper than the responder reads; the text says which, for the analyst."""


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


def collected(chunks: Iterable[bytes], largest: int = LARGEST) -> bytes:
    """The chunks joined, read no further than `largest` bytes: a longer answer is PastBound."""
    body, more = within(chunks, largest)
    if more:
        raise PastBound(f"answered more than {largest >> 20} MB")
    return body


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


def json_value(data: bytes) -> object:
    """The JSON in a short body (its size already bounded), or None: not JSON, or nested deeper than the parser goes."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None
