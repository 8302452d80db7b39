"""The configuration file (TOML): where the store is, which sources and sinks, which segments.

Every key is checked. An unknown key, a missing required key or a bad value is a
:class:`~engage.errors.ConfigError` naming the file, the key and what was expected. Adapter
tables (``[sources.NAME]``, ``[sinks.NAME]``) are checked against the options their plugin
declares when the adapter is built, and ``weights`` against the factors the installed plugins
register (:meth:`Config.check_factors`) when an engine is built from the config.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from engage.errors import ConfigError
from engage.identity import Identity
from engage.settings import DEFAULT_SEGMENT, SEGMENT_NUMBERS, ScoringSettings, SegmentSettings

DEFAULT_CONFIG = "engage.toml"
CONFIG_ENV = "ENGAGE_CONFIG"
#: Names the store instead of the config's ``store`` key (a URL with a password stays out
#: of the file); a relative path is relative to the working directory.
STORE_ENV = "ENGAGE_STORE"

_TOP_LEVEL = {
    "store": "the store: an SQLite file's path (relative to this file) or a postgresql:// URL",
    "internal_domains": "list of our own mail domains",
    "personal_domains": "list of extra personal mail providers",
    "owner_inactive_days": "days without activity after which an owner counts as gone",
    "fallback_owner": "who gets tasks of customers without an active owner",
    "sources": "tables [sources.NAME] with a plugin key",
    "sinks": "tables [sinks.NAME] with a plugin key",
    "segments": "tables [segments.NAME] of cadence, windows and weights",
    "sync": "table [sync]: trying a temporarily failed source or sink again in the same run",
}

_SYNC = {
    "retries": "times a source or sink that failed temporarily is tried again in the run",
    "retry_wait": "seconds before such a retry when the error does not say how long",
    "max_retry_wait": "the longest wait an error may ask for and still be retried in the run",
}


@attrs.frozen
class SyncSettings:
    """The ``[sync]`` table: trying a temporary failure again in the same run.

    A source that failed with a temporary error (exit 75: the network, a rate limit, an API
    still failing after its own retries) is pulled again after the other sources, from its
    last checkpoint; a sink whose push stopped on one that wrote nothing is pushed again after
    the other sinks (see :mod:`engage.retries`).

    Attributes:
        retries: How many more times such a source or sink is tried in one run (0 turns it
            off; at most :data:`MAX_RETRIES`).
        retry_wait: Seconds to wait, counted from the failure, before a retry when the error
            does not say how long (the time spent on the other sources counts).
        max_retry_wait: The longest wait an error may ask for (a ``Retry-After``) and still
            be retried in the run; one asking more is left to the next run.
    """

    retries: int = 1
    retry_wait: float = 10.0
    max_retry_wait: float = 120.0


#: The most retries ``[sync] retries`` may ask for (a run must end); waits are at most an hour.
MAX_RETRIES = 5


@attrs.frozen
class AdapterConfig:
    """One ``[sources.NAME]`` or ``[sinks.NAME]`` table: the plugin and its own options."""

    name: str
    plugin: str
    options: Mapping[str, Any]
    where: str


@attrs.frozen
class Config:
    """A whole configuration.

    Attributes:
        path: The file it came from (None when built in code).
        store: Path of the SQLite store, or the ``postgresql://`` URL of the PostgreSQL one.
        identity: Internal and personal mail domains.
        scoring: Segments, windows, weights and thresholds.
        sources: Source tables by name, in file order.
        sinks: Sink tables by name, in file order.
        sync: The ``[sync]`` table: retries of temporary failures within a run.
    """

    path: Path | None
    store: Path | str
    identity: Identity
    scoring: ScoringSettings
    sources: Mapping[str, AdapterConfig]
    sinks: Mapping[str, AdapterConfig]
    sync: SyncSettings = SyncSettings()

    @property
    def base_dir(self) -> Path:
        """The directory relative paths are resolved against."""
        return self.path.parent if self.path is not None else Path.cwd()

    def check_factors(self, factors: Iterable[str]) -> None:
        """Check that every segment's ``weights`` names one of ``factors``.

        Factors come from plugins, so this runs where the config meets the plugin registry:
        whenever an engine is built from the config.

        Args:
            factors: The names of the registered factors.

        Raises:
            ConfigError: a weight names no factor (naming the file, the key, the factors
                and the closest name).
        """
        check_weights(self.scoring, factors, str(self.path) if self.path else "<config>")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Config:
        """Read and check a TOML config file.

        Raises:
            ConfigError: the file is missing, is not valid TOML, or has a bad key or value.
        """
        file = Path(path)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"{file}: no such config file (create one with 'engage init', or pass --config PATH)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read the config file ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        return cls.from_dict(data, path=file.resolve(), environ=os.environ)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        path: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        """Check a configuration given as data (as a TOML file would parse).

        ``$ENGAGE_STORE`` in ``environ`` (:meth:`load` passes the process's) names the store
        instead of the ``store`` key.

        Raises:
            ConfigError: a key is unknown or missing, or a value is bad.
        """
        where = str(path) if path is not None else "<config>"
        _reject_unknown(data, _TOP_LEVEL, where, "")
        base = path.parent if path is not None else Path.cwd()
        store = _store(_typed(data, "store", str, where, "engage.db"), base, environ)
        internal = _string_list(data, "internal_domains", where)
        personal = _string_list(data, "personal_domains", where)
        scoring = ScoringSettings(
            segments=_segments(_table(data, "segments", where), where),
            owner_inactive_days=_positive(data, "owner_inactive_days", where, 60),
            fallback_owner=_typed(data, "fallback_owner", str, where, None),
        )
        return cls(
            path=path,
            store=store,
            identity=Identity.for_domains(internal, personal),
            scoring=scoring,
            sources=_adapters(_table(data, "sources", where), where, "sources"),
            sinks=_adapters(_table(data, "sinks", where), where, "sinks"),
            sync=_sync(_typed(data, "sync", dict, where, {}), where),
        )


def _store(configured: str, base: Path, environ: Mapping[str, str] | None) -> Path | str:
    """The store: ``$ENGAGE_STORE`` when set, else the key; a PostgreSQL URL stays a string,
    a path becomes absolute (the key's relative to the config file, the variable's to the
    working directory)."""
    from engage.store import is_postgres_url

    given = (environ or {}).get(STORE_ENV) or None
    value = given or configured
    if is_postgres_url(value):
        return value
    path = Path(value).expanduser()
    return path if path.is_absolute() else (Path.cwd() if given else base) / path


def check_weights(scoring: ScoringSettings, factors: Iterable[str], where: str) -> None:
    """Check that every segment's ``weights`` names one of ``factors``.

    Args:
        scoring: The settings whose segments to check.
        factors: The names of the registered factors.
        where: Where the settings come from, for the message (the config file).

    Raises:
        ConfigError: ``where: key 'segments.default.weights.persnal' names no factor; did
            you mean 'personal'? (expected one of: ...)``.
    """
    known = sorted(set(factors))
    for name, segment in scoring.segments.items():
        for factor in segment.weights:
            if factor not in known:
                raise ConfigError(
                    f"{where}: key 'segments.{name}.weights.{factor}' names no factor"
                    f"{_did_you_mean(factor, known)} (expected one of the installed factors: "
                    f"{', '.join(known) or 'none'})"
                )


def find_config_path(explicit: str | None, env: Mapping[str, str] | None = None) -> Path:
    """The config file to use: ``--config``, else ``$ENGAGE_CONFIG``, else ./engage.toml."""
    env = os.environ if env is None else env
    return Path(explicit or env.get(CONFIG_ENV) or DEFAULT_CONFIG)


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _reject_unknown(
    data: Mapping[str, Any], known: Mapping[str, str] | set[str], where: str, prefix: str
) -> None:
    for key in data:
        if key not in known:
            names = ", ".join(sorted(known))
            hint = _did_you_mean(key, sorted(known))
            raise ConfigError(
                f"{where}: unknown key '{prefix}{key}'{hint} (expected one of: {names})"
            )


def _typed(
    data: Mapping[str, Any], key: str, kind: type, where: str, default: Any, prefix: str = ""
) -> Any:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: key '{prefix}{key}' expected {kind.__name__} (got {value!r})")
    return value


def _positive(data: Mapping[str, Any], key: str, where: str, default: int, prefix: str = "") -> int:
    value: int = _typed(data, key, int, where, default, prefix)
    if value <= 0:
        raise ConfigError(
            f"{where}: key '{prefix}{key}' expected a positive whole number (got {value!r})"
        )
    return value


def _string_list(
    data: Mapping[str, Any], key: str, where: str, prefix: str = ""
) -> tuple[str, ...]:
    value = _typed(data, key, list, where, [], prefix)
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(
                f"{where}: key '{prefix}{key}' expected a list of non-empty strings (got {item!r})"
            )
    return tuple(item.strip().lower() for item in value)


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = _typed(data, key, dict, where, {})
    for name, table in value.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{where}: key '{key}.{name}' expected a table [{key}.{name}] (got {table!r})"
            )
    return value  # type: ignore[no-any-return]


def _adapters(tables: Mapping[str, Any], where: str, kind: str) -> dict[str, AdapterConfig]:
    adapters = {}
    for name, table in tables.items():
        plugin = table.get("plugin")
        if not isinstance(plugin, str) or not plugin:
            raise ConfigError(
                f"{where}: [{kind}.{name}] needs a 'plugin' key naming the adapter, e.g. plugin = \"csv\""
            )
        options = {key: value for key, value in table.items() if key != "plugin"}
        adapters[name] = AdapterConfig(name, plugin, options, f"{where}: [{kind}.{name}]")
    return adapters


def _sync(table: Mapping[str, Any], where: str) -> SyncSettings:
    _reject_unknown(table, _SYNC, where, "sync.")
    defaults = SyncSettings()
    retries = _typed(table, "retries", int, where, defaults.retries, "sync.")
    if not 0 <= retries <= MAX_RETRIES:
        raise ConfigError(
            f"{where}: key 'sync.retries' expected a whole number from 0 to {MAX_RETRIES} "
            f"(got {retries!r})"
        )
    waits = {}
    for key in ("retry_wait", "max_retry_wait"):
        value = table.get(key, getattr(defaults, key))
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 3600:
            raise ConfigError(
                f"{where}: key 'sync.{key}' expected seconds from 0 to 3600 (got {value!r})"
            )
        waits[key] = float(value)
    return SyncSettings(retries=retries, **waits)


def _segments(tables: Mapping[str, Any], where: str) -> dict[str, SegmentSettings]:
    base = SegmentSettings()
    default_table = tables.get(DEFAULT_SEGMENT, {})
    base = _segment(DEFAULT_SEGMENT, default_table, base, where)
    segments = {DEFAULT_SEGMENT: base}
    for name, table in tables.items():
        if name != DEFAULT_SEGMENT:
            segments[name] = _segment(name, table, attrs.evolve(base, match=(), weights={}), where)
    return segments


def _segment(
    name: str, table: Mapping[str, Any], base: SegmentSettings, where: str
) -> SegmentSettings:
    prefix = f"segments.{name}."
    known = {*SEGMENT_NUMBERS, "match", "weights"}
    _reject_unknown(table, known, where, prefix)
    changes: dict[str, Any] = {"name": name}
    for key, kind in SEGMENT_NUMBERS.items():
        if key not in table:
            continue
        value = table[key]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (kind is int and not isinstance(value, int)) or value < 0:
            expected = "a whole number ≥ 0" if kind is int else "a number ≥ 0"
            raise ConfigError(f"{where}: key '{prefix}{key}' expected {expected} (got {value!r})")
        top = _maximum(key)
        if _minimum(key) > value or (top is not None and value > top):
            expected = f"a number from {_minimum(key)}" + (f" to {top}" if top else " up")
            raise ConfigError(f"{where}: key '{prefix}{key}' expected {expected} (got {value!r})")
        changes[key] = kind(value)
    if "match" in table:
        if name == DEFAULT_SEGMENT:
            raise ConfigError(
                f"{where}: key '{prefix}match' is not allowed: the default segment takes every customer no other segment matches"
            )
        changes["match"] = _string_list(table, "match", where, prefix)
    if "weights" in table:
        weights = _typed(table, "weights", dict, where, {}, prefix)
        for factor, weight in weights.items():
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
                raise ConfigError(
                    f"{where}: key '{prefix}weights.{factor}' expected a number ≥ 0 (got {weight!r})"
                )
        changes["weights"] = {**base.weights, **{k: float(v) for k, v in weights.items()}}
    settings = attrs.evolve(base, **changes)
    if settings.watch_at > settings.healthy_at:
        raise ConfigError(
            f"{where}: key '{prefix}watch_at' expected at most healthy_at ({settings.healthy_at}) (got {settings.watch_at})"
        )
    return settings


def _maximum(key: str) -> int | None:
    """Scores top out at 100, ratios (shares of a rate) at 1; the rest have no ceiling."""
    if key in ("healthy_at", "watch_at"):
        return 100
    return 1 if key.endswith("_ratio") else None


def _minimum(key: str) -> int:
    """Day and hour windows and the task budget must be at least 1; the rest may be 0."""
    windows = key.endswith(("_days", "_hours")) and key != "appreciation_days"
    return 1 if windows or key == "max_tasks" else 0
