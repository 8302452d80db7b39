"""engage.testing: the contract suites catch a broken adapter, and the kit's helpers work.

Each broken adapter below is the reference adapter (test_testing_kit_adapters.py) with one
promise broken. Its contract runs in a pytest of its own (``pytester``), so that the
failure is asserted, not just seen.
"""

from __future__ import annotations

import collections
import csv
import io
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engage.adapters import Notice, Problem, Skipped
from engage.errors import ConfigError
from engage.hookspecs import hookimpl
from engage.plugins import Registry
from engage.store import Store, open_store
from engage.testing import (
    NOW,
    Project,
    Pull,
    adapter_context,
    make_task,
    make_tasks,
    temporary_database,
)
from engage.testing.postgres import server_required, server_url
from engage.testing.samples import (
    ACTIVITY_HEADER,
    CRM_EXPORT,
    CRM_EXPORT_AS_OF,
    CRM_EXPORT_FILE,
    CRM_EXPORT_ROWS,
    CRM_EXPORT_SOURCE,
    activity_export,
)
from tests.support import fakeplugins
from tests.test_testing_kit_adapters import NotesSource, notes_source_case

pytest_plugins = ["pytester"]

HEADER = """
from __future__ import annotations

import pytest

from engage.models import Touchpoint
from engage.testing import SinkContract, SourceContract
from tests.test_testing_kit_adapters import (
    NotesSink, NotesSource, notes_sink_case, notes_source_case,
)
"""


def run(pytester: pytest.Pytester, body: str) -> dict[str, str]:
    """Run a test module made of HEADER and ``body``; each test's outcome by its name
    (``passed``, ``failed``, ``skipped``, ``xfailed``), and its failure text under
    ``NAME:text``."""
    pytester.makepyfile(test_broken=HEADER + textwrap.dedent(body))
    reprec = pytester.inline_run("-p", "no:cacheprovider")
    outcomes: dict[str, str] = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        name = report.nodeid.split("::", 1)[1]
        if report.when == "call" or report.outcome != "passed":
            outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            outcomes[name] = outcome
            if report.failed:
                outcomes[f"{name}:text"] = str(report.longrepr)
    return outcomes


def source_contract(cls: str, broken: str) -> str:
    """A module with the broken source ``cls`` (``broken`` is its class body) under test."""
    return f"""
class {cls}(NotesSource):
{textwrap.indent(textwrap.dedent(broken), "    ")}


class TestBroken(SourceContract):
    @pytest.fixture
    def source_case(self, tmp_path):
        return notes_source_case(tmp_path, {cls})
"""


def sink_contract(cls: str, broken: str) -> str:
    """A module with the broken sink ``cls`` under test."""
    return f"""
class {cls}(NotesSink):
{textwrap.indent(textwrap.dedent(broken), "    ")}


class TestBroken(SinkContract):
    @pytest.fixture
    def sink_case(self, tmp_path):
        return notes_sink_case(tmp_path, {cls})
"""


