"""Frozen model classes that cross between processes as the tuple of their values.

A source reading ahead (:mod:`engage.readahead`) and the planning child (:mod:`engage.mapahead`)
send records, tasks and plans down a pipe by the ten thousand. attrs pickles a slotted class
through a dict of its fields and restores it field by field in Python; :func:`as_values` makes
a class pickle as ``(restore, (cls, values))`` instead, restored by setting its slots
directly: a task unpickles in two thirds of the time and pickles in four fifths. The values
are not checked again on the way back: they were checked when the object was built.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

C = TypeVar("C", bound=type)

#: Each class made pickled as values → its slots' setters, in field order.
_SETTERS: dict[type, tuple[Callable[[Any, Any], None], ...]] = {}


def as_values(cls: C) -> C:
    """Make the frozen, slotted attrs class ``cls`` pickle as the tuple of its field values
    (a class decorator, above ``@attrs.frozen``)."""
    names = [field.name for field in attrs.fields(cls)]
    _SETTERS[cls] = tuple(vars(cls)[name].__set__ for name in names)
    get = operator.attrgetter(*names)
    values = get if len(names) > 1 else lambda instance: (get(instance),)

    def __reduce__(self: Any) -> tuple[Any, ...]:
        if type(self) is not cls:  # a subclass (a plugin's): attrs' own way, its fields may differ
            return restore_state, (type(self), self.__getstate__())
        return restore, (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls


def restore(cls: type, values: tuple[Any, ...]) -> Any:
    """An instance of ``cls`` (made with :func:`as_values`) holding ``values``, unchecked."""
    instance: Any = object.__new__(cls)
    for setter, value in zip(_SETTERS[cls], values, strict=True):
        setter(instance, value)
    return instance


def restore_state(cls: type, state: Any) -> Any:
    """An instance of ``cls`` with the state attrs' ``__getstate__`` gave (a subclass of a
    class made with :func:`as_values`)."""
    instance: Any = object.__new__(cls)
    instance.__setstate__(state)
    return instance
