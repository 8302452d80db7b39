"""Typed options: an adapter declares its options as a frozen attrs class and engage builds
and checks an instance from the config table — unknown keys (naming the closest), missing
keys, types down to the elements, ranges, checks and secrets from the environment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import pytest

from engage.adapters import AdapterContext, Option, date_format, http_url, resolve_options
from engage.config import Config
from engage.errors import ConfigError, PluginError
from engage.hookspecs import hookimpl
from engage.options import build_options, option, options_class_problem
from engage.plugins import Registry, make_plugin_manager
from engage.sync import build_adapters, check_adapter_options

WHERE = "/srv/engage.toml: [sources.crm]"
ENV = {"CRM_TOKEN": "s3cret-token"}


@attrs.frozen
class Lookup:
    """One lookup table: a nested options class."""

    path: str | list[str] = option(help="the files to look in")
    key: str = option(default="Id", help="the id column of those files")
    fields: dict[str, str] = option(factory=dict, help="engage field → header")


@attrs.frozen
class CrmOptions:
    """The options of the test adapter: one of each kind an adapter has."""

    path: str = option(help="a CSV file or a glob")
    token: str = option(env="CRM_TOKEN", secret=True, help="the API token")
    base_url: str = option(default="https://api.example.com", check=http_url, help="API root")
    requests_per_10s: int = option(default=100, minimum=1, help="burst limit")
    max_bad_ratio: float = option(default=0.5, minimum=0, maximum=1, help="share refused")
    columns: dict[str, str] = option(factory=dict, help="engage field → your header")
    skip: dict[str, list[str]] = option(factory=dict, help="header → values passed over")
    engagements: list[Literal["emails", "calls", "notes"]] = option(
        factory=lambda: ["emails", "calls"], help="engagement types to pull"
    )
    mode: Literal["api", "files"] = option(default="api", help="where to read")
    owner: str | None = option(default=None, help="the mailbox owner")
    lookups: dict[str, Lookup] = option(factory=dict, help="id column → lookup")
    strict: bool = option(default=False, help="stop at the first bad row")


class CrmSource:
    """A source whose options are a typed class; it keeps what it was given."""

    options: ClassVar[type[CrmOptions]] = CrmOptions

    def __init__(self, options: CrmOptions, context: AdapterContext) -> None:
        self.settings = options

    def pull(self, cursor: str | None) -> Iterator[Any]:
        return iter(())


class CrmPlugin:
    @hookimpl
    def engage_register_sources(self, register: Any) -> None:
        register("crm", CrmSource)


def build(env: Mapping[str, str] = ENV, **given: Any) -> CrmOptions:
    return resolve_options(CrmOptions, {"path": "a.csv", **given}, WHERE, env=env)


def refusal(env: Mapping[str, str] = ENV, **given: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        build(env, **given)
    return str(caught.value)


class TestBuild:
    """A valid table gives an instance with its values, the rest from defaults."""

    def test_defaults_and_factories_fill_what_is_not_given(self) -> None:
        """Absent keys take their default; a factory makes a fresh value per instance."""
        built = build()
        assert built == CrmOptions(path="a.csv", token="s3cret-token")
        assert (built.requests_per_10s, built.engagements, built.owner) == (
            100,
            ["emails", "calls"],
            None,
        )
        assert built.skip is not build().skip

    def test_given_values_are_kept_and_ints_become_floats(self) -> None:
        """A whole number is accepted where a float is expected, as a float."""
        built = build(max_bad_ratio=1, requests_per_10s=7, strict=True, owner="ann@ourco.com")
        assert built.max_bad_ratio == 1.0 and isinstance(built.max_bad_ratio, float)
        assert (built.requests_per_10s, built.strict, built.owner) == (7, True, "ann@ourco.com")

    def test_the_instance_is_frozen(self) -> None:
        """Assigning to an option raises."""
        built = build()
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.path = "b.csv"  # type: ignore[misc]

    def test_literal_values_are_accepted(self) -> None:
        """A Literal list and a Literal value take their listed values."""
        built = build(engagements=["notes"], mode="files")
        assert (built.engagements, built.mode) == (["notes"], "files")

    def test_nested_containers_and_classes_are_built(self) -> None:
        """dict[str, list[str]] and a table of nested options classes (their defaults too)."""
        built = build(
            skip={"Status": ["Open", "Deferred"]},
            lookups={"WhoId": {"path": ["Contact.csv", "Lead.csv"], "fields": {"email": "Email"}}},
        )
        assert built.skip == {"Status": ["Open", "Deferred"]}
        assert built.lookups == {
            "WhoId": Lookup(path=["Contact.csv", "Lead.csv"], key="Id", fields={"email": "Email"})
        }

    def test_optional_takes_none_or_its_type(self) -> None:
        """``str | None`` is None when absent, else a string."""
        assert build().owner is None
        assert build(owner="ann@ourco.com").owner == "ann@ourco.com"


class TestMessages:
    """Every refusal is one message naming the file, the table and the key (or element)."""

    def test_an_unknown_key_names_the_closest(self) -> None:
        """A typo is answered with the key meant and the keys there are."""
        assert refusal(colums={}) == (
            f"{WHERE}: unknown key 'colums'; did you mean 'columns'? (expected one of: base_url, "
            "columns, engagements, lookups, max_bad_ratio, mode, owner, path, requests_per_10s, "
            "skip, strict, token)"
        )

    def test_an_unknown_key_with_nothing_close_names_the_keys(self) -> None:
        """No suggestion when nothing is close."""
        assert refusal(zzz=1).startswith(f"{WHERE}: unknown key 'zzz' (expected one of: ")

    def test_a_missing_required_key_is_named_with_its_help(self) -> None:
        """The help says what to put there."""
        with pytest.raises(ConfigError) as caught:
            resolve_options(CrmOptions, {}, WHERE, env=ENV)
        assert str(caught.value) == f"{WHERE}: missing required key 'path' (a CSV file or a glob)"

    def test_a_missing_env_key_names_its_variable(self) -> None:
        """A required key that may come from the environment says which variable."""
        assert refusal(env={}) == (
            f"{WHERE}: missing required key 'token' (the API token), and $CRM_TOKEN is not set"
        )

    def test_a_wrong_type_names_the_key_the_type_and_the_value(self) -> None:
        """As the mapping form words it: the key, the type, the help, what was given."""
        assert refusal(requests_per_10s="100") == (
            f"{WHERE}: key 'requests_per_10s' expected int: burst limit (got str '100')"
        )

    def test_a_bool_is_never_an_int(self) -> None:
        """true is not 1."""
        assert refusal(requests_per_10s=True).endswith("expected int: burst limit (got bool True)")

    def test_a_wrong_inner_type_names_the_element(self) -> None:
        """columns['email']: the element, down from the key."""
        assert (
            refusal(columns={"email": 3}) == f"{WHERE}: columns['email']: expected str (got int 3)"
        )

    def test_a_wrong_element_of_a_nested_list_names_its_index(self) -> None:
        """dict[str, list[str]]: the key and the index."""
        assert refusal(skip={"Status": ["Open", 3]}) == (
            f"{WHERE}: skip['Status'][1]: expected str (got int 3)"
        )

    def test_a_list_where_a_table_is_expected_names_the_whole_type(self) -> None:
        """The key's own value of the wrong shape names the type as written."""
        assert refusal(skip=["Open"]) == (
            f"{WHERE}: key 'skip' expected dict[str, list[str]]: header → values passed over "
            "(got list ['Open'])"
        )

    def test_a_value_outside_a_literal_names_the_choices(self) -> None:
        """Literal: the values there are."""
        assert refusal(mode="ftp") == (
            f"{WHERE}: key 'mode' expected one of 'api', 'files': where to read (got str 'ftp')"
        )
        assert refusal(engagements=["emails", "tasks"]) == (
            f"{WHERE}: engagements[1]: expected one of 'emails', 'calls', 'notes' (got str 'tasks')"
        )

    def test_an_optional_of_the_wrong_type_names_the_type(self) -> None:
        """``str | None`` given a number: a str was expected."""
        assert (
            refusal(owner=3) == f"{WHERE}: key 'owner' expected str: the mailbox owner (got int 3)"
        )

    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ({"requests_per_10s": 0}, "key 'requests_per_10s' expected a whole number ≥ 1 (got 0)"),
            ({"max_bad_ratio": 1.5}, "key 'max_bad_ratio' expected a number from 0 to 1 (got 1.5)"),
            ({"max_bad_ratio": float("nan")}, "key 'max_bad_ratio' expected a number from 0 to 1"),
        ],
    )
    def test_out_of_range_names_the_bounds(self, given: dict[str, Any], expected: str) -> None:
        """minimum and maximum, inclusive; NaN is in no range."""
        assert refusal(**given).startswith(f"{WHERE}: {expected}")

    def test_a_failed_check_says_what_was_expected(self) -> None:
        """The option's own check (http_url) words the refusal."""
        assert refusal(base_url="ftp://x") == (
            f"{WHERE}: key 'base_url' expected an http(s) URL with a host and no spaces, "
            "e.g. 'https://api.example.com' (got 'ftp://x')"
        )

    def test_nested_classes_name_their_place(self) -> None:
        """Unknown, missing and wrong keys of a sub-table name the sub-table."""
        assert refusal(lookups={"WhoId": {"path": "a.csv", "keys": "Id"}}) == (
            f"{WHERE}: lookups['WhoId']: unknown key 'keys'; did you mean 'key'? "
            "(expected one of: fields, key, path)"
        )
        assert refusal(lookups={"WhoId": {}}) == (
            f"{WHERE}: lookups['WhoId']: missing required key 'path' (the files to look in)"
        )
        assert refusal(lookups={"WhoId": {"path": [1]}}) == (
            f"{WHERE}: lookups['WhoId'].path[0]: expected str (got int 1)"
        )
        assert refusal(lookups={"WhoId": "Contact.csv"}) == (
            f"{WHERE}: lookups['WhoId']: expected a table (Lookup) (got str 'Contact.csv')"
        )

    def test_a_class_invariant_is_a_config_error(self) -> None:
        """A ValueError from the class itself (a validator) names the table."""

        @attrs.frozen
        class Either:
            mbox: str | None = option(default=None)
            credentials_file: str | None = option(default=None)

            def __attrs_post_init__(self) -> None:
                if self.mbox and self.credentials_file:
                    raise ValueError("set either credentials_file or mbox, not both")

        with pytest.raises(ConfigError) as caught:
            resolve_options(Either, {"mbox": "a", "credentials_file": "b"}, WHERE, env={})
        assert str(caught.value) == f"{WHERE}: set either credentials_file or mbox, not both"


