"""The gmail source through the installed entry point, the registry and `engage sync`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_gmail import FakeGmail
from fake_oauth import write_credentials

from engage.cli import cli
from engage.plugins import Registry, make_plugin_manager
from engage_gmail.sinks import GmailDraftsSink, GoogleTasksSink
from engage_gmail.sources import GmailSource

AS_OF = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.mail]
plugin = "gmail"
credentials_file = "gmail-authorized-user.json"
base_url = "{url}"
token_uri = "{url}/token"
lookback_days = 3650  # the mail is dated around AS_OF; the lookback counts from the real clock

[sources.archive]
plugin = "gmail"
mbox = "takeout/*.mbox"
mailbox_owner = "carol@ourco.com"
"""
MBOX = (
    "From 1@xxx Mon Nov 02 10:00:00 +0000 2026\n"
    "X-Gmail-Labels: Inbox\n"
    "From: Jane Roe <jane@acme.com>\nTo: carol@ourco.com\nSubject: Renewal\n"
    "Date: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <renewal@acme.com>\n\nHi\n\n"
)


def test_registry_finds_gmail_source_and_sinks_through_the_entry_point() -> None:
    """make_plugin_manager loads engage-gmail; the registry has source gmail and sinks gmail, gtasks."""
    pm = make_plugin_manager(env={"ENGAGE_LOAD_PLUGINS": "gmail"})
    registry = Registry.from_plugins(pm)
    assert registry.source("gmail", "engage.toml: [sources.mail]") is GmailSource
    assert registry.sink("gmail", "engage.toml: [sinks.drafts]") is GmailDraftsSink
    assert registry.sink("gtasks", "engage.toml: [sinks.todo]") is GoogleTasksSink


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FakeGmail]]:
    with FakeGmail() as fake:
        (tmp_path / "engage.toml").write_text(CONFIG.format(url=fake.url))
        write_credentials(tmp_path)
        (tmp_path / "takeout").mkdir()
        (tmp_path / "takeout" / "all.mbox").write_text(MBOX)
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
        monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "gmail")
        yield tmp_path, fake


def sync() -> tuple[int, dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["sync", "--json", "--as-of", AS_OF.isoformat()])
    return (
        result.exit_code,
        json.loads(result.stdout) if result.stdout.strip() else {},
        result.stderr,
    )


def sources(report: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = report["sources"]
    return found


def test_engage_sync_reads_the_api_and_the_takeout_file_without_duplicates(
    project: tuple[Path, FakeGmail],
) -> None:
    """Two sources, one plugin: the first sync stores touchpoints (the same mail in both counts
    once, automated mail is counted as passed over), the second adds only new mail."""
    _, fake = project
    fake.add(
        "Jane Roe <jane@acme.com>",
        "carol@ourco.com",
        "Renewal",
        date=AS_OF - timedelta(days=18),
        message_id="<renewal@acme.com>",
    )
    fake.add(
        "carol@ourco.com",
        "bob@globex.com",
        "Proposal",
        date=AS_OF - timedelta(days=2),
        labels=["SENT"],
    )
    fake.add(
        "news@globex.com",
        "carol@ourco.com",
        "Weekly",
        headers={"List-Unsubscribe": "<mailto:x@y>"},
        date=AS_OF - timedelta(days=1),
    )
    code, report, stderr = sync()
    assert code == 0, stderr
    first = sources(report)
    assert (first["mail"]["touchpoints"], first["archive"]["touchpoints"]) == (2, 1)
    assert first["mail"]["skipped"] == {"automated": 1}  # the newsletter, counted in the summary
    assert first["archive"]["merged"] == 1  # the Takeout copy of the renewal mail counts once
    assert not first["mail"].get("failed")
    code, report, stderr = sync()
    assert code == 0, stderr
    again = sources(report)
    assert again["mail"]["inserted"] == 0 and again["archive"]["touchpoints"] == 0
    fake.add("jane@acme.com", "carol@ourco.com", "One more", date=AS_OF - timedelta(hours=2))
    code, report, _ = sync()
    assert sources(report)["mail"]["touchpoints"] == 1
