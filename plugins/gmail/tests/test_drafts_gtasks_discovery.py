"""Every request the sinks send is one Google's discovery documents describe: path, parameters, body."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from fake_google_write import FakeGoogleWrite
from sink_support import drafts_sink, task, tasks_sink

from engage.testing import Request

STANDARD = {"alt", "fields", "key", "oauth_token", "prettyPrint", "quotaUser", "$.xgafv"}
STANDARD |= {"access_token", "callback", "upload_protocol", "uploadType"}


def discovery(name: str) -> dict[str, Any]:
    path = files("googleapiclient") / "discovery_cache" / "documents" / f"{name}.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def methods(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(resource: dict[str, Any]) -> None:
        found.extend(resource.get("methods", {}).values())
        for child in resource.get("resources", {}).values():
            walk(child)

    walk(document)
    return found


def check_value(schema: dict[str, Any], value: Any, schemas: dict[str, Any], where: str) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), where
        properties = schema.get("properties", {})
        for name, item in value.items():
            assert name in properties, f"{where}: unknown field {name!r}"
            check_value(properties[name], item, schemas, f"{where}.{name}")
    elif kind == "string":
        assert isinstance(value, str), f"{where}: expected a string"
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    elif kind == "array":
        assert isinstance(value, list), where
    elif kind == "boolean":
        assert isinstance(value, bool), where


def check(request: Request, document: dict[str, Any]) -> str:
    """Assert ``request`` matches a method of ``document``; return the method's id."""
    for method in methods(document):
        template = re.sub(r"\{\+?[^}]+\}", "[^/]+", method.get("flatPath", method["path"]))
        if method["httpMethod"] != request.method or not re.fullmatch(
            "/" + document["servicePath"] + template, request.path
        ):
            continue
        parameters = method.get("parameters", {})
        for name, values in request.query.items():
            if name in STANDARD:
                continue
            assert name in parameters, f"{method['id']}: unknown parameter {name!r}"
            spec = parameters[name]
            assert len(values) == 1 or spec.get("repeated"), f"{method['id']}: {name} repeated"
            for value in values:
                if "enum" in spec:
                    assert value in spec["enum"], f"{method['id']}: {name}={value!r}"
                if spec["type"] == "boolean":
                    assert value in ("true", "false"), f"{method['id']}: {name}={value!r}"
                if spec["type"] == "integer":
                    number = int(value)
                    assert number >= int(spec.get("minimum", number)), name
                    assert number <= int(spec.get("maximum", number)), name
        if "request" in method:
            check_value(method["request"], request.json(), document["schemas"], method["id"])
        else:
            assert not request.body, f"{method['id']} takes no body"
        return str(method["id"])
    raise AssertionError(f"no discovery method for {request.method} {request.path}")


def test_sink_requests_match_the_discovery_documents(tmp_path: Path) -> None:
    """Drafts (threaded and not), finds, Tasks inserts, list lookups and completions all validate."""
    gmail, tasks = discovery("gmail.v1"), discovery("tasks.v1")
    with FakeGoogleWrite() as fake:
        fake.add_message("jane@acme.com", "carol@ourco.com", "Hello", message_id="<h@acme>")
        fake.tasklists["Zm9sbG93"] = "Follow-ups"
        drafts = drafts_sink(fake, tmp_path)
        drafts.create([task(1)])
        drafts_sink(fake, tmp_path).find([task(1), task(2)])  # a new run reads the draft
        for sink in (tasks_sink(fake, tmp_path), tasks_sink(fake, tmp_path, tasklist="Follow-ups")):
            [made] = sink.create([task(1)])
            sink.find([task(1)])
            sink.complete({made.key: str(made.remote_id)})
        seen = set()
        assert fake.batch_sizes  # drafts.get goes through batches: check each call inside
        for request in [*fake.server.requests, *fake.inner_requests]:
            if request.path in ("/token", "/batch/gmail/v1"):
                continue
            document = gmail if request.path.startswith("/gmail/") else tasks
            seen.add(check(request, document))
    assert seen == {
        "gmail.users.messages.list",
        "gmail.users.messages.get",
        "gmail.users.drafts.create",
        "gmail.users.drafts.list",
        "gmail.users.drafts.get",
        "tasks.tasks.insert",
        "tasks.tasks.list",
        "tasks.tasks.patch",
        "tasks.tasklists.list",
    }


def test_the_checker_rejects_what_google_would() -> None:
    """An upper-case enum, an unknown body field and an unknown path all fail the check."""
    gmail = discovery("gmail.v1")

    def request(method: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> Request:
        return Request(method, path, query, {}, body)

    bad = [
        request("GET", "/gmail/v1/users/me/drafts/d1", {"format": ["METADATA"]}),
        request("POST", "/gmail/v1/users/me/drafts", {}, b'{"message": {"rawr": "x"}}'),
        request("GET", "/gmail/v1/users/me/nothing", {}),
    ]
    for each in bad:
        try:
            check(each, gmail)
        except AssertionError:
            continue
        raise AssertionError(f"accepted {each.method} {each.path} {each.query}")