class TestSecrets:
    """An env= key comes from the environment; a secret is never shown."""

    def test_the_secret_comes_from_the_environment(self) -> None:
        """Absent from the table: read from $CRM_TOKEN (trimmed)."""
        assert build(env={"CRM_TOKEN": "  tok\n"}).token == "tok"

    def test_the_table_wins_over_the_environment(self) -> None:
        """A key given in the table is used as given."""
        assert build(token="from-table").token == "from-table"

    def test_a_blank_variable_counts_as_unset(self) -> None:
        """Whitespace is no token."""
        assert "$CRM_TOKEN is not set" in refusal(env={"CRM_TOKEN": "  "})

    def test_the_secret_is_not_in_the_repr_or_str(self) -> None:
        """attrs repr=False: neither repr() nor str() shows it."""
        built = build()
        assert "s3cret" not in repr(built) and "s3cret" not in str(built)
        assert "token" not in repr(built)

    def test_a_refused_secret_is_not_shown(self) -> None:
        """A secret of the wrong type or failing its check is named, its value never."""

        def no_spaces(value: Any) -> str | None:
            return "expected no spaces" if " " in value else None

        @attrs.frozen
        class Checked:
            token: str = option(env="CRM_TOKEN", secret=True, check=no_spaces)

        with pytest.raises(ConfigError) as caught:
            resolve_options(Checked, {"token": 12345}, WHERE, env={})
        assert str(caught.value) == f"{WHERE}: key 'token' expected str (got int)"
        assert caught.value.__context__ is None and caught.value.__cause__ is None
        with pytest.raises(ConfigError) as caught:
            resolve_options(Checked, {}, WHERE, env={"CRM_TOKEN": "s3cret token"})
        assert str(caught.value) == (
            f"{WHERE}: $CRM_TOKEN (for key 'token') expected no spaces (got a secret value)"
        )

    def test_the_process_environment_is_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without env=, resolve_options reads os.environ."""
        monkeypatch.setenv("CRM_TOKEN", "from-os")
        assert resolve_options(CrmOptions, {"path": "a"}, WHERE).token == "from-os"


class TestMappingForm:
    """Options declared as a mapping of Option work as they did."""

    SPEC: ClassVar[Mapping[str, Option]] = {
        "path": Option(str, required=True, help="a file"),
        "columns": Option(dict, default={}),
        "limit": Option(int, 10, minimum=1),
    }

    def test_a_dict_with_defaults_comes_back(self) -> None:
        """The result is a plain dict, defaults filled in."""
        assert resolve_options(self.SPEC, {"path": "a"}, WHERE) == {
            "path": "a",
            "columns": {},
            "limit": 10,
        }

    def test_its_messages_are_worded_as_before(self) -> None:
        """Missing, wrong type and out of range, word for word."""
        cases = [
            ({}, f"{WHERE}: missing required key 'path' (a file)"),
            ({"path": 3}, f"{WHERE}: key 'path' expected str: a file (got int 3)"),
            (
                {"path": "a", "limit": 0},
                f"{WHERE}: key 'limit' expected a whole number ≥ 1 (got 0)",
            ),
        ]
        for given, message in cases:
            with pytest.raises(ConfigError) as caught:
                resolve_options(self.SPEC, given, WHERE)
            assert str(caught.value) == message

    def test_an_unknown_key_names_the_closest_too(self) -> None:
        """The mapping form's unknown keys get the same suggestion."""
        with pytest.raises(ConfigError) as caught:
            resolve_options(self.SPEC, {"path": "a", "limt": 3}, WHERE)
        assert str(caught.value) == (
            f"{WHERE}: unknown key 'limt'; did you mean 'limit'? (expected one of: columns, limit, path)"
        )


