"""Exit codes a scheduler can act on, from realistic runs of ``engage sync``.

0 done; 3 done, but input or tasks were refused; 75 temporary (the network, the lock); 78
needs a person (config, credentials, the store); 1 a bug, in one line without a traceback
unless ``--debug``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from click.testing import CliRunner, Result

from engage.adapters import AdapterContext, Option, SourceItem, http_url
from engage.cli import App, cli
from engage.errors import (
    EXIT_CONFIG,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_TEMPFAIL,
    BadInputError,
    most_urgent,
)
from engage.hookspecs import hookimpl
from engage.http import HttpClient, RetryPolicy
from engage.plugins import make_plugin_manager
from tests.support import fakeplugins
from tests.test_cli import LINES

AS_OF = "2026-03-01T09:00:00+00:00"


class ApiSource:
    """Reads ``GET {base_url}/items`` through engage's HTTP client, with a tiny retry budget."""

    options: ClassVar[Mapping[str, Option]] = {
        "base_url": Option(str, required=True, check=http_url),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.client = HttpClient(
            options["base_url"],
            name="TestAPI",
            retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01),
            timeout=(2.0, 2.0),
        )

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        self.client.get_json("/items")
        return
        yield


class BuggySource:
    """Raises what requests raises for a URL with a space: an exception no one expects."""

    options: ClassVar[Mapping[str, Option]] = {}

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        pass

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        raise requests.exceptions.InvalidURL("Failed to parse: https://api.hub spot.com/items")
        yield


class PickySource:
    """Refuses its whole input, as the CSV source does past max_bad_ratio."""

    options: ClassVar[Mapping[str, Option]] = {}

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        pass

    def pull(self, cursor: str | None) -> Iterator[SourceItem]:
        raise BadInputError("export.csv: 98 of 100 rows refused (max_bad_ratio 0.5)")
        yield


class TestPlugin:
    @hookimpl
    def engage_register_sources(self, register: Any) -> None:
        register("api", ApiSource)
        register("buggy", BuggySource)
        register("picky", PickySource)


CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sync]
retry_wait = 0                # a temporary failure is tried again at once (no test waits)

