"""Options as documentation: ``engage plugins --json`` and the generated README tables, for
both forms of options; a secret is described by where it comes from, never by its value."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import attrs
import pytest
from click.testing import CliRunner

from engage.adapters import Option
from engage.cli import App, cli
from engage.hookspecs import hookimpl
from engage.options import option
from engage.options_docs import (
    assert_readme_table_current,
    describe_options,
    markdown_table,
    readme_markers,
    regenerate_readme,
    replace_table,
)
from engage.plugins import Registry, describe_plugins, make_plugin_manager
from tests.support.fakeplugins import JsonlSource
from tests.test_options import CrmOptions, CrmSource, Lookup

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "options_table.py"


@attrs.frozen
class SmallOptions:
    """A small adapter's options, for the exact table."""

    path: str = option(help="the file to read")
    token: str = option(env="SMALL_TOKEN", secret=True, help="the API token")
    mode: Literal["api", "files"] = option(default="api", help="where to read")
    ratio: float = option(default=0.5, minimum=0, maximum=1, help="share | refused")
    tags: list[str] = option(factory=list, help="labels")
    headers: dict[str, str] = option(factory=lambda: {"Contact Email": "email"})
    owner: str | None = option(default=None, env="SMALL_OWNER", help="the owner")


SMALL_TABLE = """\
| key | type | default | meaning |
|---|---|---|---|
| `path` | `str` | required | the file to read |
| `token` | `str` | required (or `$SMALL_TOKEN`) | the API token (secret: never shown) |
| `mode` | `Literal['api', 'files']` | `"api"` | where to read |
| `ratio` | `float` | `0.5` | share \\| refused (from 0 to 1) |
| `tags` | `list[str]` | `[]` | labels |
| `headers` | `dict[str, str]` | `{ "Contact Email" = "email" }` | - |
| `owner` | `str \\| None` | none, or from `$SMALL_OWNER` | the owner |
"""


class TestDescribe:
    """describe_options: per key its type as written, default, required, help, range, env,
    secret."""

    def test_a_typed_class_is_described_key_by_key(self) -> None:
        """Inner types as written; factories give their default; the secret's env, no value."""
        described = describe_options(CrmOptions)
        assert list(described) == [field.name for field in attrs.fields(CrmOptions)]
        assert described["token"] == {
            "type": "str",
            "default": None,
            "required": True,
            "help": "the API token",
            "range": None,
            "env": "CRM_TOKEN",
            "secret": True,
        }
        assert described["max_bad_ratio"]["range"] == {"minimum": 0, "maximum": 1}
        assert described["engagements"]["type"] == "list[Literal['emails', 'calls', 'notes']]"
        assert described["engagements"]["default"] == ["emails", "calls"]
        assert described["skip"] | {"help": ""} == {
            "type": "dict[str, list[str]]",
            "default": {},
            "required": False,
            "help": "",
            "range": None,
            "env": None,
            "secret": False,
        }
        assert described["owner"]["type"] == "str | None"
        assert described["lookups"]["type"] == "dict[str, Lookup]"

    def test_the_mapping_form_is_described_alike(self) -> None:
        """Option(type, ...): the type's name, never an env or a secret."""
        described = describe_options(
            {"path": Option(str, required=True, help="a file"), "n": Option(int, 3, minimum=1)}
        )
        assert described == {
            "path": {
                "type": "str",
                "default": None,
                "required": True,
                "help": "a file",
                "range": None,
                "env": None,
                "secret": False,
            },
            "n": {
                "type": "int",
                "default": 3,
                "required": False,
                "help": "",
                "range": {"minimum": 1, "maximum": None},
                "env": None,
                "secret": False,
            },
        }

    def test_a_secret_default_is_never_described(self) -> None:
        """Even a secret with a default in the code shows none."""

        @attrs.frozen
        class WithDefault:
            password: str = option(default="hunter2", secret=True)

        assert describe_options(WithDefault)["password"]["default"] is None
        assert "hunter2" not in markdown_table(WithDefault)


