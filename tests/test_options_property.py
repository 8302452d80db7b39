"""Properties of building options: any table of valid values round-trips (the instance has
exactly those values, the rest its defaults), and no junk raises anything but ConfigError."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from engage.adapters import Option, date_format, http_url, resolve_options
from engage.errors import ConfigError
from engage.options import OptionInfo, option, option_fields
from tests.test_options import CrmOptions

WHERE = "engage.toml: [sources.prop]"


@attrs.frozen
class Nested:
    """A sub-table."""

    name: str = option()
    weight: float = option(default=1.0, minimum=0)


@attrs.frozen
class PropOptions:
    """One field of each kind the builder knows."""

    path: str = option()
    token: str = option(env="PROP_TOKEN", secret=True)
    limit: int = option(default=10, minimum=1, maximum=1000)
    ratio: float = option(default=0.5, minimum=0, maximum=1)
    strict: bool = option(default=False)
    tags: list[str] = option(factory=list)
    skip: dict[str, list[str]] = option(factory=dict)
    mode: Literal["api", "files"] = option(default="api")
    owner: str | None = option(default=None)
    sizes: tuple[int, ...] = option(default=())
    either: str | list[str] = option(default="x")
    subs: dict[str, Nested] = option(factory=dict)
    anything: Any = option(default=None)


MAPPING_SPEC: Mapping[str, Option] = {
    "path": Option(str, required=True),
    "limit": Option(int, 10, minimum=1),
    "ratio": Option(float, 0.5, minimum=0, maximum=1),
    "base_url": Option(str, "https://x.example", check=http_url),
    "date_format": Option(str, None, check=date_format),
    "columns": Option(dict, {}),
    "tags": Option(list, []),
    "strict": Option(bool, False),
}

#: Any text, lone surrogates and control characters included.
texts = st.text(st.characters(exclude_categories=()), max_size=8)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def pairs(hint: Any, info: OptionInfo) -> st.SearchStrategy[tuple[Any, Any]]:
    """(a value as a config table gives it, the value the instance must hold)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return st.text(max_size=10).map(lambda v: (v, v))
    if hint is bool:
        return st.booleans().map(lambda v: (v, v))
    if hint is int:
        return st.integers(
            min_value=None if info.minimum is None else int(info.minimum),
            max_value=None if info.maximum is None else int(info.maximum),
        ).map(lambda v: (v, v))
    if hint is float:
        floats = st.floats(
            min_value=info.minimum, max_value=info.maximum, allow_nan=False, allow_infinity=False
        )
        ints = st.integers(min_value=0, max_value=1)  # whole numbers are accepted, as floats
        return (floats | ints).map(lambda v: (v, float(v)))
    if hint is Any:
        return junk.map(lambda v: (v, v))
    if origin is Literal:
        return st.sampled_from(args).map(lambda v: (v, v))
    if origin in (typing.Union, __import__("types").UnionType):
        return st.one_of([pairs(arg, OptionInfo()) for arg in args if arg is not type(None)]) | (
            st.just((None, None)) if type(None) in args else st.nothing()
        )
    if origin is list or origin is tuple:
        make = list if origin is list else tuple
        return st.lists(pairs(args[0], OptionInfo()), max_size=3).map(
            lambda items: ([t for t, _ in items], make(e for _, e in items))
        )
    if origin is dict:
        return st.dictionaries(st.text(max_size=5), pairs(args[1], OptionInfo()), max_size=3).map(
            lambda d: ({k: t for k, (t, _) in d.items()}, {k: e for k, (_, e) in d.items()})
        )
    if attrs.has(hint):
        return tables(hint)
    raise AssertionError(f"no strategy for {hint!r}")


def tables(cls: type) -> st.SearchStrategy[tuple[dict[str, Any], Any]]:
    """(a table of valid values for ``cls``, the instance it must build)."""
    keys = option_fields(cls)
    chosen = {
        key: pairs(field.type, info) if info.required else st.none() | pairs(field.type, info)
        for key, field, info in keys
    }

    def complete(picked: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        given = {key: pair[0] for key, pair in picked.items() if pair is not None}
        expected = {key: pair[1] for key, pair in picked.items() if pair is not None}
        return given, cls(**expected)

    return st.fixed_dictionaries(chosen).map(complete)


@settings(max_examples=300, deadline=None)
@given(tables(PropOptions))
def test_valid_tables_round_trip(table: tuple[dict[str, Any], PropOptions]) -> None:
    """From valid values, the instance holds exactly those values (floats as floats)."""
    given_values, expected = table
    built = resolve_options(PropOptions, given_values, WHERE, env={})
    assert built == expected
    assert isinstance(built.ratio, float)


@settings(max_examples=100, deadline=None)
@given(token=st.text(min_size=1).filter(str.strip))
def test_the_secret_comes_from_the_environment(token: str) -> None:
    """An env key absent from the table takes the variable's value, trimmed, never shown."""
    built = resolve_options(PropOptions, {"path": "a"}, WHERE, env={"PROP_TOKEN": token})
    assert built.token == token.strip()
    assert "token=" not in repr(built)


KEYS = st.sampled_from([key for key, _, _ in option_fields(PropOptions)]) | texts


@settings(max_examples=500, deadline=None)
@given(
    given_values=st.dictionaries(KEYS, junk, max_size=6),
    env=st.dictionaries(st.sampled_from(["PROP_TOKEN", "CRM_TOKEN"]) | texts, texts),
)
def test_junk_raises_only_config_errors(given_values: dict[str, Any], env: dict[str, str]) -> None:
    """Any table either builds or is refused with a ConfigError naming the table."""
    for spec in (PropOptions, CrmOptions):
        try:
            resolve_options(spec, given_values, WHERE, env=env)
        except ConfigError as exc:
            assert str(exc).startswith(f"{WHERE}: ")


@settings(max_examples=300, deadline=None)
@given(
    given_values=st.dictionaries(st.sampled_from(sorted(MAPPING_SPEC)) | texts, junk, max_size=5)
)
def test_junk_raises_only_config_errors_in_the_mapping_form(given_values: dict[str, Any]) -> None:
    """The mapping form too: a dict or a ConfigError, nothing else."""
    try:
        resolve_options(MAPPING_SPEC, given_values, WHERE)
    except ConfigError as exc:
        assert str(exc).startswith(f"{WHERE}: ")
