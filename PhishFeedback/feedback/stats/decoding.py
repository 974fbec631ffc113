"""TheHive's pages decoded within the responder's bounds, fast: a statistics run decodes a hundred megabytes.

The size is bounded as the pages are read (feedback/thehive/api.py `send`). The nesting is checked on the
decoded page level by level in C (`_reaches`), at a fifth of the decoding's time, where a walk in Python
(feedback/bounded_json.py `parsed`) cost as much as the decoding. Neither parser recurses past Python's
stack: orjson stops at 1,024 levels and the standard library's json raises RecursionError; such a page is
then counted on its bytes (`nesting`) and refused as past the bound. orjson decodes where it is installed
(requirements-dev.txt; docs/statistics.md), the standard library's json elsewhere, with the same result.
"""

from __future__ import annotations

import gc
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
        if nesting(body) >= DEEPEST:  # deeper than the parser goes
            raise PastBound(DEEPER) from None
        return None
    if _reaches(value, DEEPEST):
        raise PastBound(DEEPER)
    return value


def _reaches(value: object, levels: int) -> bool:
    """Whether the value's arrays and objects nest `levels` deep. `gc.get_referents` gives, in C, the items of
    every list and dict it is given (a container must be visited, for the cyclic collector) and nothing for a
    text or a number: a level a call, and the containers of the last level are what nest that deep."""
    level = [value]
    for _ in range(levels - 1):
        level = gc.get_referents(*level)
        if not level:
            return False
    return any(isinstance(item, (list, dict)) for item in level)
