"""TheHive's pages decoded within the responder's bounds, fast: a statistics run decodes a hundred megabytes.

Of a case's hundred values the statistics read a dozen. Where msgspec is installed (requirements-dev.txt;
docs/statistics.md), a page is decoded as a list of `Case`: only the keys the readers look at are made into
objects, the others are skipped unmade. Whatever that decoder does not take (a page that is no list of objects,
a value of a type `Case` does not name, JSON msgspec refuses and the standard library takes, such as NaN) is
decoded whole by the standard library's json (`decoded`), as everywhere msgspec is missing: the same cases
reach the same readers with the same values.

The size is bounded as the pages are read (feedback/thehive/api.py `send`). The nesting of what is made is bounded
by `Case`'s types, and checked level by level in C where json decodes (`_reaches`). A value skipped unmade is not
checked: it is never read, and its skipping recurses no further than the parser's guard. Neither parser recurses
past Python's stack: both raise RecursionError, and the page is refused as past the bound; one that is no JSON is
counted on its bytes (`nesting`), so that a deep one is said as deep.
"""

from __future__ import annotations

import gc
import json
from typing import TypedDict, Union

from feedback.bounded_json import DEEPEST, PastBound, nesting

DEEPER = f"answered JSON nested deeper than {DEEPEST} levels"


# A JSON value that holds no other. The types below take every value TheHive sends in the keys read; a value of
# another type (a title that is a list) fails the page over to `decoded`, where the readers pass over it as before.
Scalar = Union[str, int, float, bool, None]


class Field(TypedDict, total=False):
    """A custom field in TheHive 5's list: what feedback/case.py `field_value` reads of it."""

    name: Scalar
    value: Scalar | list[Scalar]


class Case(TypedDict, total=False):
    """What is read of a case: by facts.py `case_facts` (with feedback/case.py `field_value`) and reading.py `_id`.

    TheHive 5's /api/v1/query and 4's v0 search both. A key read there and missing here would be read as absent:
    tests/test_stats_decoding.py compares the facts of every generated shape decoded both ways. No type is `Any`:
    what is made nests five levels at most, within the bound without a walk (msgspec reads the annotations, on
    Python 3.10 or later).
    """

    _id: Scalar
    id: Scalar
    title: Scalar
    _createdAt: Scalar
    createdAt: Scalar
    alertDate: Scalar
    alertNewDate: Scalar
    alertImportedDate: Scalar
    tags: list[Scalar]
    customFieldValues: dict[str, Scalar | list[Scalar]]
    customFields: list[Field] | dict[str, dict[str, Scalar | list[Scalar]] | Scalar | list[Scalar]] | None


try:
    import msgspec
except ImportError:  # pragma: no cover (where msgspec's wheel is missing)
    _CASES = None
else:
    _CASES = msgspec.json.Decoder(list[Case])


def decoded(body: bytes) -> object:
    """The JSON value of the body (None when it is no JSON), refused when nested DEEPEST levels or more."""
    try:
        value = json.loads(body)
    except RecursionError:  # deeper than the parser goes
        raise PastBound(DEEPER) from None
    except ValueError:
        if nesting(body, DEEPEST) >= DEEPEST:
            raise PastBound(DEEPER) from None
        return None
    if _reaches(value, DEEPEST):
        raise PastBound(DEEPER)
    return value


def page_decoded(body: bytes) -> object:
    """A page of cases, of which only `Case`'s keys are kept where msgspec is installed; otherwise as `decoded`."""
    if _CASES is None:
        return decoded(body)
    try:
        return _CASES.decode(body)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return decoded(body)


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
