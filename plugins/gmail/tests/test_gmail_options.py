"""The source's and the sinks' typed options: built and checked by engage, documented in the README."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from gmail_kit import context

from engage.adapters import AdapterContext, resolve_options
from engage.errors import ConfigError
from engage.options import OriginKind, origin
from engage.options_docs import assert_readme_table_current
from engage_gmail.auth import load_credentials
from engage_gmail.drafts import GmailDraftsSink
from engage_gmail.gtasks import GoogleTasksSink
from engage_gmail.options import SourceOptions
from engage_gmail.sources import GmailSource

README = Path(__file__).resolve().parent.parent / "README.md"
WHERE = "engage.toml: [sources.mail]"


def source_options(given: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Any:
    return resolve_options(GmailSource.options, given, WHERE, env=env or {})


class TestReadme:
    """The README's options tables are the generated ones."""

    def test_the_source_table_is_current(self) -> None:
        """The table under "Source" lists every key of SourceOptions."""
        assert_readme_table_current(README, "source:gmail", GmailSource.options)

    def test_the_drafts_sink_table_is_current(self) -> None:
        """The table under the `gmail` sink lists every key of DraftsOptions."""
        assert_readme_table_current(README, "sink:gmail", GmailDraftsSink.options)

    def test_the_tasks_sink_table_is_current(self) -> None:
        """The table under the `gtasks` sink lists every key of TasksOptions."""
        assert_readme_table_current(README, "sink:gtasks", GoogleTasksSink.options)