class TestBrokenSourcesFail:
    """A source that breaks a promise fails the check of that promise."""

    def test_duplicates_on_resume(self, pytester: pytest.Pytester) -> None:
        """A source that forgets its cursor yields again what was committed: the resume
        check fails, naming the touchpoints."""
        outcomes = run(
            pytester,
            source_contract(
                "Forgetful",
                """
                def pull(self, cursor):
                    yield from super().pull(None)
                """,
            ),
        )
        name = "TestBroken::test_resuming_from_each_checkpoint_repeats_nothing"
        assert outcomes[name] == "failed"
        assert (
            "yielded again touchpoints committed before it: ['n1', 'n2']"
            in outcomes[f"{name}:text"]
        )
        assert outcomes["TestBroken::test_resuming_from_each_checkpoint_misses_nothing"] == "passed"
        assert outcomes["TestBroken::test_ids_are_stable_across_pulls"] == "passed"

    def test_gaps_on_resume(self, pytester: pytest.Pytester) -> None:
        """A source whose cursor claims more than was yielded loses touchpoints on resume:
        the gap check fails, naming them."""
        outcomes = run(
            pytester,
            source_contract(
                "Hasty",
                """
                def read(self, path):
                    items = list(super().read(path))
                    yield from items[:-1]  # the file's last note is yielded after its checkpoint
                    self.late = items[-1:]

                def pull(self, cursor):
                    for item in super().pull(cursor):
                        yield item
                        if type(item).__name__ == "Checkpoint":
                            yield from getattr(self, "late", [])
                            self.late = []
                """,
            ),
        )
        name = "TestBroken::test_resuming_from_each_checkpoint_misses_nothing"
        assert outcomes[name] == "failed"
        assert "resuming from checkpoint 1 of 2 never yielded: ['n2']" in outcomes[f"{name}:text"]

    def test_a_secret_in_a_repr(self, pytester: pytest.Pytester) -> None:
        """A source whose repr shows its token fails the secret check."""
        outcomes = run(
            pytester,
            source_contract(
                "Leaky",
                """
                def __repr__(self):
                    return f"Leaky(token={self._token!r})"
                """,
            ),
        )
        name = "TestBroken::test_the_secret_never_shows"
        assert outcomes[name] == "failed"
        assert "repr(source): ...Leaky(token='<SECRET>')..." in outcomes[f"{name}:text"]
        assert outcomes["TestBroken::test_times_are_aware_utc"] == "passed"

    def test_a_naive_datetime(self, pytester: pytest.Pytester) -> None:
        """A source that slips a naive time past the model (``from_checked`` does not
        check) fails the UTC check."""
        outcomes = run(
            pytester,
            source_contract(
                "Naive",
                """
                def touchpoint(self, note, key):
                    good = super().touchpoint(note, key)
                    return Touchpoint.from_checked(
                        good.source, good.external_id, good.customer,
                        good.occurred_at.replace(tzinfo=None), good.channel, good.direction,
                    )
                """,
            ),
        )
        name = "TestBroken::test_times_are_aware_utc"
        assert outcomes[name] == "failed"
        assert "n1: occurred_at datetime.datetime(2026, 2, 1, 10, 0)" in outcomes[f"{name}:text"]

    def test_a_raw_error_with_the_secret(self, pytester: pytest.Pytester) -> None:
        """A source that lets a library's error escape, with its token in the URL, fails
        the failing-pull check."""
        outcomes = run(
            pytester,
            source_contract(
                "Raw",
                """
                def pull(self, cursor):
                    if (self.directory / "DOWN").exists():
                        raise ConnectionError(f"GET /notes?token={self._token}: refused")
                    yield from super().pull(cursor)
                """,
            ),
        )
        name = "TestBroken::test_a_failing_pull_raises_an_engage_error_without_the_secret"
        assert outcomes[name] == "failed"
        assert "failed with ConnectionError" in outcomes[f"{name}:text"]

    def test_a_cursor_it_cannot_read_stops_the_pull(self, pytester: pytest.Pytester) -> None:
        """A source that raises on a cursor it cannot read (with an error other than
        CursorError) breaks the one rule, for each kind of bad cursor."""
        outcomes = run(
            pytester,
            source_contract(
                "Strict",
                """
                def load(self, cursor):
                    done, notice = super().load(cursor)
                    if notice is not None:
                        from engage.errors import SourceError
                        raise SourceError("cursor unreadable")
                    return done, notice
                """,
            ),
        )
        for kind in ("foreign", "garbage", "truncated"):
            name = f"TestBroken::test_a_bad_saved_cursor_starts_over_with_a_notice[{kind}]"
            assert outcomes[name] == "failed"
            assert (
                "saved cursor failed the pull: contract: cursor unreadable"
                in outcomes[f"{name}:text"]
            )


class TestBrokenSinksFail:
    """A sink that breaks a promise fails the check of that promise."""

    def test_creates_twice(self, pytester: pytest.Pytester) -> None:
        """A sink whose find never finds anything creates a task again after a crash
        between create and the ledger write, and find disagrees with create."""
        outcomes = run(
            pytester,
            sink_contract(
                "Blind",
                """
                def find(self, tasks):
                    return {}
                """,
            ),
        )
        crash = "TestBroken::test_a_crash_between_create_and_ledger_creates_nothing_twice"
        assert outcomes[crash] == "failed"
        assert "the remote holds these tasks more than once" in outcomes[f"{crash}:text"]
        assert outcomes["TestBroken::test_find_agrees_with_create"] == "failed"
        assert outcomes["TestBroken::test_a_second_push_creates_nothing"] == "passed"

    def test_a_secret_in_a_repr(self, pytester: pytest.Pytester) -> None:
        """A sink whose repr shows its token fails the secret check."""
        outcomes = run(
            pytester,
            sink_contract(
                "Leaky",
                """
                def __repr__(self):
                    return f"Leaky(token={self._token})"
                """,
            ),
        )
        assert outcomes["TestBroken::test_the_secret_never_shows"] == "failed"


