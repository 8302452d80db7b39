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
from tests.test_options import CrmOptions, CrmSource

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
