"""The types an option may have, as written and as checked.

An adapter's typed options (:mod:`engage.options`) are annotated with ordinary Python types;
this module names them as they are written (``list[str]``, ``dict[str, list[str]]``,
``str | None``, ``Literal['a', 'b']``) and checks a value from a config table against them,
naming the element that is wrong (``columns['email']``). Only what TOML can give is taken:
strings, whole and decimal numbers, booleans, arrays and tables.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

#: An option's own test of a value: None when it is fine, else what was expected
#: (``"expected an http(s) URL ..."``); see :func:`engage.adapters.http_url`.
OptionCheck = Callable[[Any], str | None]

#: Builds a nested options class from a table: ``(cls, table, path)`` → instance.
Nested = Callable[[type, Mapping[str, Any], str], Any]

_LISTS = (list, tuple, Sequence, typing.Sequence)
_TABLES = (dict, Mapping, typing.Mapping)
_UNIONS = (typing.Union, types.UnionType)


class Mismatch(Exception):
    """A value that is not of its declared type.

    Attributes:
        path: The element, from the key down (``columns['email']``, ``retry.attempts``).
        expected: What was expected, without "expected" (``str``, ``one of 'a', 'b'``).
        value: What was given.
        depth: How many containers deep the element is (0: the key's own value).
    """

    def __init__(self, path: str, expected: str, value: Any, depth: int) -> None:
        super().__init__(f"{path}: expected {expected}")  # the value may be a secret
        self.path = path
        self.expected = expected
        self.value = value
        self.depth = depth


def describe_value(value: Any) -> str:
    """A given value for a message: its type's name and its repr (``int 3``)."""
    return f"{type(value).__name__} {value!r}"


def type_name(hint: Any) -> str:
    """``hint`` as it is written in Python: ``list[str]``, ``str | None``, ``Literal['a']``."""
    if hint is type(None) or hint is None:
        return "None"
    if hint is Any:
        return "Any"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in _UNIONS:
        return " | ".join(type_name(arg) for arg in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None:
        inner = ", ".join("..." if arg is Ellipsis else type_name(arg) for arg in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return getattr(hint, "__name__", str(hint))


def check_hint(hint: Any) -> str | None:
    """Why ``hint`` cannot be checked as an option's type, or None when it can."""
    if hint in (str, int, float, bool, Any, object, type(None)) or attrs.has(hint):
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        ok = all(isinstance(arg, str | int | float | bool) for arg in args)
        return None if ok else f"{type_name(hint)}: Literal values must be str, int, float or bool"
    if origin in _UNIONS or origin in _LISTS or origin in _TABLES:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return f"{type_name(hint)}: only tuple[X, ...] is supported"
        if origin in _TABLES and args and args[0] is not str:
            return f"{type_name(hint)}: table keys are always str"
        for arg in args:
            problem = None if arg is Ellipsis else check_hint(arg)
            if problem is not None:
                return problem
        return None
    if hint in (list, tuple, dict):
        return None
    return f"{type_name(hint)} is not a type a config table can give"


def convert(value: Any, hint: Any, path: str, nested: Nested, depth: int = 0) -> Any:
    """``value`` checked against ``hint`` (ints become floats where floats are expected;
    tables become nested options classes).

    Raises:
        Mismatch: the value, or an element of it, is not of its type.
    """
    if hint is Any or hint is object:
        return value
    if hint is type(None) or hint is None:
        if value is None:
            return None
        raise Mismatch(path, "None", value, depth)
    if isinstance(hint, type) and attrs.has(hint):
        if not isinstance(value, Mapping):
            raise Mismatch(path, f"a table ({hint.__name__})", value, depth)
        return nested(hint, value, path)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in _UNIONS:
        return _union(value, args, hint, path, nested, depth)
    if origin is Literal:
        if any(type(value) is type(arg) and value == arg for arg in args):
            return value
        raise Mismatch(path, f"one of {', '.join(repr(arg) for arg in args)}", value, depth)
    if origin in _LISTS or hint in (list, tuple):
        return _sequence(value, hint, origin, args, path, nested, depth)
    if origin in _TABLES or hint is dict:
        return _table(value, hint, args, path, nested, depth)
    return _scalar(value, hint, path, depth)


def _scalar(value: Any, hint: Any, path: str, depth: int) -> Any:
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise Mismatch(path, type_name(hint), value, depth)


def _sequence(
    value: Any, hint: Any, origin: Any, args: tuple[Any, ...], path: str, nested: Nested, depth: int
) -> Any:
    if not isinstance(value, list | tuple):
        raise Mismatch(path, type_name(hint), value, depth)
    item = args[0] if args else Any
    items = [convert(v, item, f"{path}[{i}]", nested, depth + 1) for i, v in enumerate(value)]
    return tuple(items) if (origin or hint) is tuple else items


def _table(
    value: Any, hint: Any, args: tuple[Any, ...], path: str, nested: Nested, depth: int
) -> Any:
    if not isinstance(value, Mapping):
        raise Mismatch(path, type_name(hint), value, depth)
    item = args[1] if len(args) == 2 else Any
    converted = {}
    for key, element in value.items():
        if not isinstance(key, str):
            raise Mismatch(f"{path} key {key!r}", "str", key, depth + 1)
        converted[key] = convert(element, item, f"{path}[{key!r}]", nested, depth + 1)
    return converted


def _union(
    value: Any, args: tuple[Any, ...], hint: Any, path: str, nested: Nested, depth: int
) -> Any:
    if value is None and type(None) in args:
        return None
    choices = [arg for arg in args if arg is not type(None)]
    misses: list[Mismatch] = []
    for choice in choices:
        try:
            return convert(value, choice, path, nested, depth)
        except Mismatch as miss:
            misses.append(miss)
    deeper = [miss for miss in misses if miss.depth > depth or miss.path != path]
    if len(choices) == 1 or len(deeper) == 1:
        raise (deeper or misses)[0]
    raise Mismatch(path, " or ".join(type_name(choice) for choice in choices), value, depth)


def range_problem(
    value: Any, minimum: float | None, maximum: float | None, whole: bool
) -> str | None:
    """What is wrong with a number outside ``minimum``..``maximum`` (both inclusive), or None.

    ``whole`` says "a whole number" rather than "a number" in the message.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    low, high = minimum, maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    kind = "a whole number" if whole else "a number"
    if low is not None and high is not None:
        return f"expected {kind} from {low:g} to {high:g}"
    bound = f"≥ {low:g}" if low is not None else f"≤ {high:g}"
    return f"expected {kind} {bound}"
