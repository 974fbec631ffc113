"""Typed, immutable shapes for the data that crosses modules.

typing.NamedTuple would do the same, but importing typing and building its classes costs every
job about 3 % of its time, and Cortex starts a process for every click. `shape` builds the named
tuple from the class's annotations, which `from __future__ import annotations` leaves unevaluated.
"""

from collections import namedtuple


def shape(cls: type) -> type:
    """The annotated class as an immutable named tuple: fields in annotation order, methods kept."""
    fields = list(cls.__dict__.get("__annotations__", {}))
    body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    return type(cls.__name__, (namedtuple(cls.__name__, fields, module=cls.__module__),), {**body, "__slots__": ()})
