"""Every adapter setting is checked when the config is loaded: ranges, URLs and formats, each
refusal one message naming the file, the table and the key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from engage.adapters import AdapterContext, Option, date_format, http_url, resolve_options
from engage.cli import App, cli
from engage.config import Config
from engage.errors import ConfigError
from engage.hookspecs import hookimpl
from engage.plugins import Registry, make_plugin_manager
from engage.sync import build_adapters
from tests.support import fakeplugins

WHERE = "/srv/engage.toml: [sources.crm]"


class ApiSource:
    """A source declaring the kinds of options an API adapter has."""

    options: ClassVar[Mapping[str, Option]] = {
        "base_url": Option(str, "https://api.example.com", check=http_url),
        "requests_per_10s": Option(int, 100, minimum=1),
        "overlap_minutes": Option(int, 10, minimum=0),
        "max_bad_ratio": Option(float, 0.5, minimum=0, maximum=1),
        "date_format": Option(str, None, check=date_format),
    }

    def __init__(self, options: Mapping[str, Any], context: AdapterContext) -> None:
        self.options_given = options

    def pull(self, cursor: str | None) -> Iterator[Any]:
        return iter(())


class ApiPlugin:
    @hookimpl
    def engage_register_sources(self, register: Any) -> None:
        register("api", ApiSource)


def resolve(**given: Any) -> dict[str, Any]:
    return resolve_options(ApiSource.options, given, WHERE)


class TestRanges:
    """minimum and maximum on numbers."""

    @pytest.mark.parametrize("value", [0, -5])
    def test_requests_per_10s_below_one_is_refused(self, value: int) -> None:
        """0 or -5 requests per 10 s: refused, naming the file, the table and the key."""
        with pytest.raises(ConfigError) as caught:
            resolve(requests_per_10s=value)
        assert str(caught.value) == (
            f"{WHERE}: key 'requests_per_10s' expected a whole number ≥ 1 (got {value})"
        )

    def test_the_bounds_themselves_are_accepted(self) -> None:
        """A minimum and a maximum are inclusive."""
        resolved = resolve(requests_per_10s=1, overlap_minutes=0, max_bad_ratio=1)
        assert (resolved["requests_per_10s"], resolved["max_bad_ratio"]) == (1, 1.0)

    @pytest.mark.parametrize("value", [-0.1, 1.5])
    def test_a_ratio_outside_zero_to_one_is_refused(self, value: float) -> None:
        """A ratio names both bounds."""
        with pytest.raises(ConfigError, match=r"key 'max_bad_ratio' expected a number from 0 to 1"):
            resolve(max_bad_ratio=value)

    def test_days_below_zero_are_refused(self) -> None:
        """A minimum of 0 refuses negative numbers."""
        with pytest.raises(ConfigError, match=r"key 'overlap_minutes' expected a whole number ≥ 0"):
            resolve(overlap_minutes=-1)

    def test_defaults_are_not_checked(self) -> None:
        """Only values a config gives are checked; defaults are the adapter's own."""
        spec = {"limit": Option(int, 0, minimum=1)}
        assert resolve_options(spec, {}, WHERE) == {"limit": 0}


class TestUrls:
    """http_url: an http(s) URL with a host and no spaces."""

    @pytest.mark.parametrize(
        "url",
        [
            "https://api.hub spot.com",
            "api.hubapi.com",
            "ftp://example.com",
            "https://",
            "http://x:99999",
        ],
    )
    def test_a_bad_url_is_refused(self, url: str) -> None:
        """A space, no scheme, another scheme, no host, a bad port."""
        with pytest.raises(ConfigError) as caught:
            resolve(base_url=url)
        assert str(caught.value).startswith(f"{WHERE}: key 'base_url' expected an http(s) URL")
        assert str(caught.value).endswith(f"(got {url!r})")

    @pytest.mark.parametrize("url", ["https://api.hubapi.com", "http://127.0.0.1:8080/api/"])
    def test_a_good_url_passes(self, url: str) -> None:
        """A loopback fake's URL is as good as the real API's."""
        assert resolve(base_url=url)["base_url"] == url