class TestSourceOptions:
    """Defaults and refusals of the source's keys."""

    def test_defaults(self) -> None:
        """Without keys: a year of mail, checkpoints every 500, a minute to settle."""
        options = source_options({})
        assert isinstance(options, SourceOptions)
        assert (options.lookback_days, options.checkpoint_every, options.settle_seconds) == (
            365,
            500,
            60,
        )
        assert (options.mbox, options.mailbox_owner, options.credentials_file) == (None,) * 3
        assert options.credentials_env == "GMAIL_CREDENTIALS_FILE"
        assert options.base_url == "https://gmail.googleapis.com"
        assert options.token_uri == "https://oauth2.googleapis.com/token"

    @pytest.mark.parametrize(
        ("given", "message"),
        [
            ({"lookback_days": 0}, "key 'lookback_days' expected a whole number ≥ 1"),
            ({"checkpoint_every": 0}, "key 'checkpoint_every' expected a whole number ≥ 1"),
            ({"settle_seconds": -1}, "key 'settle_seconds' expected a whole number ≥ 0"),
            ({"lookback_days": "30"}, "key 'lookback_days' expected int"),
            ({"token_uri": "oauth2.googleapis.com"}, "key 'token_uri'"),
            ({"base_url": "gmail api"}, "key 'base_url'"),
            ({"mbox": ["a.mbox"]}, "key 'mbox' expected str"),
            ({"lookbak_days": 30}, "did you mean 'lookback_days'"),
        ],
    )
    def test_a_bad_key_is_refused_naming_it(self, given: dict[str, Any], message: str) -> None:
        """Types, ranges, URLs and unknown keys are checked by engage, naming the table."""
        with pytest.raises(ConfigError) as caught:
            source_options(given)
        assert str(caught.value).startswith(WHERE)
        assert message in str(caught.value)

    def test_credentials_file_and_mbox_together_are_refused(self) -> None:
        """Both ways to the mail in one table: one line naming the table, before any build."""
        with pytest.raises(ConfigError) as caught:
            source_options({"credentials_file": "c.json", "mbox": "x.mbox"})
        assert str(caught.value) == (
            f"{WHERE}: set either credentials_file (Gmail API) or mbox (Takeout files), not both"
        )

    def test_mbox_with_the_credentials_variable_set_reads_the_mbox(self, tmp_path: Path) -> None:
        """$GMAIL_CREDENTIALS_FILE set for the API tables does not make an mbox table fail."""
        env = {"GMAIL_CREDENTIALS_FILE": "c.json"}
        options = source_options({"mbox": "x.mbox"}, env=env)
        assert options.credentials_file is None
        GmailSource(options, context(tmp_path))

    def test_the_variable_gives_the_credentials_file(self) -> None:
        """Without credentials_file in the table, $GMAIL_CREDENTIALS_FILE gives it (engage
        reads it, and the options say so)."""
        options = source_options({}, env={"GMAIL_CREDENTIALS_FILE": " c.json\n"})
        assert options.credentials_file == "c.json"
        assert origin(options, "credentials_file").env == "GMAIL_CREDENTIALS_FILE"

    def test_the_table_wins_over_the_variable(self) -> None:
        """credentials_file in the table is used whatever the variable says."""
        env = {"GMAIL_CREDENTIALS_FILE": "c.json"}
        options = source_options({"credentials_file": "mine.json"}, env=env)
        assert options.credentials_file == "mine.json"
        assert origin(options, "credentials_file").kind is OriginKind.TABLE

    def test_another_credentials_env_is_read_instead(self, tmp_path: Path) -> None:
        """credentials_env names a second mailbox's variable: $GMAIL_CREDENTIALS_FILE, set
        for the first, is not used; the named variable's file is loaded."""
        for name in ("first", "second"):
            (tmp_path / f"{name}.json").write_text(
                f'{{"client_id": "{name}", "client_secret": "s", "refresh_token": "r"}}'
            )
        env = {"GMAIL_CREDENTIALS_FILE": "first.json", "OTHER_FILE": "second.json"}
        options = source_options({"credentials_env": "OTHER_FILE"}, env=env)
        assert options.credentials_file is None
        where = context(tmp_path)
        context_with_env = AdapterContext("mail", base_dir=tmp_path, env=env, now=where.now)
        credentials = load_credentials(options, context_with_env, [], WHERE)
        assert credentials.client_id == "second"

    def test_mbox_with_the_variable_and_another_credentials_env(self) -> None:
        """Both set aside: the mbox table reads its files."""
        env = {"GMAIL_CREDENTIALS_FILE": "c.json", "OTHER_FILE": "d.json"}
        options = source_options({"mbox": "x.mbox", "credentials_env": "OTHER_FILE"}, env=env)
        assert (options.mbox, options.credentials_file) == ("x.mbox", None)

    def test_the_sinks_read_the_variable_too(self) -> None:
        """The drafts and Tasks sinks take $GMAIL_CREDENTIALS_FILE like the source."""
        env = {"GMAIL_CREDENTIALS_FILE": "c.json"}
        for sink in (GmailDraftsSink, GoogleTasksSink):
            options = resolve_options(sink.options, {}, WHERE, env=env)
            assert options.credentials_file == "c.json"

    def test_neither_is_refused_when_built_naming_the_variable(self, tmp_path: Path) -> None:
        """No credentials_file, no mbox and the variable unset: say where the mail is."""
        with pytest.raises(ConfigError, match=r"say where the mail is: .*variable OTHER_FILE"):
            GmailSource(source_options({"credentials_env": "OTHER_FILE"}), context(tmp_path))


class TestSinkOptions:
    """Defaults and refusals of the sinks' keys."""

    def test_drafts_defaults(self) -> None:
        """The drafts sink answers in the thread and talks to Gmail by default."""
        options = resolve_options(GmailDraftsSink.options, {}, WHERE, env={})
        assert (options.reply_in_thread, options.base_url) == (
            True,
            "https://gmail.googleapis.com",
        )

    def test_reply_in_thread_must_be_a_bool(self) -> None:
        """reply_in_thread = "no" is a config error, not a truthy string."""
        with pytest.raises(ConfigError, match="key 'reply_in_thread' expected bool"):
            resolve_options(GmailDraftsSink.options, {"reply_in_thread": "no"}, WHERE, env={})

    def test_tasks_defaults(self) -> None:
        """The tasks sink writes to the default list of Google Tasks."""
        options = resolve_options(GoogleTasksSink.options, {}, WHERE, env={})
        assert (options.tasklist, options.base_url) == (
            "@default",
            "https://tasks.googleapis.com",
        )
