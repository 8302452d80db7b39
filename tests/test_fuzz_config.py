"""Fuzzing the configuration: random TOML-ish tables through ``Config.from_dict``,
``build_adapters`` and ``check_sources``, and random TOML files through ``engage check``.

Whatever the input, engage answers with its own errors (:class:`~engage.errors.EngageError`
subclasses, one line on the command line) or problems, never an unexpected exception. The
tables are shaped like real configs (known keys and each installed plugin's own options, with
values of every TOML type) so the fuzzer gets past the first check. No test reaches past this
machine: name resolution is refused for every host but the loopback. Run alone with
``pytest -m fuzz tests``.
"""

from __future__ import annotations

import json
import math
import socket
import tempfile
import typing
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engage.check import check_sources
from engage.cli import App, cli
from engage.config import Config
from engage.errors import EngageError
from engage.options import is_options_class, option_fields
from engage.plugins import Registry, make_plugin_manager
from engage.sync import build_adapters

pytestmark = pytest.mark.fuzz

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PLUGINS = ["csv", "hubspot", "gmail", "gtasks", "nosuch", ""]
TOP = ["store", "internal_domains", "personal_domains", "owner_inactive_days", "fallback_owner"]
SEGMENT_KEYS = ["cadence_days", "window_days", "feedback_days", "max_tasks", "healthy_at",
                "watch_at", "reconnect_ratio", "match", "weights", "dormant_days"]  # fmt: skip
EXPORT = (
    "occurred_at,email,channel,direction,Status\n"
    "2026-01-05 10:00,jane@acme.com,email,inbound,Done\n"
    "05/01/2026,bob@ourco.com,call,out,Open\n"
    "soon,,carrier pigeon,sideways,\n"
)


@pytest.fixture(scope="module", autouse=True)
def loopback_only() -> Iterator[None]:
    """Refuse to resolve any host but the loopback: a fuzzed base_url must not go out."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz tests resolve no host ({host!r})")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


@pytest.fixture(scope="module")
def registry() -> Registry:
    """Every installed plugin (csv, hubspot, gmail), through their entry points."""
    return Registry.from_plugins(make_plugin_manager())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config directory with a small export, an empty file and a non-UTF-8 file."""
    root = tmp_path_factory.mktemp("fuzz-config")
    (root / "export.csv").write_text(EXPORT)
    (root / "empty.csv").write_bytes(b"")
    (root / "latin.csv").write_bytes("Date,Email\n2026-01-05,jos\xe9@acme.com\n".encode("latin-1"))
    return root


# -- TOML-shaped data --------------------------------------------------------------------------