class TestExpectedFailures:
    """Known gaps are strict expected failures: reported while they stay, failing once fixed."""

    def test_a_known_gap_is_an_expected_failure(self, pytester: pytest.Pytester) -> None:
        """A check listed in expected_failures with a reason runs as xfail."""
        body = source_contract(
            "Forgetful", "def pull(self, cursor):\n    yield from super().pull(None)\n"
        )
        body += """
    expected_failures = {
        "test_resuming_from_each_checkpoint_repeats_nothing": "forgets its cursor",
        "test_a_bad_saved_cursor_starts_over_with_a_notice[garbage]": "forgets its cursor",
        "test_a_bad_saved_cursor_starts_over_with_a_notice[foreign]": "forgets its cursor",
    }
"""
        outcomes = run(pytester, body)
        assert (
            outcomes["TestBroken::test_resuming_from_each_checkpoint_repeats_nothing"] == "xfailed"
        )
        assert (
            outcomes["TestBroken::test_a_bad_saved_cursor_starts_over_with_a_notice[garbage]"]
            == "xfailed"
        )
        assert outcomes["TestBroken::test_ids_are_stable_across_pulls"] == "passed"

    def test_a_gap_that_closed_fails(self, pytester: pytest.Pytester) -> None:
        """A check listed as a gap that passes fails (strict), so the entry is removed."""
        body = source_contract("Fine", "pass\n")
        body += """
    expected_failures = {"test_times_are_aware_utc": "said to be naive"}
"""
        outcomes = run(pytester, body)
        assert outcomes["TestBroken::test_times_are_aware_utc"] == "failed"
        assert (
            "[XPASS(strict)] said to be naive"
            in outcomes["TestBroken::test_times_are_aware_utc:text"]
        )

    def test_a_gap_naming_no_check_fails(self, pytester: pytest.Pytester) -> None:
        """A misspelt entry is caught."""
        body = source_contract("Fine", "pass\n")
        body += """
    expected_failures = {"test_time_are_aware": "typo"}
"""
        outcomes = run(pytester, body)
        name = "TestBroken::test_expected_failures_name_checks_of_this_contract"
        assert outcomes[name] == "failed"
        assert "['test_time_are_aware']" in outcomes[f"{name}:text"]


class TestPull:
    """Pull: what one pull yielded, by kind."""

    def test_views_by_kind_and_the_cursor(self, tmp_path: Path) -> None:
        """Touchpoints, problems, checkpoints and the cursor to resume from."""
        pulled = Pull.run(notes_source_case(tmp_path).source())
        assert pulled.external_ids == ["n1", "n2", "n3", "n4"]
        assert pulled.problems == ["b.jsonl:2: email: not an address (got 'nobody')"]
        assert len(pulled.checkpoints) == 2
        assert pulled.cursor == pulled.checkpoints[-1]
        assert pulled.touchpoint("n3").customer == "acme.com"
        assert pulled.before(0).external_ids == ["n1", "n2"]

    def test_counts_skips_and_notices(self) -> None:
        """Skipped counts add up by why; notices are their messages."""
        pulled = Pull((Skipped("automated", 2), Skipped("automated"), Notice("n"), Problem("p")))
        assert pulled.skipped == {"automated": 3}
        assert pulled.notices == ["n"]
        assert pulled.cursor is None
        assert Pull((), start="c1").cursor == "c1"

    def test_until_error(self, tmp_path: Path) -> None:
        """A pull that must fail: what came before, and the error."""
        case = notes_source_case(tmp_path)
        assert case.fail is not None
        case.fail()
        pulled, error = Pull.until_error(case.source())
        assert (len(pulled), str(error)) == (0, "contract: the notes service is down")
        working = NotesSource(
            {"path": "elsewhere", "token_env": "T"},
            adapter_context("x", base_dir=tmp_path, env={"T": "t"}),
        )
        with pytest.raises(AssertionError, match="did not fail"):
            Pull.until_error(working)


class TestBuilders:
    """Task builders."""

    def test_make_task_numbers_keys_and_takes_changes(self) -> None:
        """Keys differ by n; any field can be changed."""
        assert make_task(1).key != make_task(2).key
        assert make_task(3, customer="globex.io").customer == "globex.io"
        assert [t.key for t in make_tasks(2)] == [make_task(1).key, make_task(2).key]

    def test_make_task_keys_name_the_rule_and_customer(self) -> None:
        """As engage's keys do: tasks of other rules or customers never share a key; a key
        given is kept."""
        assert make_task(1).key == "check_in:acme.com:2026-02-02:1"
        assert make_task(3, rule="welcome", customer="globex.io").key == (
            "welcome:globex.io:2026-02-04:3"
        )
        assert make_task(1, rule="welcome").key != make_task(1, rule="handover").key
        assert make_task(customer="globex.io").key != make_task().key
        assert make_task(key="k1", rule="welcome").key == "k1"


