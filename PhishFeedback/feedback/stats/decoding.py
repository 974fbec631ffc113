"""TheHive's pages decoded within the responder's bounds, fast: a statistics run decodes a hundred megabytes.

The size is bounded as the pages are read (feedback/thehive/api.py `send`); the nesting is counted on
the bytes (feedback/bounded_json.py `nesting`) of a page the parser took, not by walking the decoded
value, which cost as much as the decoding; it is exact for the JSON a parser takes. Neither parser
recurses past Python's stack: orjson stops at 1,024 levels, the standard library's json raises
RecursionError, and the count then says the page is past the bound. orjson decodes where it is
installed (requirements-dev.txt; docs/statistics.md), the standard library's json elsewhere, with the same
result.
"""

from __future__ import annotations

import json

from feedback.bounded_json import DEEPEST, PastBound, nesting

try:
    from orjson import loads
except ImportError:  # pragma: no cover (where orjson's wheel is missing)
    loads = json.loads

DEEPER = f"answered JSON nested deeper than {DEEPEST} levels"


def decoded(body: bytes) -> object:
    """The JSON value of the body (None when it is no JSON), refused when nested DEEPEST levels or more."""
    try:
        value = loads(body)
    except (ValueError, RecursionError):
        value = None  # no JSON, or deeper than the parser goes: the count tells which
    if nesting(body) >= DEEPEST:
        raise PastBound(DEEPER)
    return value
