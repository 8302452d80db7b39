"""The HubSpot keys are checked when the config is loaded: a rate below 1 or a base_url that is
no URL is one line naming the file, the table and the key, exit 78, before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engage.cli import cli


def sync_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str) -> tuple[int, str]:
    (tmp_path / "engage.toml").write_text(f'[sources.crm]\nplugin = "hubspot"\n{line}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "hubspot")
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-test-token")
    result = CliRunner().invoke(cli, ["sync"])
    return result.exit_code, result.stderr


@pytest.mark.parametrize("value", [0, -5])
def test_requests_per_10s_below_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: int
) -> None:
    """requests_per_10s = 0 or -5 does not quietly become one request per 10 s."""
    code, stderr = sync_with(tmp_path, monkeypatch, f"requests_per_10s = {value}")
    assert code == 78
    assert stderr == (
        f"engage: error: {tmp_path / 'engage.toml'}: [sources.crm]: key 'requests_per_10s' "
        f"expected a whole number ≥ 1 (got {value})\n"
    )
    assert not (tmp_path / "engage.db").exists()


def test_a_base_url_with_a_space_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an InvalidURL traceback at the first request: a config error naming the key."""
    code, stderr = sync_with(tmp_path, monkeypatch, 'base_url = "https://api.hub spot.com"')
    assert code == 78
    assert stderr.startswith(
        f"engage: error: {tmp_path / 'engage.toml'}: [sources.crm]: key 'base_url' expected an "
        "http(s) URL with a host and no spaces"
    )
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_searches_per_second_and_overlap_have_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """searches_per_second needs 1 or more; overlap_minutes 0 or more."""
    code, stderr = sync_with(tmp_path, monkeypatch, "searches_per_second = 0")
    assert code == 78 and "key 'searches_per_second' expected a whole number ≥ 1" in stderr
    code, stderr = sync_with(tmp_path, monkeypatch, "overlap_minutes = -1")
    assert code == 78 and "key 'overlap_minutes' expected a whole number ≥ 0" in stderr
