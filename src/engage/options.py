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
        options: ClassVar[type[HubSpotOptions]] = HubSpotOptions

        def __init__(self, options: HubSpotOptions, context: AdapterContext) -> None: ...

engage builds an instance from the table (:func:`build_options`, through
:func:`~engage.adapters.resolve_options`) before the adapter is built, so the adapter gets
checked, complete values: no unknown key (the closest is named), no missing required key,
every value of its type down to the elements (``list[str]``, ``dict[str, list[str]]``,
``X | None``, ``Literal[...]``, a nested options class for a sub-table), in its range and
passing its check. A key with ``env=`` is read from that environment variable when the
table does not give it (blank counts as unset; for a type other than ``str`` the text is
read as a TOML value, ``42`` or ``true``); a ``secret=True`` key is never shown: not in the
instance's repr, not in messages, not in ``engage plugins --json`` or the generated README
tables.

The table wins; the environment only fills what the table left out, and engage remembers
which: :func:`origin` (``origin(options, "token")``) says for each key whether the table
gave it (``OriginKind.TABLE``, with the table and the key), a variable filled it
(``ENV``, with the variable's name) or it is the default (``DEFAULT``; ``CODE`` for an
instance made in code). A bad value names where it came from: the key for a table's value
(``[sources.crm]: key 'limit' expected ...``), the variable for the environment's
(``[sources.crm]: $CRM_LIMIT (for key 'limit') expected ... (got ...)``), and a secret's
value in neither. A class's invariant sees the origins too, and must not let a variable
set on the machine overrule what the table chose: when the table picks the other mode,
:func:`drop_env_value` puts the key the variable filled back to its default and only
values the table gave are refused::

    def __attrs_post_init__(self) -> None:
        if self.mbox and self.credentials_file and not drop_env_value(self, "credentials_file"):
            raise ValueError("set either credentials_file or mbox, not both")

Declaring is in :mod:`engage.options_fields`, the type checking in
:mod:`engage.options_types`, the origins in :mod:`engage.options_origins` and the
documentation side (``engage plugins --json``, the README tables) in
:mod:`engage.options_docs`; this module builds, and re-exports the rest.
(ruff's RUF009 takes ``option()`` for a call in a dataclass default: list
``engage.options.option`` in ``lint.flake8-bugbear.extend-immutable-calls``.)
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from engage.errors import ConfigError
from engage.options_docs import (
    assert_readme_table_current,
    describe_options,
    markdown_table,
    regenerate_readme,
    replace_table,
)
from engage.options_fields import (
    OptionInfo,
    is_options_class,
    option,
    option_fields,
    options_class_problem,
)
from engage.options_origins import (
    Origin,
    OriginKind,
    constructing,
    drop_env_value,
    origin,
    origins,
    remember,
)
from engage.options_types import (
    Mismatch,
    OptionCheck,
    convert,
    describe_value,
    range_problem,
)

__all__ = [
    "OptionCheck",
    "OptionInfo",
    "Origin",
    "OriginKind",
    "assert_readme_table_current",
    "build_options",
    "describe_options",
    "did_you_mean",
    "drop_env_value",
    "is_options_class",
    "markdown_table",
    "option",
    "option_fields",
    "options_class_problem",
    "origin",
    "origins",
    "regenerate_readme",
    "replace_table",
]


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
        An instance of ``cls``: given values checked, the rest from ``env`` or defaults;
        :func:`origin` says which for each key.

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
        found: dict[str, Origin] = {}
        for key, field, info in keys:
            element = f"{path}.{key}" if path else key
            value = given.get(key, attrs.NOTHING)
            if value is not attrs.NOTHING:
                found[key] = Origin(OriginKind.TABLE, element, self.where)
            elif info.env is not None and (text := (self.env.get(info.env) or "").strip()):
                found[key] = Origin(OriginKind.ENV, element, self.where, info.env)
                value = self._env_text(text, field.type)
            elif info.required:
                hint = f" ({info.help})" if info.help else ""
                unset = f", and ${info.env} is not set" if info.env else ""
                raise ConfigError(f"{at}: missing required key '{key}'{hint}{unset}")
            else:
                found[key] = Origin(OriginKind.DEFAULT, element, self.where)
                continue
            values[field.name] = self._value(value, field, info, found[key])
        try:
            with constructing(cls, found):
                built = cls(**values)
        except ValueError as exc:  # the class's own invariant (a validator, __attrs_post_init__)
            raise ConfigError(f"{at}: {exc}") from None
        remember(built, found)
        return built

    def _env_text(self, text: str, hint: Any) -> Any:
        """An environment variable's text as the option's type takes it: as it is for a
        string, else read as a TOML value (``42``, ``true``, ``["a", "b"]``) when it is one."""
        try:
            convert(text, hint, "", self._nested)
        except Mismatch:
            pass
        else:
            return text
        if "\n" in text or "\r" in text:
            return text
        try:
            return tomllib.loads(f"value = {text}")["value"]
        except (tomllib.TOMLDecodeError, RecursionError):  # not TOML, or nested too deep
            return text

    def _value(
        self, value: Any, field: attrs.Attribute[Any], info: OptionInfo, source: Origin
    ) -> Any:
        if source.from_env:
            named = f"${source.env} (for key '{source.key}')"
        else:
            named = f"{source.key}:" if "." in source.key else f"key '{source.key}'"
        miss: Mismatch | None = None
        try:
            value = convert(value, field.type, source.key, self._nested)
        except Mismatch as caught:
            miss = caught
        if miss is not None:  # raised here, outside the except: no context holding the value
            got = type(miss.value).__name__ if info.secret else describe_value(miss.value)
            hint = f": {info.help}" if info.help and miss.depth == 0 else ""
            if miss.depth > 0 and not source.from_env:
                named = f"{miss.path}:"
            raise ConfigError(f"{self.where}: {named} expected {miss.expected}{hint} (got {got})")
        problem = range_problem(value, info.minimum, info.maximum, isinstance(value, int))
        if problem is None and info.check is not None:
            problem = info.check(value)
        if problem is not None:
            shown = "a secret value" if info.secret else repr(value)
            raise ConfigError(f"{self.where}: {named} {problem} (got {shown})")
        return value

    def _nested(self, cls: type, table: Mapping[str, Any], path: str) -> Any:
        return self.build(cls, table, path)
