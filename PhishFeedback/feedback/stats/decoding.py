"""TheHive's pages decoded within the responder's bounds, fast: a statistics run decodes a hundred megabytes.

The size is bounded as the pages are read (feedback/thehive/api.py `send`); the nesting is counted on
the bytes (feedback/bounded_json.py `nesting`) before a parser sees them, not by walking the decoded
value, which cost as much as the decoding. orjson decodes where it is installed (requirements-dev.txt;
docs/statistics.md), the standard library's json elsewhere, with the same result.
"""

from __future__ import annotations

import json

from feedback.bounded_json import DEEPEST, PastBound, nesting

try:
    from orjson import loads
except ImportError:  # pragma: no cover (where orjson's wheel is missing)
    loads = json.loads


def decoded(body: bytes) -> object:
    """The JSON value of the body (None when it is no JSON), refused when nested DEEPEST levels or more."""
    if nesting(body) >= DEEPEST:
        raise PastBound(f"answered JSON nested deeper than {DEEPEST} levels")
    try:
        return loads(body)
    except (ValueError, RecursionError):
        return None
