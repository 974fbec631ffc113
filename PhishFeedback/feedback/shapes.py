"""Typed, immutable shapes for the data that crosses modules.

typing.NamedTuple, dataclasses and even collections.namedtuple generate code for every class they
make (namedtuple runs `eval` for each), and Cortex starts a process for every click: for the
job's dozen shapes that would be about 3 % of its instructions (docs/performance.md). `shape` makes
the same thing, a tuple whose fields have names, from the class's annotations (which `from
__future__ import annotations` leaves unevaluated), with one generic constructor shared by all.
"""

from __future__ import annotations

from operator import itemgetter


class _Shape(tuple):
    """A tuple with named fields: immutable, compared and hashed as a tuple, built by position or by name."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __new__(cls, *values: object, **named: object) -> _Shape:
        if not named and len(values) == len(cls._fields):  # by position, as most are made: nothing to check
            return tuple.__new__(cls, values)
        missing = [name for name in cls._fields[len(values) :] if name not in named]
        if missing or len(values) + len(named) != len(cls._fields):
            raise TypeError(f"{cls.__name__} takes the fields {', '.join(cls._fields)}")
        return tuple.__new__(cls, (*values, *(named[name] for name in cls._fields[len(values) :])))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in zip(self._fields, self))})"


# What every shape is, for a function that takes any of them.
Shape = _Shape


def shape(cls: type) -> type:
    """The annotated class as an immutable tuple with named fields, in annotation order, its methods kept."""
    fields = tuple(cls.__dict__.get("__annotations__", {}))
    body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    accessors = {name: property(itemgetter(i)) for i, name in enumerate(fields)}
    return type(cls.__name__, (_Shape,), {**accessors, **body, "_fields": fields, "__slots__": ()})


def replaced(item: _Shape, **changes: object) -> _Shape:
    """A copy of the shape with these fields changed."""
    return type(item)(**{**dict(zip(item._fields, item)), **changes})
