"""Where each option's value came from: a built instance can be asked whether the table, an
``env=`` variable or the default gave each key; messages name the variable for a value it
gave (never a secret's value); a class's invariant can set aside what the environment filled
when the table chose otherwise."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engage.adapters import http_url, resolve_options
from engage.errors import ConfigError
from engage.options import (
    Origin,
    OriginKind,
    drop_env_value,
    option,
    origin,
    origins,
)
from engage.options_origins import _BUILT

WHERE = "engage.toml: [sources.mail]"


@attrs.frozen
class Inner:
    """A sub-table."""

    path: str = option()
    key: str = option(default="Id")


@attrs.frozen
class MailOptions:
    """Two ways to the mail, a secret, a number and an address the environment may give."""

    credentials_file: str | None = option(default=None, env="MAIL_CREDENTIALS_FILE")
    mbox: str | None = option(default=None)
    token: str | None = option(default=None, env="MAIL_TOKEN", secret=True, check=http_url)
    limit: int = option(default=10, minimum=1, env="MAIL_LIMIT")
    strict: bool = option(default=False, env="MAIL_STRICT")
    lookups: dict[str, Inner] = option(factory=dict)

    def __attrs_post_init__(self) -> None:
        """The table gives one way to the mail; a variable set for other tables does not count."""
        if self.mbox and self.credentials_file and not drop_env_value(self, "credentials_file"):
            raise ValueError("set either credentials_file or mbox, not both")


def build(given: Mapping[str, Any], env: Mapping[str, str] | None = None) -> MailOptions:
    return resolve_options(MailOptions, given, WHERE, env=env or {})


def refusal(given: Mapping[str, Any], env: Mapping[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        build(given, env)
    return str(caught.value)


class TestOrigins:
    """The built instance says, per key, where its value came from."""

    def test_table_environment_and_default(self) -> None:
        """A table key, a filled variable and a default each answer their own origin."""
        built = build({"mbox": "x.mbox"}, env={"MAIL_LIMIT": "5"})
        assert origin(built, "mbox") == Origin(OriginKind.TABLE, "mbox", WHERE)
        assert origin(built, "limit") == Origin(OriginKind.ENV, "limit", WHERE, "MAIL_LIMIT")
        assert origin(built, "strict") == Origin(OriginKind.DEFAULT, "strict", WHERE)
        assert set(origins(built)) == {f.alias for f in attrs.fields(MailOptions)}

    def test_the_table_wins_over_the_environment(self) -> None:
        """A key the table gives is the table's, whatever the variable says."""
        built = build({"credentials_file": "mine.json"}, env={"MAIL_CREDENTIALS_FILE": "x"})
        assert built.credentials_file == "mine.json"
        assert not origin(built, "credentials_file").from_env

    def test_a_blank_variable_leaves_the_default(self) -> None:
        """Whitespace is unset: the default, and its origin says so."""
        built = build({}, env={"MAIL_CREDENTIALS_FILE": "  \n"})
        assert built.credentials_file is None
        assert origin(built, "credentials_file").kind is OriginKind.DEFAULT

    def test_nested_keys_have_their_own_origins(self) -> None:
        """A sub-table's instance names its keys from the top (``lookups['WhoId'].path``)."""
        built = build({"lookups": {"WhoId": {"path": "c.csv"}}})
        inner = built.lookups["WhoId"]
        assert origin(inner, "path") == Origin(OriginKind.TABLE, "lookups['WhoId'].path", WHERE)
        assert origin(inner, "key").kind is OriginKind.DEFAULT

    def test_an_instance_made_in_code_says_so(self) -> None:
        """Not built by engage: every key is of origin CODE (an invariant treats it as given)."""
        made = MailOptions(mbox="x.mbox")
        assert {o.kind for o in origins(made).values()} == {OriginKind.CODE}
        with pytest.raises(ValueError, match="not both"):
            MailOptions(mbox="x.mbox", credentials_file="c.json")

    def test_an_unknown_key_is_a_key_error(self) -> None:
        """Asking for a key the class does not have is a programming error."""
        with pytest.raises(KeyError):
            origin(build({}), "nope")

    def test_origins_are_forgotten_with_the_instance(self) -> None:
        """The record lives as long as the instance: nothing accumulates."""
        before = len(_BUILT)
        for _ in range(50):
            build({"mbox": "x"})
        gc.collect()
        assert len(_BUILT) <= before + 1

    def test_origins_read_as_people_say_them(self) -> None:
        """str(): the variable, the table's key, the default."""
        built = build({"mbox": "x"}, env={"MAIL_LIMIT": "5"})
        assert str(origin(built, "limit")) == "$MAIL_LIMIT"
        assert str(origin(built, "mbox")) == f"key 'mbox' of {WHERE}"
        assert str(origin(built, "strict")) == "the default"


