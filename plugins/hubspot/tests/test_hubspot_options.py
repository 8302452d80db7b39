"""The source's and sink's typed options: built and checked by engage, documented in the README."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from fake_hubspot import FakeHubSpot

from engage.adapters import AdapterContext, resolve_options
from engage.errors import ConfigError
from engage.options_docs import assert_readme_table_current
from engage_hubspot import HubSpotSink, HubSpotSource
from engage_hubspot.options import SourceOptions

README = Path(__file__).resolve().parent.parent / "README.md"
WHERE = "engage.toml: [sources.crm]"


def source_options(given: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Any:
    return resolve_options(HubSpotSource.options, given, WHERE, env=env or {})


class TestReadme:
    """The README's options tables are the generated ones."""

    def test_the_source_table_is_current(self) -> None:
        """The table under "Source options" lists every key of SourceOptions."""
        assert_readme_table_current(README, "source:hubspot", HubSpotSource.options)

    def test_the_sink_table_is_current(self) -> None:
        """The table under "Sink options" lists every key of SinkOptions."""
        assert_readme_table_current(README, "sink:hubspot", HubSpotSink.options)


class TestSourceOptions:
    """Defaults and refusals of the source's keys."""

    def test_defaults(self) -> None:
        """Without keys: every engagement type, feedback and open work, a 10-minute overlap."""
        options = source_options({})
        assert options.engagements == ["emails", "calls", "meetings", "notes"]
        assert (options.feedback, options.open_work, options.overlap_minutes) == (True, True, 10)
        assert (options.base_url, options.requests_per_10s) == ("https://api.hubapi.com", 100)
        assert (options.searches_per_second, options.token, options.token_env) == (5, None, None)

    def test_an_unknown_engagement_type_is_refused_naming_the_element(self) -> None:
        """engagements = ["emails", "tasks"]: the message names the element and the choices."""
        with pytest.raises(ConfigError) as caught:
            source_options({"engagements": ["emails", "tasks"]})
        assert str(caught.value) == (
            f"{WHERE}: engagements[1]: expected one of 'emails', 'calls', 'meetings', 'notes' "
            "(got str 'tasks')"
        )

    def test_engagement_types_given_twice_are_pulled_once(
        self, fake: FakeHubSpot, make_source: Callable[..., HubSpotSource]
    ) -> None:
        """Repeats are dropped, the order kept."""
        source = make_source(engagements=["notes", "emails", "notes"], feedback=False)
        assert source.object_types == ("companies", "contacts", "notes", "emails")

    def test_a_company_property_that_is_no_string_is_refused(self) -> None:
        """company_properties = ["tier", 1] is a config error, not the property "1"."""
        with pytest.raises(
            ConfigError, match=r"company_properties\[1\]: expected str \(got int 1\)"
        ):
            source_options({"company_properties": ["tier", 1]})


class TestToken:
    """The token comes from $HUBSPOT_TOKEN, or from the variable token_env names."""

    def test_the_token_is_read_from_hubspot_token_and_never_shown(self) -> None:
        """The options hold it, but their repr does not."""
        options = source_options({}, env={"HUBSPOT_TOKEN": " pat-na1-secret "})
        assert isinstance(options, SourceOptions)
        assert options.token == "pat-na1-secret"
        assert "pat-na1-secret" not in repr(options)

    def test_a_token_of_the_wrong_type_is_refused_without_its_value(self) -> None:
        """token = 12345 in the file: the message names the key and the type, not the value."""
        with pytest.raises(ConfigError) as caught:
            source_options({"token": 12345})
        assert "key 'token' expected str" in str(caught.value)
        assert "12345" not in str(caught.value)

    def test_without_a_token_the_source_names_hubspot_token(self) -> None:
        """No $HUBSPOT_TOKEN and no token_env: a config error naming the variable."""
        with pytest.raises(
            ConfigError,
            match=r"\[sources.crm\]: environment variable "
            "HUBSPOT_TOKEN is not set",
        ):
            HubSpotSource(source_options({}), AdapterContext(name="crm"))

    def test_token_env_reads_another_variable_of_the_context(self, fake: FakeHubSpot) -> None:
        """A second account's token in $OTHER_TOKEN is used instead of $HUBSPOT_TOKEN."""
        env = {"HUBSPOT_TOKEN": "pat-first-account", "OTHER_TOKEN": fake.token}
        options = source_options({"token_env": "OTHER_TOKEN", "base_url": fake.url}, env=env)
        source = HubSpotSource(options, AdapterContext(name="crm", env=env))
        assert source.client.token_env == "OTHER_TOKEN"
        assert "OTHER_TOKEN" in repr(source) and fake.token not in repr(source)