class TestFixtures:
    """The pytest plugin's fixtures, loaded through the pytest11 entry point."""

    def test_engage_store_is_fresh(self, engage_store: Store) -> None:
        """An empty store."""
        assert engage_store.touchpoint_count() == 0

    def test_engage_config_loads_a_checked_config(self, engage_config: Any, tmp_path: Path) -> None:
        """The text is written to tmp_path/engage.toml and loaded as engage loads it."""
        config = engage_config('store = "e.db"\ninternal_domains = ["ourco.com"]\n')
        assert config.base_dir == tmp_path
        with pytest.raises(ConfigError, match="stor"):
            engage_config('stor = "e.db"\n')

    def test_engage_context_is_rooted_in_tmp_path(
        self, engage_context: Any, tmp_path: Path
    ) -> None:
        """Relative paths resolve in tmp_path; the clock is fixed."""
        context = engage_context("files")
        assert context.path("a.csv") == tmp_path / "a.csv"
        assert context.now() == NOW

    def test_engage_register_plugin(
        self, engage_plugin_manager: Any, engage_register_plugin: Any
    ) -> None:
        """A plugin registered for one test is seen by the registry."""

        class Plugin:
            @staticmethod
            @hookimpl
            def engage_register_sources(register: Any) -> None:
                register("notes", NotesSource)

        engage_register_plugin(Plugin, name="notes-plugin")
        registry = Registry.from_plugins(engage_plugin_manager)
        assert registry.sources["notes"].plugin == "notes-plugin"


