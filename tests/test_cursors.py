"""Sources' saved state is the core's: sealed with the plugin and its state's version, and one
rule for a cursor that cannot be used — corrupt, foreign or newer: start over, and say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engage.cursors import MARK, CursorError, open_saved, seal, state_version, unseal
from engage.store import Store
from tests.test_runners import Team


def test_a_sealed_cursor_opens_to_what_the_source_saved() -> None:
    saved = seal("csv", 2, '{"files": {"a.csv": 120}}')
    assert saved.startswith(MARK)
    assert open_saved(saved, "csv", 2, "files").cursor == '{"files": {"a.csv": 120}}'
    assert open_saved(saved, "csv", 3, "files").cursor == '{"files": {"a.csv": 120}}'  # older
    assert unseal(saved) == '{"files": {"a.csv": 120}}'
    assert open_saved(None, "csv", 1, "files").cursor is None


def test_a_cursor_saved_before_seals_is_handed_over_as_it_is() -> None:
    opened = open_saved("42", "jsonl", 1, "feed")
    assert (opened.cursor, opened.notice) == ("42", None)


@pytest.mark.parametrize(
    ("saved", "why"),
    [
        (MARK + "{not json", "its seal is not JSON"),
        (
            MARK + json.dumps({"plugin": "csv", "cursor": "1"}),
            "its seal lacks the plugin, version or cursor",
        ),
        (seal("hubspot", 1, "7"), "plugin 'hubspot' wrote it; the source is now 'csv'"),
        (seal("csv", 9, "7"), "a newer csv wrote it (state version 9; this one reads up to 1)"),
    ],
)
def test_a_corrupt_foreign_or_newer_cursor_is_set_aside_with_a_notice(saved: str, why: str) -> None:
    opened = open_saved(saved, "csv", 1, "files")
    assert opened.cursor is None
    assert opened.notice is not None
    assert opened.notice.startswith(f"files: its saved state was set aside ({why}")
    assert opened.notice.endswith("read again from the beginning (nothing is stored twice)")


def test_the_state_version_is_the_sources_own_or_one() -> None:
    class Versioned:
        state_version = 3

    assert state_version(Versioned()) == 3
    assert state_version(object()) == 1


def _notices(team: Team) -> list[str]:
    report = team.run()
    return [n for source in report.sources for n in source.notices]


def _reset_cursor(store: Store, source: str, cursor: str) -> None:
    with store.transaction():
        store.set_cursor(source, cursor)


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        (MARK + "{torn", "its seal is not JSON"),
        (seal("hubspot", 1, "1"), "plugin 'hubspot' wrote it"),
        (seal("jsonl", 1, "line seven"), "a line number was expected (got 'line seven')"),
        ("garbage", "a line number was expected (got 'garbage')"),
    ],
)
def test_a_sync_starts_a_source_over_when_its_cursor_cannot_be_used(
    tmp_path: Path, store_target: str, cursor: str, why: str
) -> None:
    team = Team(tmp_path, store_target)
    first = team.run()
    assert first.ok
    with team.open() as store:  # type: ignore[attr-defined]
        held = store.touchpoint_count()
        _reset_cursor(store, "crm", cursor)
    again = team.run()
    crm = next(s for s in again.sources if s.name == "crm")
    assert crm.error is None
    assert any(why in notice and "read again from the beginning" in notice
               for notice in crm.notices), crm.notices  # fmt: skip
    assert crm.unchanged == 1  # read again, stored once
    with team.open() as store:  # type: ignore[attr-defined]
        assert store.touchpoint_count() == held
        assert unseal(store.get_cursor("crm")) == "1"
    assert _notices(team) == []  # said once: the cursor saved since is read


def test_a_source_that_cannot_start_afresh_fails_as_a_source(
    tmp_path: Path, store_target: str
) -> None:
    """A CursorError with no cursor to set aside is the source's failure, reported as such."""
    from engage.pull import pull_source

    class Broken:
        def pull(self, cursor: str | None) -> object:
            raise CursorError("cannot read even the start")
            yield  # a generator

    with Team(tmp_path, store_target).open() as store:  # type: ignore[attr-defined]
        report = pull_source(store, "feed", "jsonl", Broken())  # type: ignore[arg-type]
    assert report.error == "feed: cannot read even the start"