class TestDeclaring:
    """What an options class may be, checked when the plugin registers."""

    def test_option_refuses_contradictions(self) -> None:
        """A default and a factory, or required with a default."""
        with pytest.raises(TypeError):
            option(default=1, factory=list)
        with pytest.raises(TypeError):
            option(required=True, default=1)

    def test_a_field_without_default_is_required(self) -> None:
        """option() with no default and plain attrs fields alike."""

        @attrs.frozen
        class Plain:
            name: str
            size: int = 3

        with pytest.raises(ConfigError, match="missing required key 'name'"):
            build_options(Plain, {}, WHERE, {})
        assert build_options(Plain, {"name": "x"}, WHERE, {}) == Plain(name="x", size=3)

    @pytest.mark.parametrize(
        ("cls", "problem"),
        [
            (attrs.define(type("Loose", (), {"__annotations__": {"x": "int"}})), "is not frozen"),
            (attrs.frozen(type("Sets", (), {"__annotations__": {"x": "set[str]"}})), "set[str] is not"),
            (attrs.frozen(type("Keys", (), {"__annotations__": {"x": "dict[int, str]"}})), "keys are always str"),
            (dict, "is not an attrs class"),
        ],
    )  # fmt: skip
    def test_unusable_classes_are_named(self, cls: Any, problem: str) -> None:
        """Mutable classes and types no config table gives are refused."""
        assert problem in (options_class_problem(cls) or "")

    def test_registration_refuses_an_unusable_options_class(self) -> None:
        """A source whose options class is not frozen fails when the plugin registers."""

        @attrs.define
        class Loose:
            path: str = option()

        class LooseSource(CrmSource):
            options = Loose  # type: ignore[assignment]

        class Plugin:
            @hookimpl
            def engage_register_sources(self, register: Any) -> None:
                register("loose", LooseSource)

        pm = make_plugin_manager(entry_points=False)
        pm.register(Plugin(), name="loose")
        with pytest.raises(PluginError, match=r"LooseSource.options is not a usable options class"):
            Registry.from_plugins(pm)

    def test_registration_refuses_options_of_another_kind(self) -> None:
        """options = 5 is neither form."""

        class Odd(CrmSource):
            options = 5  # type: ignore[assignment]

        class Plugin:
            @hookimpl
            def engage_register_sources(self, register: Any) -> None:
                register("odd", Odd)

        pm = make_plugin_manager(entry_points=False)
        pm.register(Plugin(), name="odd")
        with pytest.raises(PluginError, match=r"Odd.options is int, expected Mapping"):
            Registry.from_plugins(pm)