class TestDateFormats:
    """date_format: what the format writes, it must read back."""

    def test_an_unknown_directive_is_refused(self) -> None:
        """%Q is no strptime directive: refused when the config is loaded, not row by row."""
        with pytest.raises(ConfigError) as caught:
            resolve(date_format="%Q-%d")
        message = str(caught.value)
        assert message.startswith(f"{WHERE}: key 'date_format' expected a strptime format")
        assert "'Q' is a bad directive" in message

    @pytest.mark.parametrize(
        "fmt", ["%d/%m/%Y", "%Y-%m-%d %H:%M:%S%z", "%d.%m.%y %I:%M %p", "%Y-%m-%d %Z"]
    )
    def test_usual_formats_pass(self, fmt: str) -> None:
        """Day first, ISO with an offset, a 12-hour clock, a zone name."""
        assert date_format(fmt) is None

    def test_a_format_strptime_cannot_read_is_refused(self) -> None:
        """%s (seconds since 1970) is written by strftime on Linux but not read by strptime."""
        assert date_format("%s") is not None


class TestThroughTheConfig:
    """The checks run when engage builds the adapters from a config file, before any pull."""

    def registry(self) -> Registry:
        pm = make_plugin_manager(entry_points=False)
        pm.register(ApiPlugin(), name="api")
        return Registry.from_plugins(pm)

    def config(self, tmp_path: Path, line: str) -> Config:
        path = tmp_path / "engage.toml"
        path.write_text(f'[sources.crm]\nplugin = "api"\n{line}\n')
        return Config.load(path)

    @pytest.mark.parametrize(
        ("line", "key"),
        [
            ("requests_per_10s = 0", "requests_per_10s"),
            ("requests_per_10s = -5", "requests_per_10s"),
            ('base_url = "https://api.hub spot.com"', "base_url"),
            ('date_format = "%Q-%d"', "date_format"),
        ],
    )
    def test_each_message_names_the_file_the_table_and_the_key(
        self, tmp_path: Path, line: str, key: str
    ) -> None:
        """``/path/engage.toml: [sources.crm]: key 'requests_per_10s' expected ...``."""
        config = self.config(tmp_path, line)
        with pytest.raises(ConfigError) as caught:
            build_adapters(config, self.registry())
        assert str(caught.value).startswith(
            f"{tmp_path / 'engage.toml'}: [sources.crm]: key '{key}' expected"
        )

    def test_a_ratio_above_one_in_a_segment_is_refused(self, tmp_path: Path) -> None:
        """Core settings have ranges too: reconnect_ratio is a share, 0 to 1."""
        path = tmp_path / "engage.toml"
        path.write_text("[segments.default]\nreconnect_ratio = 1.5\n")
        with pytest.raises(ConfigError) as caught:
            Config.load(path)
        assert str(caught.value) == (
            f"{path}: key 'segments.default.reconnect_ratio' expected a number from 0 to 1 (got 1.5)"
        )


def test_engage_sync_refuses_a_zero_rate_in_one_line_exit_78(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line: one stderr line naming file, table and key; exit 78; nothing read."""
    (tmp_path / "engage.toml").write_text(
        '[sources.crm]\nplugin = "api"\nrequests_per_10s = 0\n'
        '[sinks.remote]\nplugin = "jsonfile"\npath = "remote.json"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    pm = make_plugin_manager(entry_points=False)
    pm.register(fakeplugins, name="testkit")
    pm.register(ApiPlugin(), name="api")
    result = CliRunner().invoke(cli, ["sync"], obj=App(None, pm=pm))
    assert result.exit_code == 78
    assert result.stderr == (
        f"engage: error: {tmp_path / 'engage.toml'}: [sources.crm]: key 'requests_per_10s' "
        "expected a whole number ≥ 1 (got 0)\n"
    )
    assert not (tmp_path / "remote.json").exists()
    assert not (tmp_path / "engage.db").exists()  # refused before the store is opened
