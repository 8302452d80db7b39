"""The CSV sink's key index: compact, kept beside the task file, never trusted when stale."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from test_sink import sink as sink_at

from engage.testing import make_task
from engage_csv import CsvSink, keyindex
from engage_csv.keyindex import KeyIndex


def sink(tmp_path: Path) -> CsvSink:
    return sink_at(tmp_path, "tasks.csv")


def stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return (info.st_size, info.st_mtime_ns)


@given(st.lists(st.text(min_size=1, max_size=30), max_size=300), st.lists(st.text(max_size=30)))
def test_membership_is_that_of_the_keys_added(added: list[str], others: list[str]) -> None:
    keys = KeyIndex()
    for key in added:
        keys.add(key)
    assert all(key in keys for key in added)
    assert [key in keys for key in others] == [key in set(added) for key in others]


def test_a_key_added_again_is_held_once() -> None:
    keys = KeyIndex()
    names = [f"welcome:customer{i}.com" for i in range(10_000)]  # past one merge of new keys
    for name in names + names[::-1]:
        keys.add(name)
    assert len(keys) == 10_000


def test_many_keys_stay_findable_across_merges() -> None:
    keys = KeyIndex()
    names = [f"check_in:customer{i}.com:2026-01-01" for i in range(20_000)]
    for name in names:
        keys.add(name)
    assert len(keys) == 20_000 and all(name in keys for name in names[::97])
    assert "check_in:customer20000.com:2026-01-01" not in keys


def test_the_index_beside_the_file_holds_every_key_written(tmp_path: Path) -> None:
    out = sink(tmp_path)
    out.create([make_task(key="k1"), make_task(key="k2")])
    out.create([make_task(key="k3")])
    path = tmp_path / "tasks.csv"
    saved = keyindex.load(keyindex.index_path(path), stamp(path))
    assert saved is not None and all(k in saved for k in ("k1", "k2", "k3")) and "k4" not in saved
    assert sink(tmp_path).find([make_task(key="k3"), make_task(key="k4")]) == {"k3": "k3"}


def test_rows_added_behind_the_index_are_read_from_the_file(tmp_path: Path) -> None:
    """An index whose stamp no longer matches the file is not trusted: the file is parsed."""
    sink(tmp_path).create([make_task(key="k1")])
    path = tmp_path / "tasks.csv"
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("hand-added,acme.com,check_in,t,2024-03-08,high,call,,,r,b,x\r\n")
    out = sink(tmp_path)
    assert out.find([make_task(key="hand-added"), make_task(key="k1")]) == {
        "hand-added": "hand-added",
        "k1": "k1",
    }
    out.create([make_task(key="hand-added"), make_task(key="k2")])
    assert path.read_text().count("hand-added") == 1


def test_a_damaged_index_is_ignored(tmp_path: Path) -> None:
    sink(tmp_path).create([make_task(key="k1")])
    index = keyindex.index_path(tmp_path / "tasks.csv")
    index.write_bytes(index.read_bytes()[:-3])
    assert sink(tmp_path).find([make_task(key="k1")]) == {"k1": "k1"}
    index.write_bytes(b"not an index at all, but long enough")
    out = sink(tmp_path)
    out.create([make_task(key="k1"), make_task(key="k2")])
    assert (tmp_path / "tasks.csv").read_text().count("k1,") == 1
    assert sink(tmp_path).find([make_task(key="k2")]) == {"k2": "k2"}


def test_a_crash_after_the_rows_before_the_index_is_caught_up(tmp_path: Path) -> None:
    """Rows appended whose digests never reached the index: the stale stamp sends a re-read."""
    out = sink(tmp_path)
    out.create([make_task(key="k1")])
    index = keyindex.index_path(tmp_path / "tasks.csv")
    before = index.read_bytes()
    out.create([make_task(key="k2")])
    index.write_bytes(before)  # as if the process died before updating the index
    assert sink(tmp_path).find([make_task(key="k2")]) == {"k2": "k2"}