[sources.feed]
plugin = "jsonl"
path = "touchpoints.jsonl"
{extra}
[sinks.remote]
plugin = "jsonfile"
path = "remote.json"
{sink}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "touchpoints.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LINES))
    configure(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    return tmp_path


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """--debug adds a stderr handler to the root logger: take it away after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


def configure(project: Path, extra: str = "", sink: str = "") -> None:
    (project / "engage.toml").write_text(CONFIG.format(extra=extra, sink=sink))


def run(*args: str) -> Result:
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    pm.register(TestPlugin(), name="exitkit")
    return CliRunner().invoke(cli, list(args), obj=App(None, pm=pm))


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "engage" in line and "error" in line]


def closed_port() -> int:
    """A loopback port nothing listens on: the API is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RevokedToken(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"message": "The token has been revoked"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def revoked_api() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), RevokedToken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class TestSync:
    """engage sync's exit code says what to do next."""

    def test_success_is_0(self, project: Path) -> None:
        """Every source read, every task pushed: 0, nothing on stderr but log lines."""
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_OK, result.stderr
        assert error_lines(result) == []

    def test_a_config_error_is_78(self, project: Path) -> None:
        """A bad value needs a person: 78, one line naming the file and the key."""
        configure(project, "[segments.default]\ncadence_days = 0\n")
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_CONFIG
        assert result.stderr.strip().splitlines() == [
            f"engage: error: {project / 'engage.toml'}: key 'segments.default.cadence_days' "
            "expected a number from 1 up (got 0)"
        ]

    def test_an_api_that_is_down_is_75(self, project: Path) -> None:
        """A source whose API refuses connections: temporary, 75; the other source's records
        are kept, no task is pushed on partial data."""
        configure(
            project,
            f'[sources.crm]\nplugin = "api"\nbase_url = "http://127.0.0.1:{closed_port()}"\n',
        )
        result = run("sync", "--json", "--as-of", AS_OF)
        assert result.exit_code == EXIT_TEMPFAIL, result.stderr
        report = json.loads(result.stdout)
        assert report["exit_code"] == EXIT_TEMPFAIL
        assert report["sources"]["crm"]["failed"] is True
        assert report["sources"]["feed"]["touchpoints"] == len(LINES)
        [line] = error_lines(result)
        assert "crm: TestAPI: GET /items failed 2 times; last: network error" in line
        assert not (project / "remote.json").exists()

    def test_revoked_credentials_are_78(self, project: Path, revoked_api: str) -> None:
        """A 401 will not pass by itself: it needs a person, 78."""
        configure(project, f'[sources.crm]\nplugin = "api"\nbase_url = "{revoked_api}"\n')
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_CONFIG, result.stderr
        [line] = error_lines(result)
        assert "HTTP 401: The token has been revoked" in line

    def test_refused_input_is_partial_3(self, project: Path) -> None:
        """A source refusing its input (too many bad rows) makes the run partial: 3."""
        configure(project, '[sources.export]\nplugin = "picky"\n')
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_PARTIAL, result.stderr
        [line] = error_lines(result)
        assert "98 of 100 rows refused" in line

    def test_tasks_a_sink_refuses_are_partial_3(self, project: Path) -> None:
        """Every source read, but the sink refused a task: 3; the others are pushed."""
        run("sync", "--dry-run", "--as-of", AS_OF)
        planned = json.loads(run("tasks", "--json", "--as-of", AS_OF).stdout)
        refused = planned[0]["key"]
        configure(project, sink=f'refuse_keys = ["{refused}"]')
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_PARTIAL, result.stderr
        remote = json.loads((project / "remote.json").read_text())
        assert len(remote) == len(planned) - 1

    def test_a_sink_that_is_down_for_good_is_78(self, project: Path) -> None:
        """A SinkError that is not retriable needs a person."""
        configure(project, sink="down = true")
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_CONFIG, result.stderr
        [line] = error_lines(result)
        assert "the task service is down" in line


class TestUnexpected:
    """A plugin's bug: one line naming the plugin and the exception, exit 1."""

    def test_one_line_without_a_traceback(self, project: Path) -> None:
        """No traceback, whatever the exception; the plugin and the exception are named."""
        configure(project, '[sources.crm]\nplugin = "buggy"\n')
        result = run("sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_ERROR
        assert "Traceback" not in result.stderr
        [line] = error_lines(result)
        assert (
            "crm: plugin 'buggy' failed: InvalidURL: Failed to parse: "
            "https://api.hub spot.com/items (run with --debug for the traceback)"
        ) in line

    def test_the_traceback_with_debug(self, project: Path) -> None:
        """--debug shows the traceback (from the debug log), and still the one line."""
        configure(project, '[sources.crm]\nplugin = "buggy"\n')
        result = run("--debug", "sync", "--as-of", AS_OF)
        assert result.exit_code == EXIT_ERROR
        assert "Traceback (most recent call last)" in result.stderr
        assert "requests.exceptions.InvalidURL" in result.stderr
        assert any("plugin 'buggy' failed: InvalidURL" in line for line in error_lines(result))


def test_the_most_urgent_code_wins() -> None:
    """A run that met several: a bug, then a person's attention, then partial, then temporary."""
    assert most_urgent([EXIT_OK, EXIT_TEMPFAIL]) == EXIT_TEMPFAIL
    assert most_urgent([EXIT_TEMPFAIL, EXIT_PARTIAL]) == EXIT_PARTIAL
    assert most_urgent([EXIT_PARTIAL, EXIT_CONFIG, EXIT_TEMPFAIL]) == EXIT_CONFIG
    assert most_urgent([EXIT_CONFIG, EXIT_ERROR]) == EXIT_ERROR
    assert most_urgent([]) == EXIT_OK


def test_help_lists_the_exit_codes() -> None:
    """engage --help ends with the table of exit codes."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    text = result.stdout
    assert "Exit codes:" in text
    codes = [line.split()[0] for line in text.split("Exit codes:")[1].splitlines() if line.strip()]
    assert codes == ["0", "3", "75", "78", "1", "2"]