class TestMessages:
    """A bad value names where it came from: the variable, or the table's key."""

    def test_a_bad_variable_is_named(self) -> None:
        """$MAIL_LIMIT gave it: the message names the variable and the key it fills."""
        assert refusal({}, env={"MAIL_LIMIT": "0"}) == (
            f"{WHERE}: $MAIL_LIMIT (for key 'limit') expected a whole number ≥ 1 (got 0)"
        )
        assert refusal({}, env={"MAIL_LIMIT": "many"}) == (
            f"{WHERE}: $MAIL_LIMIT (for key 'limit') expected int (got str 'many')"
        )

    def test_the_same_value_in_the_table_names_the_key(self) -> None:
        """The table gave it: the key is named, not the variable."""
        assert refusal({"limit": 0}, env={"MAIL_LIMIT": "5"}) == (
            f"{WHERE}: key 'limit' expected a whole number ≥ 1 (got 0)"
        )

    def test_a_variable_is_read_as_the_options_type(self) -> None:
        """Numbers and booleans from the environment are read as TOML values; text stays text."""
        built = build({}, env={"MAIL_LIMIT": " 42 ", "MAIL_STRICT": "true"})
        assert (built.limit, built.strict) == (42, True)
        assert build({}, env={"MAIL_CREDENTIALS_FILE": "42"}).credentials_file == "42"

    @given(secret=st.from_regex(r"[QZXJ0-9 ]{0,8}[QZXJ0-9]{6}[QZXJ0-9 ]{0,8}", fullmatch=True))
    def test_a_refused_secret_from_the_environment_is_never_shown(self, secret: str) -> None:
        """Whatever the secret, the message names $MAIL_TOKEN and shows no part of it."""
        message = refusal({}, env={"MAIL_TOKEN": secret})
        assert message.startswith(f"{WHERE}: $MAIL_TOKEN (for key 'token') expected")
        assert message.endswith("(got a secret value)")
        assert secret.strip() not in message


class TestInvariants:
    """An invariant may set aside a value the environment filled when the table chose the
    other mode; values the table gave are refused as before."""

    def test_the_variable_does_not_break_an_mbox_table(self) -> None:
        """$MAIL_CREDENTIALS_FILE set on the machine, mbox in the table: the mbox is read."""
        built = build({"mbox": "x.mbox"}, env={"MAIL_CREDENTIALS_FILE": "c.json"})
        assert (built.mbox, built.credentials_file) == ("x.mbox", None)
        assert origin(built, "credentials_file").kind is OriginKind.DEFAULT

    def test_both_in_the_table_are_refused(self) -> None:
        """The table itself gives both: one line naming the table."""
        assert refusal({"mbox": "x", "credentials_file": "c.json"}) == (
            f"{WHERE}: set either credentials_file or mbox, not both"
        )

    def test_the_variable_alone_is_kept(self) -> None:
        """No mbox: the variable's file is the way to the mail."""
        built = build({}, env={"MAIL_CREDENTIALS_FILE": "c.json"})
        assert built.credentials_file == "c.json"
        assert origin(built, "credentials_file").from_env

    @given(
        table=st.fixed_dictionaries(
            {},
            optional={
                "mbox": st.sampled_from(["x.mbox", "t/*.mbox"]),
                "credentials_file": st.sampled_from(["c.json", "d.json"]),
            },
        ),
        variable=st.one_of(st.none(), st.sampled_from(["", " ", "env.json"])),
    )
    def test_only_the_tables_own_choices_conflict(
        self, table: dict[str, str], variable: str | None
    ) -> None:
        """Refused exactly when the table gives both; else the table's keys are kept and the
        variable fills credentials_file only when the table reads no mbox."""
        env = {} if variable is None else {"MAIL_CREDENTIALS_FILE": variable}
        if len(table) == 2:
            assert "not both" in refusal(table, env)
            return
        built = build(table, env)
        assert built.mbox == table.get("mbox")
        filled = (variable or "").strip() if "mbox" not in table else ""
        assert built.credentials_file == (table.get("credentials_file") or filled or None)

    def test_drop_env_value_outside_an_invariant_is_refused(self) -> None:
        """A built instance is frozen: dropping later is a programming error."""
        built = build({}, env={"MAIL_CREDENTIALS_FILE": "c.json"})
        with pytest.raises(RuntimeError, match="__attrs_post_init__"):
            drop_env_value(built, "credentials_file")


ENV_TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["42", " 0 ", "true", "[1, 2]", "[[[[[[[[[[[[[[[[[[[[", "1979-05-27", "inf", '"q"', "a\nb = 1"]
)


@settings(max_examples=300, deadline=None)
@given(
    table=st.fixed_dictionaries(
        {},
        optional={
            "credentials_file": st.just("c.json"),
            "limit": st.integers(1, 9),
            "strict": st.booleans(),
        },
    ),
    env=st.dictionaries(
        st.sampled_from(["MAIL_CREDENTIALS_FILE", "MAIL_LIMIT", "MAIL_STRICT", "MAIL_TOKEN"]),
        ENV_TEXT,
    ),
)
def test_each_key_says_where_it_came_from(table: dict[str, Any], env: dict[str, str]) -> None:
    """For any table and environment: built with each key's origin the table when given,
    the variable when the table left it out and the variable is not blank, else the default;
    or refused with a ConfigError naming the table (and the variable), never anything else."""
    variables = {
        "credentials_file": "MAIL_CREDENTIALS_FILE",
        "limit": "MAIL_LIMIT",
        "strict": "MAIL_STRICT",
        "token": "MAIL_TOKEN",
    }
    try:
        built = build(table, env)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{WHERE}: $MAIL_")
        if message.startswith(f"{WHERE}: $MAIL_TOKEN"):
            assert message.endswith("(got a secret value)")
        return
    for key, variable in variables.items():
        kind = origin(built, key).kind
        if key in table:
            assert kind is OriginKind.TABLE
        elif env.get(variable, "").strip():
            assert kind is OriginKind.ENV and origin(built, key).env == variable
        else:
            assert kind is OriginKind.DEFAULT


@pytest.mark.parametrize("text", ["[" * 5000, "{a=" * 3000, "[1, 2", "x y"])
def test_a_variable_that_is_no_toml_value_is_refused_as_text(text: str) -> None:
    """Text that does not read as a value (or nests too deep to read) is refused as the
    text it is, naming the variable."""
    message = refusal({}, env={"MAIL_LIMIT": text})
    assert message.startswith(f"{WHERE}: $MAIL_LIMIT (for key 'limit') expected int (got str ")
