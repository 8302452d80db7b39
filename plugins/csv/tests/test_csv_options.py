"""The source's and sink's typed options: built and checked by engage, documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engage.adapters import resolve_options
from engage.errors import ConfigError
from engage.options_docs import assert_readme_table_current, describe_options, markdown_table
from engage_csv import CsvSink, CsvSource
from engage_csv.options import CsvLookup, CsvOptions

README = Path(__file__).resolve().parent.parent / "README.md"
WHERE = "engage.toml: [sources.files]"


class TestReadme:
    """The README's options tables are the generated ones."""

    def test_the_source_table_is_current(self) -> None:
        """The table under "Source" lists every key of CsvOptions."""
        assert_readme_table_current(README, "source:csv", CsvSource.options)

    def test_the_sink_table_is_current(self) -> None:
        """The table under "Sink" lists the sink's one key."""
        assert_readme_table_current(README, "sink:csv", CsvSink.options)

    def test_each_key_of_a_lookup_has_a_row(self) -> None:
        """A lookup's keys are documented where a table writes them, with type and default."""
        rows = {line.split(" | ")[0]: line for line in markdown_table(CsvOptions).splitlines()}
        assert [key for key in rows if "lookups." in key] == [
            f"| `lookups.<column>.{key}`" for key in ("path", "key", "fields", "required")
        ]
        assert rows["| `lookups.<column>.key`"].startswith(
            '| `lookups.<column>.key` | `str` | `"Id"`'
        )

    def test_engage_plugins_json_describes_a_lookups_keys(self) -> None:
        """The JSON documents them under lookups' nested entry, as the table does."""
        (nested,) = describe_options(CsvOptions)["lookups"]["nested"]
        assert nested["path"] == "lookups.<column>"
        assert nested["keys"]["fields"]["required"] is True
        assert nested["keys"]["key"]["default"] == "Id"


class TestSourceOptions:
    """Defaults and refusals of the source's keys."""

    def test_defaults(self) -> None:
        """Only path is required; the rest keep the defaults the source always had."""
        options = resolve_options(CsvSource.options, {"path": "a.csv"}, WHERE, env={})
        assert options == CsvOptions(path="a.csv")
        assert (options.timezone, options.encoding, options.delimiter) == ("UTC", "utf-8", None)
        assert (options.strict, options.max_bad_ratio, options.feedback_scale) == (
            False,
            0.5,
            10.0,
        )
        assert options.columns == options.values == options.lookups == {}

    def test_a_lookup_is_a_nested_options_class(self) -> None:
        """key defaults to Id, required to true; path may be one file or several."""
        given = {"path": "a.csv", "lookups": {"WhoId": {"path": "C.csv", "fields": {"email": "E"}}}}
        options = resolve_options(CsvSource.options, given, WHERE, env={})
        assert options.lookups == {"WhoId": CsvLookup(path="C.csv", fields={"email": "E"})}
        assert options.lookups["WhoId"].key == "Id" and options.lookups["WhoId"].required

    @pytest.mark.parametrize("path", ["", "  "])
    def test_an_empty_path_is_refused(self, path: str) -> None:
        """The two hand checks of path are the class's now."""
        with pytest.raises(
            ConfigError, match=rf"^{re.escape(WHERE)}: key 'path' expected a CSV file"
        ):
            resolve_options(CsvSource.options, {"path": path}, WHERE, env={})

    def test_a_blank_column_header_is_refused(self) -> None:
        """columns = { email = "" } names the element."""
        with pytest.raises(ConfigError, match=r"columns\['email'\]: expected a header or a list"):
            resolve_options(CsvSource.options, {"path": "a", "columns": {"email": ""}}, WHERE)


class TestSinkOptions:
    """The sink's one key."""

    def test_path_is_required_and_not_empty(self) -> None:
        """Missing or empty, it is a config error naming the table."""
        where = "engage.toml: [sinks.sheet]"
        with pytest.raises(ConfigError, match=r"missing required key 'path'"):
            resolve_options(CsvSink.options, {}, where, env={})
        with pytest.raises(
            ConfigError, match=rf"^{re.escape(where)}: key 'path' expected a CSV file"
        ):
            resolve_options(CsvSink.options, {"path": ""}, where, env={})