text = st.text(max_size=12)
words = text | st.sampled_from(
    ["export.csv", "*.csv", "missing.csv", "latin.csv", "empty.csv", "UTC", "Europe/Berlin",
     "utf-8", "latin-1", ",", ";", "http://127.0.0.1:9", "", "%d/%m/%Y", "salesforce",
     "ourco.com", "engage.db", "/"]
)  # fmt: skip
scalars = st.one_of(
    words,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


#: Values of each option type, as a config that is almost right would give them.
WELL_TYPED: dict[type, st.SearchStrategy[Any]] = {
    str: words,
    int: st.integers(min_value=-3, max_value=400),
    float: st.floats(min_value=-1, max_value=20) | st.integers(-1, 20),
    bool: st.booleans(),
    list: st.lists(text | st.sampled_from(["Status", "Owner", "emails", "calls"]), max_size=3),
    dict: st.dictionaries(
        st.sampled_from(["email", "occurred_at", "channel", "Status", "owner"]) | text,
        text | st.lists(text, max_size=2) | st.dictionaries(text, text, max_size=2),
        max_size=3,
    ),
}

Options = Mapping[str, Mapping[str, type]]
FIELDS = ["email", "occurred_at", "channel", "direction", "owner", "customer", "subject"]

#: Values of some options by name: mostly sensible, a few wrong in the way people get them wrong.
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "path": st.sampled_from(
        ["export.csv", "*.csv", "missing.csv", "latin.csv", "empty.csv", "sub/"]
    ),
    "mbox": st.sampled_from(["export.csv", "missing.mbox", "*.mbox", "empty.csv"]),
    "credentials_file": st.sampled_from(["export.csv", "missing.json", "empty.csv"]),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin", "Nowhere/Else", "+02:00"]),
    "encoding": st.sampled_from(["utf-8", "latin-1", "utf-16", "no-such-codec"]),
    "delimiter": st.sampled_from([",", ";", "\t", "||", ""]),
    "date_format": st.sampled_from(["%d/%m/%Y", "%Y-%m-%d %H:%M", "%Q", "plain"]),
    "preset": st.sampled_from(["salesforce", "hubspot", "pipedrive", "zoho"]),
    "base_url": st.sampled_from(["http://127.0.0.1:9", "ftp://127.0.0.1", "127.0.0.1", ""]),
    "token_uri": st.sampled_from(["http://127.0.0.1:9/token", "nope"]),
    "columns": st.dictionaries(
        st.sampled_from(FIELDS) | text,
        st.sampled_from(["Date", "Email", "Type", "Direction"]) | text,
        max_size=4,
    ),
    "values": st.dictionaries(
        st.sampled_from(FIELDS) | text,
        st.dictionaries(text, text | st.sampled_from(["email", "inbound", "x"]), max_size=2),
        max_size=2,
    ),
}


def rarely(draw: st.DrawFn) -> bool:
    """True about one time in ten (hypothesis favours the ends of a range: 7 is no end)."""
    return draw(st.integers(0, 9)) == 7


def value_of(draw: st.DrawFn, kind: type) -> Any:
    """Mostly a value of ``kind``, rarely any value at all."""
    return draw(values if rarely(draw) else WELL_TYPED.get(kind, values))


@st.composite
def adapter_table(draw: st.DrawFn, options: Options) -> dict[str, Any]:
    """One [sources.NAME] or [sinks.NAME] table: a plugin, some of its options, maybe junk."""
    table: dict[str, Any] = {}
    plugin = draw(st.sampled_from(PLUGINS) | text)
    if not rarely(draw):
        table["plugin"] = draw(values) if rarely(draw) else plugin
    known = options.get(plugin, {})
    names = draw(st.lists(st.sampled_from(sorted(known)), max_size=6, unique=True)) if known else []
    if "path" in known and not rarely(draw):
        names.append("path")
    for key in names:
        if key in BY_NAME and not rarely(draw):
            table[key] = draw(BY_NAME[key])
        else:
            table[key] = value_of(draw, known[key])
    if rarely(draw):
        table[draw(text)] = draw(values)
    return table


TOP_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "store": st.sampled_from(["engage.db", "data/engage.db", "postgresql://127.0.0.1:9/x"]),
    "internal_domains": st.lists(st.sampled_from(["ourco.com", "", "a"]) | text, max_size=3),
    "personal_domains": st.lists(text, max_size=2),
    "owner_inactive_days": st.integers(-2, 400),
    "fallback_owner": text,
}


@st.composite
def configs(draw: st.DrawFn, sources: Options, sinks: Options) -> dict[str, Any]:
    """A whole config as TOML would parse it."""
    data: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(TOP), unique=True)):
        data[key] = draw(values if rarely(draw) else TOP_TYPES[key])
    if not rarely(draw):
        data["sources"] = draw(
            st.dictionaries(text, adapter_table(sources), min_size=1, max_size=3)
        )
    if draw(st.booleans()):
        data["sinks"] = draw(st.dictionaries(text, adapter_table(sinks), max_size=2))
    if draw(st.booleans()):
        number = st.integers(-1, 400) | st.floats(-1, 2)
        segment = st.dictionaries(
            st.sampled_from(SEGMENT_KEYS) | text, number | number | values, max_size=4
        )
        names = st.sampled_from(["default", "vip"]) | text
        data["segments"] = draw(st.dictionaries(names, segment, max_size=2))
    if rarely(draw):
        data[draw(text)] = draw(values)
    if rarely(draw):  # a table where a value belongs, or the reverse
        data[draw(st.sampled_from(["sources", "sinks", "segments"]))] = draw(values)
    return data


