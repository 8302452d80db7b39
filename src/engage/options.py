"""Typed adapter options: a frozen attrs class the core builds and checks from a config table.

An adapter may declare its options as a class instead of a mapping of
:class:`~engage.adapters.Option`::

    @attrs.frozen
    class HubSpotOptions:
        token: str = option(env="HUBSPOT_TOKEN", secret=True, help="private app token")
        base_url: str = option(default="https://api.hubapi.com", check=http_url)
        requests_per_10s: int = option(default=100, minimum=1)
        engagements: list[Literal["emails", "calls"]] = option(factory=lambda: ["emails"])


    class HubSpotSource:
        options = HubSpotOptions

        def __init__(self, options: HubSpotOptions, context: AdapterContext) -> None: ...

engage builds an instance from the table (:func:`build_options`, through
:func:`~engage.adapters.resolve_options`) before the adapter is built, so the adapter gets
checked, complete values: no unknown key (the closest is named), no missing required key,
every value of its type down to the elements (``list[str]``, ``dict[str, list[str]]``,
``X | None``, ``Literal[...]``, a nested options class for a sub-table), in its range and
passing its check. A key with ``env=`` is read from that environment variable when the
table does not give it; a ``secret=True`` key is never shown: not in the instance's repr,
not in messages, not in ``engage plugins --json`` or the generated README tables.

The documentation side (``engage plugins --json``, the README tables) is in
:mod:`engage.options_docs`; the type checking in :mod:`engage.options_types`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard

import attrs

from engage.errors import ConfigError
from engage.options_types import Mismatch, OptionCheck, check_hint, convert, range_problem

__all__ = [
    "OptionInfo",
    "build_options",
    "did_you_mean",
    "is_options_class",
    "option",
    "option_fields",
    "options_class_problem",
]

#: The key of an attrs field's metadata holding its :class:`OptionInfo`.
METADATA_KEY = "engage.option"


@attrs.frozen
class OptionInfo:
    """What :func:`option` keeps about a field beyond what attrs keeps.

    Attributes:
        help: One line for the config reference and error messages.
        minimum: For numbers, the smallest value accepted (inclusive).
        maximum: For numbers, the largest value accepted (inclusive).
        check: A test of a given value beyond its type and range (``http_url``).
        env: The environment variable giving the value when the table does not.
        secret: Never shown: not in reprs, messages or documentation.
        required: The key must be given (in the table, or through ``env``).
    """

    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    check: OptionCheck | None = None
    env: str | None = None
    secret: bool = False
    required: bool = False


def option(
    *,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
    required: bool = False,
    help: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    check: OptionCheck | None = None,
    env: str | None = None,
    secret: bool = False,
) -> Any:
    """An option of a typed options class: :func:`attrs.field` with engage's metadata.

    A field without ``default`` or ``factory`` is required. Fields are keyword-only, so
    required and optional ones may come in any order.

    Args:
        default: The value when the key is absent (not checked: it is the adapter's own).
        factory: Makes the default (``list``, ``dict``) for mutable ones.
        required: Say so explicitly; a required option may not have a default.
        help: One line for the config reference and error messages.
        minimum: For numbers, the smallest value accepted.
        maximum: For numbers, the largest value accepted.
        check: A test of a given value beyond its type and range
            (:func:`~engage.adapters.http_url`, :func:`~engage.adapters.date_format`).
        env: An environment variable giving the value when the table does not
            (``HUBSPOT_TOKEN``); blank counts as unset.
        secret: Keep the value out of the repr (attrs ``repr=False``), messages and docs.

    Raises:
        TypeError: both ``default`` and ``factory``, or ``required`` with either.
    """
    has_default = default is not attrs.NOTHING or factory is not None
    if default is not attrs.NOTHING and factory is not None:
        raise TypeError("option(): give default or factory, not both")
    if required and has_default:
        raise TypeError("option(): a required option has no default")
    info = OptionInfo(help, minimum, maximum, check, env, secret, required or not has_default)
    return attrs.field(
        default=attrs.Factory(factory) if factory is not None else default,
        repr=not secret,
        kw_only=True,
        metadata={METADATA_KEY: info},
    )


def is_options_class(spec: Any) -> TypeGuard[type[Any]]:
    """True when ``spec`` is an attrs class (a typed options declaration)."""
    return isinstance(spec, type) and attrs.has(spec)


def option_fields(cls: type) -> list[tuple[str, attrs.Attribute[Any], OptionInfo]]:
    """The config keys of an options class: ``(key, attrs field, info)`` in declared order.

    A plain attrs field (no :func:`option`) is an option too: required when it has no
    default. Fields with ``init=False`` are not options. Type annotations are resolved.
    """
    attrs.resolve_types(cls)
    keys = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        info = field.metadata.get(METADATA_KEY)
        if not isinstance(info, OptionInfo):
            info = OptionInfo(required=field.default is attrs.NOTHING)
        keys.append((field.alias, field, info))
    return keys


def options_class_problem(cls: Any) -> str | None:
    """Why ``cls`` cannot be an adapter's options class, or None when it can.

    It must be a frozen attrs class whose fields have types a config table can give
    (checked recursively for nested options classes).
    """
    if not is_options_class(cls):
        return f"{cls!r} is not an attrs class"
    params = getattr(cls, "__attrs_props__", None)
    frozen = params.is_frozen if params is not None else _frozen(cls)
    if not frozen:
        return f"{cls.__name__} is not frozen (use @attrs.frozen)"
    try:
        keys = option_fields(cls)
    except NameError as exc:
        return f"{cls.__name__}: cannot resolve a type annotation ({exc})"
    for key, field, _ in keys:
        problem = check_hint(field.type)
        if problem is None and isinstance(field.type, type) and attrs.has(field.type):
            problem = options_class_problem(field.type)
        if problem is not None:
            return f"{cls.__name__}.{key}: {problem}"
    return None


def _frozen(cls: type) -> bool:
    """attrs before 25.4 keeps no props: a frozen class refuses ``__setattr__``."""
    return getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs"


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``; did you mean 'columns'?`` for the closest of ``known``, or an empty string."""
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def unknown_key_message(where: str, key: str, known: Iterable[str]) -> str:
    """``WHERE: unknown key 'colums'; did you mean 'columns'? (expected one of: ...)``."""
    names = sorted(known)
    return (
        f"{where}: unknown key '{key}'{did_you_mean(key, names)} "
        f"(expected one of: {', '.join(names) or 'none'})"
    )


def build_options(
    cls: type[Any], given: Mapping[str, Any], where: str, env: Mapping[str, str]
) -> Any:
    """Build and check an instance of the options class ``cls`` from a config table.

    Args:
        cls: The adapter's options class (a frozen attrs class of :func:`option` fields).
        given: The keys from the config table (without ``plugin``).
        where: Where the keys come from, for messages: ``engage.toml: [sources.files]``.
        env: The environment ``env=`` options are read from.

    Returns:
        An instance of ``cls``: given values checked, the rest from ``env`` or defaults.

    Raises:
        ConfigError: a key is unknown (naming the closest), a required key is missing, a
            value or one of its elements has the wrong type, a number is out of range or a
            value fails its check; the message names ``where`` and the key (or element),
            and never shows a secret's value.
    """
    return _Builder(where, env).build(cls, given, "")


@attrs.frozen
class _Builder:
    where: str
    env: Mapping[str, str]

    def build(self, cls: type[Any], given: Mapping[str, Any], path: str) -> Any:
        keys = option_fields(cls)
        at = f"{self.where}: {path}" if path else self.where
        known = [key for key, _, _ in keys]
        for key in sorted(given):
            if key not in known:
                raise ConfigError(unknown_key_message(at, key, known))
        values: dict[str, Any] = {}
        for key, field, info in keys:
            value = given.get(key, attrs.NOTHING)
            from_env = value is attrs.NOTHING and info.env is not None
            if from_env:
                value = (self.env.get(info.env or "") or "").strip() or attrs.NOTHING
            if value is not attrs.NOTHING:
                values[key] = self._value(value, field, info, path, key, from_env)
            elif info.required:
                hint = f" ({info.help})" if info.help else ""
                unset = f", and ${info.env} is not set" if info.env else ""
                raise ConfigError(f"{at}: missing required key '{key}'{hint}{unset}")
        try:
            return cls(**values)
        except ValueError as exc:  # the class's own invariant (a validator, __attrs_post_init__)
            raise ConfigError(f"{at}: {exc}") from None

    def _value(
        self,
        value: Any,
        field: attrs.Attribute[Any],
        info: OptionInfo,
        path: str,
        key: str,
        from_env: bool,
    ) -> Any:
        element = f"{path}.{key}" if path else key
        named = f"${info.env}" if from_env else (f"{element}:" if path else f"key '{key}'")
        try:
            value = convert(value, field.type, element, self._nested)
        except Mismatch as miss:
            got = type(miss.value).__name__ if info.secret else _got(miss.value)
            hint = f": {info.help}" if info.help and miss.depth == 0 else ""
            if miss.depth > 0:
                named = f"{miss.path}:"
            raise ConfigError(
                f"{self.where}: {named} expected {miss.expected}{hint} (got {got})"
            ) from None
        problem = range_problem(value, info.minimum, info.maximum, isinstance(value, int))
        if problem is None and info.check is not None:
            problem = info.check(value)
        if problem is not None:
            shown = "a secret value" if info.secret else repr(value)
            raise ConfigError(f"{self.where}: {named} {problem} (got {shown})")
        return value

    def _nested(self, cls: type, table: Mapping[str, Any], path: str) -> Any:
        return self.build(cls, table, path)


def _got(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"