class CrmAndFeed:
    """A plugin registering a typed source and a mapping-form one."""

    @hookimpl
    def engage_register_sources(self, register: Any) -> None:
        register("crm", CrmSource)
        register("feed", JsonlSource)


def plugin_manager() -> Any:
    pm = make_plugin_manager(entry_points=False)
    pm.register(CrmAndFeed(), name="crm-and-feed")
    return pm


class TestPluginsJson:
    """describe_plugins(options=True): the options of every source and sink of a plugin."""

    def test_both_forms_are_listed_under_their_adapter(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """options.sources.NAME.KEY for a typed and a mapping-form source; no secret value."""
        monkeypatch.setenv("CRM_TOKEN", "s3cret-token")
        pm = plugin_manager()
        (described,) = describe_plugins(pm, Registry.from_plugins(pm), options=True)
        assert described["options"]["sinks"] == {}
        sources = described["options"]["sources"]
        assert sorted(sources) == ["crm", "feed"]
        assert sources["crm"] == describe_options(CrmOptions)
        assert sources["feed"]["path"]["required"] is True
        assert "s3cret" not in json.dumps(described)

    def test_without_options_the_description_is_as_before(self) -> None:
        """options=False (the default) adds nothing."""
        pm = plugin_manager()
        (described,) = describe_plugins(pm, Registry.from_plugins(pm))
        assert "options" not in described

    def test_engage_plugins_json_documents_options(self) -> None:
        """engage plugins --json shows each adapter's options."""
        result = CliRunner().invoke(cli, ["plugins", "--json"], obj=App(None, pm=plugin_manager()))
        assert result.exit_code == 0, result.output
        (described,) = json.loads(result.stdout)
        assert described["options"]["sources"]["crm"]["token"]["env"] == "CRM_TOKEN"


class TestMarkdownTable:
    """markdown_table: one row per key, type as written, default as TOML, meaning with range."""

    def test_the_table_of_a_small_adapter(self) -> None:
        """Required, env, secret, Literal, range, factories and escaped pipes."""
        assert markdown_table(SmallOptions) == SMALL_TABLE

    def test_the_mapping_form_gives_a_table_too(self) -> None:
        """Option(list, []) is a ``list`` defaulting to ``[]``."""
        table = markdown_table({"attributes": Option(list, [], help="headers copied")})
        assert table.splitlines()[-1] == "| `attributes` | `list` | `[]` | headers copied |"


README = """\
# engage-small

Some prose.

<!-- options:source:small -->
| key | type | default | meaning |
| `old` | `str` | required | gone |
<!-- /options -->

More prose.
"""


class TestReadme:
    """The table between the markers is generated; a test fails when it is stale."""

    def test_the_block_is_replaced_and_the_prose_kept(self) -> None:
        """Only the marked block changes."""
        updated = replace_table(README, "source:small", SmallOptions)
        assert updated.startswith(
            "# engage-small\n\nSome prose.\n\n<!-- options:source:small -->\n\n"
        )
        assert f"\n\n{SMALL_TABLE}\n<!-- /options -->\n\nMore prose.\n" in updated
        assert replace_table(updated, "source:small", SmallOptions) == updated

    def test_a_missing_block_is_an_error(self) -> None:
        """No block for the marker: ValueError naming it."""
        with pytest.raises(ValueError, match="no '<!-- options:sink:small -->'"):
            replace_table(README, "sink:small", SmallOptions)

    def test_the_assertion_fails_on_a_stale_table_with_a_diff(self, tmp_path: Path) -> None:
        """A stale table: an AssertionError with the diff and the command to regenerate."""
        readme = tmp_path / "README.md"
        readme.write_text(README, encoding="utf-8")
        with pytest.raises(AssertionError) as caught:
            assert_readme_table_current(readme, "source:small", SmallOptions)
        message = str(caught.value)
        assert message.startswith(f"{readme}: the options table source:small is stale; ")
        assert "python scripts/options_table.py" in message
        assert "-| `old` | `str` | required | gone |" in message

    def test_the_assertion_passes_once_regenerated(self, tmp_path: Path) -> None:
        """regenerate_readme writes the table; then the assertion holds."""
        readme = tmp_path / "README.md"
        readme.write_text(README, encoding="utf-8")
        assert regenerate_readme(readme, {"source:small": SmallOptions}) == ["source:small"]
        assert_readme_table_current(readme, "source:small", SmallOptions)
        assert regenerate_readme(readme, {"source:small": SmallOptions}) == []

    def test_the_assertion_fails_without_a_block(self, tmp_path: Path) -> None:
        """A README with no block for the marker fails, saying to add one."""
        readme = tmp_path / "README.md"
        readme.write_text("# nothing\n", encoding="utf-8")
        with pytest.raises(AssertionError, match="add one where the options are documented"):
            assert_readme_table_current(readme, "source:small", SmallOptions)

    def test_markers_are_listed_in_order(self) -> None:
        """Every block's marker."""
        text = README + README.replace("source:small", "sink:small")
        assert readme_markers(text) == ["source:small", "sink:small"]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("options_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestScript:
    """scripts/options_table.py regenerates the marked tables from the registered adapters."""

    def registry(self) -> Registry:
        return Registry.from_plugins(plugin_manager())

    def test_check_reports_a_stale_table_and_writes_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--check: exit 1, the file unchanged."""
        readme = tmp_path / "README.md"
        readme.write_text(README.replace("source:small", "source:crm"), encoding="utf-8")
        script = load_script()
        assert script.main(["--check", str(readme)], registry=self.registry()) == 1
        assert "the options table source:crm is stale" in capsys.readouterr().out
        assert "`old`" in readme.read_text(encoding="utf-8")

    def test_it_regenerates_then_check_passes(self, tmp_path: Path) -> None:
        """Without --check the table is written; a second --check exits 0."""
        readme = tmp_path / "README.md"
        readme.write_text(README.replace("source:small", "source:crm"), encoding="utf-8")
        script = load_script()
        assert script.main([str(readme)], registry=self.registry()) == 0
        assert_readme_table_current(readme, "source:crm", CrmOptions)
        assert script.main(["--check", str(readme)], registry=self.registry()) == 0

    def test_a_marker_naming_no_adapter_fails(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exit 2 naming the marker and the adapters there are."""
        readme = tmp_path / "README.md"
        readme.write_text(README, encoding="utf-8")
        assert load_script().main([str(readme)], registry=self.registry()) == 2
        assert "no installed adapter 'source:small' (installed: source:crm, source:feed)" in (
            capsys.readouterr().out
        )


@attrs.frozen
class Retry:
    """A sub-table of one."""

    attempts: int = option(default=3, minimum=1, help="tries before giving up")
    token: str | None = option(default=None, env="RETRY_TOKEN", secret=True, help="a key")


@attrs.frozen
class Step:
    """A sub-table that holds sub-tables itself."""

    name: str = option(help="the step's name")
    retry: Retry | None = option(default=None, help="how to retry it")


@attrs.frozen
class Pipeline:
    """Nested options classes in each shape a table can give them."""

    retry: Retry = option(factory=Retry, help="how to retry")
    fallback: Retry | None = option(default=None, help="retries after a failure")
    lookups: dict[str, Lookup] = option(factory=dict, key_name="column", help="id → lookup")
    steps: list[Step] = option(factory=list, help="what to run")


@attrs.frozen
class Tree:
    """A class that holds itself: documented once, not forever."""

    label: str = option(default="", help="the node's label")
    children: list[Tree] = option(factory=list, help="the nodes below")


@attrs.frozen
class Keyed:
    """A sub-table with a secret that has a default in the code."""

    password: str = option(default="hunter2", secret=True)


@attrs.frozen
class Outer:
    """Holds Keyed."""

    inner: Keyed = option(factory=Keyed)


PIPELINE_TABLE = """\
| key | type | default | meaning |
|---|---|---|---|
| `retry` | `Retry` | `{ attempts = 3 }` | how to retry |
| `retry.attempts` | `int` | `3` | tries before giving up (at least 1) |
| `retry.token` | `str \\| None` | from `$RETRY_TOKEN` | a key (secret: never shown) |
| `fallback` | `Retry \\| None` | none | retries after a failure |
| `fallback.attempts` | `int` | `3` | tries before giving up (at least 1) |
| `fallback.token` | `str \\| None` | from `$RETRY_TOKEN` | a key (secret: never shown) |
| `lookups` | `dict[str, Lookup]` | `{}` | id → lookup |
| `lookups.<column>.path` | `str \\| list[str]` | required | the files to look in |
| `lookups.<column>.key` | `str` | `"Id"` | the id column of those files |
| `lookups.<column>.fields` | `dict[str, str]` | `{}` | engage field → header |
| `steps` | `list[Step]` | `[]` | what to run |
| `steps[].name` | `str` | required | the step's name |
| `steps[].retry` | `Retry \\| None` | none | how to retry it |
| `steps[].retry.attempts` | `int` | `3` | tries before giving up (at least 1) |
| `steps[].retry.token` | `str \\| None` | from `$RETRY_TOKEN` | a key (secret: never shown) |
"""


class TestNested:
    """A key holding nested options classes is followed by their keys, written where a
    table writes them, in the Markdown table and in ``engage plugins --json``."""

    def test_every_shape_of_nesting_has_rows(self) -> None:
        """``retry.attempts``, ``fallback.attempts``, ``lookups.<column>.path``,
        ``steps[].retry.attempts``: types, defaults, help and ranges as for any key."""
        assert markdown_table(Pipeline) == PIPELINE_TABLE

    def test_the_json_carries_the_nested_keys_under_their_key(self) -> None:
        """``nested``: where the keys are written and each described like a top-level key;
        top-level keys stay the table's keys."""
        described = describe_options(Pipeline)
        assert list(described) == ["retry", "fallback", "lookups", "steps"]
        (lookup,) = described["lookups"]["nested"]
        assert lookup["path"] == "lookups.<column>"
        assert list(lookup["keys"]) == ["path", "key", "fields"]
        assert lookup["keys"]["key"] == describe_options(Lookup)["key"]
        (step,) = described["steps"]["nested"]
        (retry,) = step["keys"]["retry"]["nested"]
        assert retry["path"] == "steps[].retry"
        assert retry["keys"]["attempts"]["range"] == {"minimum": 1, "maximum": None}
        assert retry["keys"]["token"] | {"help": ""} == {
            "type": "str | None",
            "default": None,
            "required": False,
            "help": "",
            "range": None,
            "env": "RETRY_TOKEN",
            "secret": True,
        }

    def test_a_key_without_nested_classes_has_no_nested_entry(self) -> None:
        """Plain keys are described exactly as before."""
        assert "nested" not in describe_options(Pipeline)["retry"]["nested"][0]["keys"]["token"]
        assert all("nested" not in d for d in describe_options(SmallOptions).values())

    def test_a_class_holding_itself_is_documented_once(self) -> None:
        """``children: list[Tree]`` is a row; its keys are the ones already listed."""
        rows = [line.split(" | ")[0] for line in markdown_table(Tree).splitlines()[2:]]
        assert rows == ["| `label`", "| `children`"]

    def test_the_key_name_defaults_to_name(self) -> None:
        """Without key_name, a table of sub-tables is written ``KEY.<name>.SUBKEY``."""

        @attrs.frozen
        class Plain:
            lookups: dict[str, Lookup] = option(factory=dict)

        assert "| `lookups.<name>.path` |" in markdown_table(Plain)

    def test_no_secret_of_a_nested_class_is_shown(self) -> None:
        """A nested secret with a default in code: neither table nor JSON shows it."""
        assert "hunter2" not in markdown_table(Outer)
        assert "hunter2" not in json.dumps(describe_options(Outer)["inner"]["nested"])
