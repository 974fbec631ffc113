"""Reading answers from outside parties (TheHive, the token endpoints, the mail APIs) within a size and a depth bound.

Whoever answers decides how much the job holds in memory and how deep Python's parser recurses: a
small gzip answer can inflate to a gigabyte, and deeply nested JSON ends the parser with a
RecursionError. What the responder needs from them is small and flat (a list of observables, a
token), so anything past these bounds is refused, as a sentence its caller words for its party.
"""

from __future__ import annotations

import json
import re
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


# Every byte but those that open, close or quote, the backslash and the characters a JSON escape sequence may
# escape (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u`): what `nesting` keeps of a body first.
_NOT_STRUCTURE_NOR_ESCAPE = bytes(set(range(256)) - set(b'"[]{}\\/bfnrtu'))
# Every byte but those that open, close or quote.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
# The escape sequences that matter here, `\"` and `\\`: any other escapes a character that is no quote.
_ESCAPED = re.compile(rb'\\[\\"]')
# An empty array or object: one level, taken away in one pass (two replaces in a row would take `{[]}` at once).
_INNERMOST = re.compile(rb"\[\]|\{\}")


def nesting(body: bytes) -> int:
    """How deep the JSON body's arrays and objects nest, counted on its bytes, not by walking the decoded value.

    What a string holds is no nesting. The body is first cut to the bytes that open, close or quote, the
    backslashes and what an escape sequence may escape (so that each backslash still stands before the
    character it escapes); then the escaped quotes and backslashes go, then the rest but the structure,
    then the quotes' contents (after the pairs `""`, a bracket is inside a string when an odd number of
    quotes precede it). Then the innermost `[]` and `{}` are taken away, one level a round. Exact for
    valid JSON (malformed JSON may count short or long: its parser refuses it anyway). A page of 500 cases
    costs a sixth of decoding it; a walk over the decoded value (`parsed`) costs as much as decoding.
    """
    structure = body.translate(None, _NOT_STRUCTURE_NOR_ESCAPE)
    if b"\\" in structure:
        structure = _ESCAPED.sub(b"", structure)
    structure = structure.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    depth = 0
    while structure:
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
