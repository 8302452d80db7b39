"""The config file: every bad key or value is an error naming the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage.config import Config, find_config_path
from engage.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "engage.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_config_loads(tmp_path: Path) -> None:
    """The README's example loads with its paths relative to the file."""
    path = write(
        tmp_path,
        """
store = "state/engage.db"
internal_domains = ["OurCo.com"]
owner_inactive_days = 45
fallback_owner = "lead@ourco.com"

[sources.files]
plugin = "csv"
path = "interactions.csv"

[sinks.todo]
plugin = "csv"
path = "tasks.csv"

[segments.default]
cadence_days = 21

[segments.enterprise]
match = ["*.bigcorp.com", "acme.com"]
cadence_days = 14
feedback_days = 90
weights = { personal = 0.3 }
""",
    )
    config = Config.load(path)
    assert config.store == tmp_path / "state" / "engage.db"
    assert config.identity.is_internal("x@ourco.com")
    assert config.scoring.owner_inactive_days == 45
    assert config.scoring.fallback_owner == "lead@ourco.com"
    assert config.sources["files"].plugin == "csv"
    assert config.sources["files"].options == {"path": "interactions.csv"}
    assert config.sinks["todo"].options == {"path": "tasks.csv"}
    enterprise = config.scoring.segment_for("eu.bigcorp.com")
    assert (enterprise.name, enterprise.cadence_days, enterprise.feedback_days) == (
        "enterprise",
        14,
        90,
    )
    assert enterprise.weight("personal", 0.0) == 0.3
    assert config.scoring.segment_for("other.com").cadence_days == 21
    assert config.scoring.segment_for("other.com", declared="enterprise").name == "enterprise"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('stor = "x.db"', "unknown key 'stor'"),
        ('internal_domains = "ourco.com"', "key 'internal_domains' expected list"),
        ("owner_inactive_days = 0", "key 'owner_inactive_days' expected a positive whole number"),
        ("[sources.files]\npath = 'a.csv'", r"\[sources.files\] needs a 'plugin' key"),
        ("[segments.smb]\ncadence = 10", "unknown key 'segments.smb.cadence'"),
        (
            "[segments.smb]\ncadence_days = 'ten'",
            "key 'segments.smb.cadence_days' expected a whole number",
        ),
        (
            "[segments.smb]\ncadence_days = 0",
            "key 'segments.smb.cadence_days' expected a number from 1",
        ),
        (
            "[segments.smb]\nhealthy_at = 120",
            "key 'segments.smb.healthy_at' expected a number from 0 to 100",
        ),
        (
            "[segments.smb]\nwatch_at = 80",
            "key 'segments.smb.watch_at' expected at most healthy_at",
        ),
        (
            "[segments.smb]\nweights = { recency = -1 }",
            "key 'segments.smb.weights.recency' expected a number",
        ),
        ("[segments.default]\nmatch = ['*']", "key 'segments.default.match' is not allowed"),
        ("sources = 3", "key 'sources' expected dict"),
    ],
)
def test_bad_keys_and_values_are_named(tmp_path: Path, text: str, message: str) -> None:
    """Each mistake names the file and the key."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        Config.load(path)
    assert str(path.resolve()) in str(info.value)


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    """A syntax error says where it is."""
    path = write(tmp_path, "store = \n")
    with pytest.raises(ConfigError, match=r"engage.toml: not valid TOML: .*line 1"):
        Config.load(path)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    """A missing config file points to engage init."""
    with pytest.raises(ConfigError, match="no such config file.*engage init"):
        Config.load(tmp_path / "nope.toml")


def test_config_path_precedence(tmp_path: Path) -> None:
    """--config beats $ENGAGE_CONFIG beats ./engage.toml."""
    assert find_config_path("a.toml", {"ENGAGE_CONFIG": "b.toml"}) == Path("a.toml")
    assert find_config_path(None, {"ENGAGE_CONFIG": "b.toml"}) == Path("b.toml")
    assert find_config_path(None, {}) == Path("engage.toml")


def test_scoring_version_changes_with_the_numbers() -> None:
    """A change of settings gives a new scoring version; the same settings the same one."""
    a = Config.from_dict({"segments": {"default": {"cadence_days": 30}}}).scoring.version
    b = Config.from_dict({}).scoring.version
    c = Config.from_dict({"segments": {"default": {"cadence_days": 14}}}).scoring.version
    assert a == b
    assert a != c
    assert a.startswith("v2-")
