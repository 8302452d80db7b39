"""Every request the source sends matches the Gmail discovery document google-api-python-client ships."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import googleapiclient
import pytest
from fake_gmail import FakeGmail
from gmail_kit import NOW, api_source

from engage.testing import Pull, Request

DISCOVERY = (
    Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "gmail.v1.json"
)


def methods(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from node.get("methods", {}).values()
    for child in node.get("resources", {}).values():
        yield from methods(child)


def match_method(doc: dict[str, Any], request: Request) -> dict[str, Any]:
    for method in methods(doc):
        if method["httpMethod"] != request.method:
            continue
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape("/" + method["path"]))
        if re.fullmatch(pattern, request.path):
            return method
    raise AssertionError(f"no Gmail method for {request.method} {request.path}")


def check(doc: dict[str, Any], request: Request) -> str:
    method = match_method(doc, request)
    params = method.get("parameters", {})
    for name, values in request.query.items():
        if name in doc["parameters"]:
            continue
        assert name in params, f"{method['id']}: unknown parameter {name}"
        spec = params[name]
        assert spec["location"] == "query"
        assert len(values) == 1 or spec.get("repeated"), f"{method['id']}: {name} is not repeated"
        for value in values:
            if "enum" in spec:
                assert value in spec["enum"], f"{method['id']}: {name}={value}"
            if spec["type"] == "integer":
                assert value.isdigit()
            if spec["type"] == "boolean":
                assert value in ("true", "false")
    if method["id"] == "gmail.users.history.list":
        assert request.arg("startHistoryId"), "startHistoryId is required (though not marked so)"
    if method["id"] in ("gmail.users.messages.list", "gmail.users.history.list"):
        assert 1 <= int(request.arg("maxResults", "100") or 100) <= 500
    if method["id"] == "gmail.users.messages.get":
        assert request.arg("format") == "metadata", "bodies are never fetched"
    return str(method["id"])


@pytest.fixture
def fake() -> Iterator[FakeGmail]:
    with FakeGmail() as gmail:
        yield gmail


def test_every_request_matches_the_discovery_document(fake: FakeGmail, tmp_path: Path) -> None:
    """First sync, history sync and fallback: paths, parameters, enums and repeats all documented."""
    doc = json.loads(DISCOVERY.read_text())
    for n in range(60):
        fake.add("jane@acme.com", "carol@ourco.com", date=NOW - timedelta(days=2, minutes=n))
    first = Pull.run(api_source(fake, tmp_path))
    fake.add("jane@acme.com", "carol@ourco.com", date=NOW)
    second = Pull.run(api_source(fake, tmp_path), first.cursor)
    fake.expire_history()
    Pull.run(api_source(fake, tmp_path), second.cursor)
    outer = [r for r in fake.server.requests if r.path != "/token"]
    batches = [r for r in outer if r.path == "/" + doc["batchPath"] + "/gmail/v1"]
    assert batches and all(r.method == "POST" for r in batches)
    seen = {check(doc, r) for r in [*outer, *fake.inner_requests] if r not in batches}
    assert seen == {
        "gmail.users.getProfile",
        "gmail.users.settings.sendAs.list",
        "gmail.users.messages.list",
        "gmail.users.messages.get",
        "gmail.users.history.list",
    }
