"""People only copied on someone else's mail, through `engage sync`: contacts, never customers.

A real archive made 56 of its 90 "customers" out of people who were only ever in Cc, each at
risk with a handover task. Here a Cc chain runs through the fake Gmail API and the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_gmail import FakeGmail
from fake_oauth import write_credentials

from engage.cli import cli

CONFIG = """
store = "engage.db"
internal_domains = ["ourco.com"]

[sources.mail]
plugin = "gmail"
credentials_file = "gmail-authorized-user.json"
base_url = "{url}"
token_uri = "{url}/token"
"""
#: The mail is dated days before the real clock: the source reads back from it, and refuses
#: mail dated after it.
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGmail]:
    with FakeGmail("carol@ourco.com") as gmail:
        (tmp_path / "engage.toml").write_text(CONFIG.format(url=gmail.url))
        write_credentials(tmp_path)
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
        monkeypatch.setenv("ENGAGE_LOAD_PLUGINS", "gmail")
        yield gmail


def engage(*args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--json", "--as-of", NOW.isoformat()])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_cc_chain_makes_no_customer_of_the_people_only_copied(fake: FakeGmail) -> None:
    """Jane (acme.com) writes to Carol copying Bob (globex.com) and Priya (gmail.com); Carol
    replies to all; Jane answers. Only acme.com is a customer, with its health and tasks.
    Carol's note to a colleague copying Kim (initech.com) is written to Kim: a customer too."""
    copied = ["Bob Stone <bob@globex.com>", "Priya Das <priya.das@gmail.com>"]
    fake.add(
        "Jane Roe <jane@acme.com>",
        "carol@ourco.com",
        "Rollout",
        cc=[*copied, "joe@acme.com"],
        date=NOW - timedelta(days=6),
    )
    fake.add(
        "Carol <carol@ourco.com>",
        "jane@acme.com",
        "Re: Rollout",
        cc=[*copied, "dave@ourco.com"],
        date=NOW - timedelta(days=5),
        labels=["SENT"],
    )
    fake.add(
        "Jane Roe <jane@acme.com>",
        ["carol@ourco.com", *copied],
        "Re: Rollout",
        date=NOW - timedelta(days=4),
    )
    fake.add(
        "Carol <carol@ourco.com>",
        "dave@ourco.com",
        "Intro",
        cc=["Kim Park <kim@initech.com>"],
        date=NOW - timedelta(days=3),
        labels=["SENT"],
    )
    report = engage("sync")
    assert report["sources"]["mail"]["touchpoints"] == 4
    assert report["customers"] == 2
    health = {entry["customer"] for entry in engage("health")}
    assert health == {"acme.com", "initech.com"}
    tasks = {task["customer"] for task in engage("tasks")}
    assert "acme.com" in tasks  # Jane waits for an answer
    assert not tasks & {"globex.com", "priya.das@gmail.com"}