class TestThroughEngage:
    """engage sync builds the adapter with an instance of its options class."""

    def registry(self) -> Registry:
        pm = make_plugin_manager(entry_points=False)
        pm.register(CrmPlugin(), name="crm")
        return Registry.from_plugins(pm)

    def config(self, tmp_path: Path, lines: str) -> Config:
        path = tmp_path / "engage.toml"
        path.write_text(f'[sources.crm]\nplugin = "crm"\n{lines}\n', encoding="utf-8")
        return Config.load(path)

    def test_the_adapter_gets_the_built_instance(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The constructor's options argument is a CrmOptions from the table and the env."""
        monkeypatch.setenv("CRM_TOKEN", "tok")
        config = self.config(tmp_path, 'path = "a.csv"\nskip = { Status = ["Open"] }')
        sources, _ = build_adapters(config, self.registry(), env={"CRM_TOKEN": "tok"})
        source = sources["crm"]
        assert isinstance(source, CrmSource)
        assert source.settings == CrmOptions(path="a.csv", token="tok", skip={"Status": ["Open"]})

    def test_a_bad_table_fails_before_anything_is_built(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """check_adapter_options names the file, the table and the element."""
        monkeypatch.setenv("CRM_TOKEN", "tok")
        config = self.config(tmp_path, 'path = "a.csv"\ncolumns = { email = 3 }')
        with pytest.raises(ConfigError) as caught:
            check_adapter_options(config, self.registry())
        where = f"{tmp_path / 'engage.toml'}: [sources.crm]"
        assert str(caught.value) == f"{where}: columns['email']: expected str (got int 3)"


class TestChecks:
    """The shared checks refuse what no config should hold, instead of raising."""

    def test_a_format_with_a_lone_surrogate_is_refused(self) -> None:
        """strftime cannot encode it: a refusal, not a UnicodeEncodeError."""
        assert (date_format("%d\ud800") or "").startswith("expected a strptime format")

    def test_a_url_with_a_control_character_is_refused(self) -> None:
        """A NUL is no more a URL character than a space."""
        assert http_url("http://api.example.com/\x00") is not None