class TestPostgres:
    """A PostgreSQL database of a test's own."""

    def test_engage_postgres_database_is_a_fresh_database(
        self, engage_postgres_database: str
    ) -> None:
        """A new database of its own, where a store opens."""
        import psycopg

        with psycopg.connect(engage_postgres_database) as conn:
            name = conn.execute("SELECT current_database()").fetchone()
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert name is not None and name[0].startswith("engage_test_")
        assert tables == (0,)
        store = open_store(engage_postgres_database)
        store.close()

    def test_temporary_database_is_dropped_after(self) -> None:
        """The database is there while the block runs and gone after, connections and all."""
        psycopg = pytest.importorskip("psycopg")
        with temporary_database() as url:
            name = url.rsplit("/", 1)[1]
            left_open = psycopg.connect(url)  # a connection still open does not stop the drop
        with psycopg.connect(server_url(), autocommit=True) as admin:
            found = admin.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
        left_open.close()
        assert found == (0,)

    @pytest.mark.parametrize(
        ("required", "outcome"), [(False, pytest.skip.Exception), (True, pytest.fail.Exception)]
    )
    def test_no_server_skips_or_fails_when_required(
        self, required: bool, outcome: type[BaseException]
    ) -> None:
        """No server at the URL: skipped with the reason, or failed where one is required
        (under CI by default); the message names the server, never its password."""
        pytest.importorskip("psycopg")
        url = "postgresql://someone:hunter2@127.0.0.1:1/postgres"
        with pytest.raises(outcome) as raised, temporary_database(url, required=required):
            raise AssertionError("no database without a server")
        message = str(raised.value)
        assert "PostgreSQL tests: no server (postgresql://someone:***@127.0.0.1:1/postgres" in (
            message
        )
        assert "hunter2" not in message

    def test_server_url_and_when_it_is_required(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Given, else $ENGAGE_TEST_POSTGRES, else a local server; required under $CI."""
        monkeypatch.delenv("ENGAGE_TEST_POSTGRES", raising=False)
        monkeypatch.delenv("CI", raising=False)
        assert server_url() == "postgresql://postgres@127.0.0.1:5432/postgres"
        assert not server_required()
        monkeypatch.setenv("ENGAGE_TEST_POSTGRES", "postgresql://db.example/x")
        monkeypatch.setenv("CI", "true")
        assert server_url() == "postgresql://db.example/x"
        assert server_url("postgresql://given/y") == "postgresql://given/y"
        assert server_required()


def test_project_runs_engage_sync_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project directory with a config runs engage sync through the command line, with
    only the plugins it names."""
    fakeplugins.install_as_distribution(tmp_path / "site", Path(__file__).parent)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    project = Project(tmp_path / "project", plugins=("testkit",))
    moment = datetime(2026, 2, 20, 9, 0, tzinfo=UTC).isoformat()
    project.write(
        "notes.jsonl",
        f'{{"external_id": "t1", "customer": "acme.com", "occurred_at": "{moment}", '
        '"channel": "email", "direction": "inbound", "contact_email": "jane@acme.com"}\n',
    )
    project.config('[sources.notes]\nplugin = "jsonl"\npath = "notes.jsonl"\n')
    run = project.sync(as_of="2026-03-01T09:00:00+00:00")
    assert run.code == 0, run.stderr
    assert run.json["sources"]["notes"]["touchpoints"] == 1
    assert (project.path / "engage.db").exists()


def test_project_environ_is_what_its_commands_run_with(tmp_path: Path) -> None:
    """For engage in a process of its own: the project's config and plugins and its env (a
    None unsets), no ENGAGE_AS_OF, the rest of the base kept; the base itself is not changed."""
    project = Project(tmp_path, plugins=("csv", "gmail"), env={"TOKEN": "t", "MINE": None})
    base = {
        "PATH": "/bin",
        "ENGAGE_AS_OF": "2026-01-01",
        "ENGAGE_CONFIG": "elsewhere.toml",
        "MINE": "the developer's own",
    }
    assert project.environ(base) == {
        "PATH": "/bin",
        "ENGAGE_CONFIG": str(tmp_path / "engage.toml"),
        "ENGAGE_LOAD_PLUGINS": "csv,gmail",
        "TOKEN": "t",
    }
    assert base["ENGAGE_AS_OF"] == "2026-01-01"
    assert project.environ()["ENGAGE_LOAD_PLUGINS"] == "csv,gmail"


def test_the_sample_crm_export_feeds_a_sync(tmp_path: Path) -> None:
    """The sample export and its source table sync with the CSV plugin: three touchpoints,
    two customers, tasks planned; a line right after the table is one of its options."""
    pytest.importorskip("engage_csv", reason="the sample is read by the CSV plugin")
    project = Project(tmp_path, plugins=("csv",))
    project.write(CRM_EXPORT_FILE, CRM_EXPORT)
    project.config(CRM_EXPORT_SOURCE + '\n[sinks.todo]\nplugin = "csv"\npath = "todo.csv"\n')
    run = project.sync(as_of=CRM_EXPORT_AS_OF)
    assert run.code == 0, run.stderr
    assert run.json["sources"]["export"]["touchpoints"] == len(CRM_EXPORT_ROWS) == 3
    assert run.json["customers"] == 2
    assert run.json["tasks_planned"] > 0
    project.config(CRM_EXPORT_SOURCE + 'delimeter = ";"\n')
    assert "[sources.export]: unknown key 'delimeter'" in project.run("sync").stderr


def test_the_activity_export_is_seeded_and_read_by_the_sample_source(tmp_path: Path) -> None:
    """The same arguments give the same rows (the fault matrices' exports are pinned by
    their size and first row), each customer has a number of rows in the range, and the
    sample source table reads them all."""
    pytest.importorskip("engage_csv", reason="the sample is read by the CSV plugin")
    core, gmail = activity_export(13, 30, (4, 16)), activity_export(31, 16, (2, 8))
    assert activity_export(13, 30, (4, 16)) == core
    assert len(core) == 318 and len(gmail) == 73
    assert core[0] == ["2025-05-29 10:00", "ann0@c00.com", "Email", "in", "dave@ourco.com"]
    assert gmail[0] == ["2025-08-29 09:00", "ann0@c00.com", "Meeting", "in", "dave@ourco.com"]
    per_customer = collections.Counter(row[1] for row in core)
    assert len(per_customer) == 30 and all(4 <= n <= 16 for n in per_customer.values())
    assert {row[4] for row in core if row[1] == "ann1@c01.com"} == {"carol@ourco.com"}
    assert all("2025-01-01" <= row[0] < "2026-02-26" for row in core)
    project = Project(tmp_path, plugins=("csv",))
    buffer = io.StringIO()
    csv.writer(buffer).writerows([ACTIVITY_HEADER, *gmail])
    project.write(CRM_EXPORT_FILE, buffer.getvalue())
    project.config(CRM_EXPORT_SOURCE)
    run = project.sync(as_of=CRM_EXPORT_AS_OF)
    assert run.code == 0, run.stderr
    assert run.json["sources"]["export"]["touchpoints"] == len(gmail)
    assert run.json["customers"] == 16
