"""Declaring typed options: :func:`option` and what it records on an attrs field.

See :mod:`engage.options` for the whole story; this module is what both the builder
(:mod:`engage.options`) and the documentation (:mod:`engage.options_docs`) read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard

import attrs

from engage.options_types import OptionCheck, check_hint

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
        key_name: For a table of sub-tables (``dict[str, Lookup]``), what its keys are,
            as the documentation writes them (``column``: ``lookups.<column>.path``).
    """

    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    check: OptionCheck | None = None
    env: str | None = None
    secret: bool = False
    required: bool = False
    key_name: str = "name"


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
    key_name: str = "name",
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
        key_name: For a table of nested options classes (``dict[str, Lookup]``), what
            its keys are: the docs write ``lookups.<column>.path`` for ``"column"``.

    Raises:
        TypeError: both ``default`` and ``factory``, or ``required`` with either.
    """
    has_default = default is not attrs.NOTHING or factory is not None
    if default is not attrs.NOTHING and factory is not None:
        raise TypeError("option(): give default or factory, not both")
    if required and has_default:
        raise TypeError("option(): a required option has no default")
    info = OptionInfo(
        help, minimum, maximum, check, env, secret, required or not has_default, key_name
    )
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