def types_of(spec: Any) -> dict[str, type]:
    """Option → its outer type (``list`` for ``list[str]``), for either form of options."""
    if is_options_class(spec):
        return {
            key: typing.get_origin(field.type) or field.type
            for key, field, _ in option_fields(spec)
        }
    return {key: option.type for key, option in spec.items()}


def option_types(registry: Registry) -> tuple[Options, Options]:
    """Plugin name → option → type, for the sources and the sinks."""
    sources = {n: types_of(r.value.options) for n, r in registry.sources.items()}
    sinks = {n: types_of(r.value.options) for n, r in registry.sinks.items()}
    return sources, sinks


# -- through the Python API --------------------------------------------------------------------


def engage_errors_only(call: Any) -> Any:
    """``call()``, or None when it raised one of engage's own errors."""
    try:
        return call()
    except EngageError as error:
        event(f"{type(error).__name__}: {str(error).split(': ', 1)[-1][:40]}")
        return None


@FUZZ
@given(data=st.data())
def test_any_table_is_a_config_or_an_engage_error(
    registry: Registry, home: Path, data: st.DataObject
) -> None:
    """Config.from_dict, then build_adapters and check_sources on what it accepts: each
    either succeeds or raises an EngageError; check lists problems, never crashes."""
    table = data.draw(configs(*option_types(registry)))
    config = engage_errors_only(
        lambda: Config.from_dict(table, path=home / "engage.toml", environ={})
    )
    if config is None:
        event("refused by Config.from_dict")
        return
    built = engage_errors_only(lambda: build_adapters(config, registry, env={}))
    event("adapters built" if built else "refused by build_adapters")
    checks = engage_errors_only(lambda: check_sources(config, registry, limit=3, env={}))
    for check in checks or []:
        event(f"checked: {check.verdict}")
        assert isinstance(check.ok, bool)


# -- through the command line ------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml(data: Mapping[str, Any]) -> str:
    """TOML text for ``data``: tables of tables as [a.b] headers, the rest inline."""
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in data.items() if not _tables(v)]
    for key, value in data.items():
        if _tables(value):
            for name, table in value.items():
                lines.append(f"[{json.dumps(key)}.{json.dumps(name)}]")
                lines.extend(f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def _tables(value: Any) -> bool:
    return (
        isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())
    )


@FUZZ
@given(data=st.data(), garble=st.binary(max_size=8))
def test_engage_check_on_any_file_says_one_line_at_most(
    registry: Registry, home: Path, data: st.DataObject, garble: bytes
) -> None:
    """``engage check`` on a random config file (sometimes with bytes spliced in): its own
    output and exit code, at most one error line, never an unexpected exception."""
    text = toml(data.draw(configs(*option_types(registry))))
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "engage.toml"
        raw = text.encode()
        if garble:
            cut = data.draw(st.integers(0, len(raw)))
            raw = raw[:cut] + garble + raw[cut:]
        path.write_bytes(raw)
        for name in ("export.csv", "latin.csv", "empty.csv"):
            (Path(scratch) / name).write_bytes((home / name).read_bytes())
        result = CliRunner().invoke(
            cli,
            ["--config", str(path), "check", "--rows", "2"],
            obj=App(None),
            env={"ENGAGE_STORE": ""},
        )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    errors = [line for line in result.stderr.splitlines() if line.startswith("engage: error")]
    assert len(errors) <= 1, result.stderr
    assert "Traceback" not in result.stderr
    # no bug reported (engage's and a plugin's bug lines both point to --debug); a file's own
    # words, such as a decoder's "unexpected end of data", may say "unexpected"
    assert "--debug for the traceback" not in result.stderr, result.stderr
    assert result.exit_code in (0, 1, 2, 3, 75, 78), result.stderr
