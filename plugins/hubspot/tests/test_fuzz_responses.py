"""Fuzzing HubSpot's answers: the source and the sink against a fake whose every answer is
drawn by hypothesis: truncated JSON, HTML error pages, empty bodies, wrong types in the right
places (a list for ``properties``, an object for ``after``, a number for an id), odd statuses.

Whatever HubSpot answers, the source yields engage's own items and the sink its results, or
each raises one of engage's errors (:class:`~engage.errors.EngageError`): never an unexpected
exception. Run alone with ``pytest -m fuzz plugins/hubspot/tests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from conftest import IDENTITY
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from engage.adapters import AdapterContext, Checkpoint, Notice, Problem, Retire, resolve_options
from engage.errors import EngageError
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.store.sqlite import SQLiteStore
from engage.testing import FakeServer, Reply, Request
from engage.testing import make_task as task
from engage_hubspot import HubSpotSink, HubSpotSource
from engage_hubspot.client import HubSpotClient

pytestmark = pytest.mark.fuzz

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # conftest's fast retries: the same every example
    ],
)
ITEMS = (Touchpoint, Customer, Contact, Owner, Problem, Checkpoint, Retire, Notice)
TOKEN = "pat-na1-fuzz"
ENV = {"HUBSPOT_TOKEN": TOKEN}
KEYS = ["results", "paging", "next", "after", "id", "properties", "archived", "createdAt",
        "updatedAt", "hs_timestamp", "email", "domain", "name", "associations", "status",
        "message", "category", "errors", "total", "hs_lastmodifieddate", "lastmodifieddate",
        "hubspot_owner_id", "hs_email_direction", "firstName", "userId", "hasUniqueValue",
        "type", "to", "toObjectId", "objectWriteTraceId", "engage_task_key", "context"]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=15,
)
stamps = st.sampled_from(["2026-11-01T09:00:00.000Z", "2026-13-01T00:00:00Z", "1700000000000", ""])
records = st.fixed_dictionaries(
    {
        "id": st.text(max_size=6) | st.integers() | st.none(),
        "properties": st.dictionaries(st.sampled_from(KEYS), st.text(max_size=20) | stamps | json_values, max_size=6)
        | json_values,
    },
    optional={
        "createdAt": stamps | json_values,
        "updatedAt": stamps | json_values,
        "archived": st.booleans() | json_values,
        "associations": json_values,
    },
)  # fmt: skip
pages = st.fixed_dictionaries(
    {"results": st.lists(records, max_size=3) | json_values},
    optional={
        "paging": st.fixed_dictionaries({"next": st.fixed_dictionaries({"after": json_values})})
        | json_values,
        "total": json_values,
        "status": st.sampled_from(["COMPLETE", "PENDING"]) | json_values,
        "errors": json_values,
    },
)
#: Pages whose values have the types HubSpot documents (strings, objects, lists where due).
typed_records = st.fixed_dictionaries(
    {
        "id": st.text(max_size=6),
        "properties": st.dictionaries(st.sampled_from(KEYS), st.text(max_size=20) | stamps | st.none(), max_size=6),
    },
    optional={"createdAt": stamps, "updatedAt": stamps, "archived": st.booleans()},
)  # fmt: skip
typed_pages = st.fixed_dictionaries(
    {"results": st.lists(typed_records, max_size=3)},
    optional={
        "paging": st.fixed_dictionaries(
            {"next": st.fixed_dictionaries({"after": st.text(max_size=5)})}
        ),
        "status": st.just("COMPLETE"),
    },
)
statuses = st.sampled_from([200, 200, 200, 200, 201, 207, 400, 404, 409, 414, 423, 429, 500, 502])


@st.composite
def replies(draw: st.DrawFn, typed: bool = False) -> Reply:
    """One answer: a page (maybe truncated, or with values of any type unless ``typed``), an
    HTML error page, or junk."""
    status = draw(statuses)
    kinds = ["page", "page", "truncated", "html", "empty"] + ([] if typed else ["json"])
    kind = draw(st.sampled_from(kinds))
    page = typed_pages if typed else pages
    if kind == "page":
        return Reply(status, draw(page))
    if kind == "truncated":
        text = json.dumps(draw(page))
        return Reply(status, text=text[: draw(st.integers(0, max(0, len(text) - 1)))],
                     headers={"Content-Type": "application/json"})  # fmt: skip
    if kind == "html":
        page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        return Reply(status, text=page, headers={"Content-Type": "text/html"})
    if kind == "empty":
        return Reply(status, text="", headers={"Content-Type": "application/json"})
    return Reply(status, draw(json_values))


class Scripted(FakeServer):
    """Answers every request with the next scripted reply, then with empty pages."""

    def __init__(self) -> None:
        super().__init__()
        self.script: list[Reply] = []
        self.lock = threading.Lock()
        self.route("GET", r"/.*")(self.answer)
        self.route("POST", r"/.*")(self.answer)
        self.route("PATCH", r"/.*")(self.answer)

    def answer(self, request: Request) -> Reply:
        with self.lock:
            if self.script:
                return self.script.pop(0)
        return Reply(200, {"results": []})


@pytest.fixture(scope="module")
def server() -> Iterator[Scripted]:
    fake = Scripted()
    fake.start()
    yield fake
    fake.stop()


def context(name: str, store: SQLiteStore | None = None) -> AdapterContext:
    return AdapterContext(
        name=name,
        identity=IDENTITY,
        env=ENV,
        now=lambda: datetime(2026, 11, 20, 12, tzinfo=UTC),
        directory=store,
    )


OPTIONS = {"searches_per_second": 1000, "requests_per_10s": 100_000}


SHAPES = (
    "product bug: the HubSpot client trusts the shape of HubSpot's answers. A 2xx with an "
    "empty body reaches callers as None ('NoneType' object has no attribute 'get', "
    "client.py owners/list_pages/search); a batch write answered 2xx with truncated JSON or "
    "an HTML page raises requests' JSONDecodeError (client.py write_once calls "
    "response.json() unguarded); an association answer without 'from' raises KeyError "
    "(client.py:456); values of another type (a list for 'properties', a number for "
    "'results') raise AttributeError/TypeError. None is an EngageError: a sync reports them "
    "as 'plugin hubspot failed: ...' and loses nothing, but the message names no endpoint"
)


@settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # failing: no shrinking
@given(script=st.lists(replies(), min_size=1, max_size=12))
def test_any_answers_give_records_or_an_engage_error(server: Scripted, script: list[Reply]) -> None:
    """A pull against answers of any shape: engage's items, or an EngageError."""
    server.script = list(script)
    options = resolve_options(
        HubSpotSource.options, {"base_url": server.url, **OPTIONS}, "t", env=ENV
    )
    source = HubSpotSource(options, context("crm"))
    try:
        for item in source.pull(None):
            assert isinstance(item, ITEMS), item
            if isinstance(item, Touchpoint | Customer):
                event(f"a {type(item).__name__}")
    except EngageError as error:
        event(type(error).__name__)


@settings(FUZZ, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # failing: no shrinking
@given(script=st.lists(replies(), min_size=1, max_size=12))
def test_any_answers_give_push_results_or_an_engage_error(
    server: Scripted, script: list[Reply]
) -> None:
    """Creating and finding tasks against answers of any shape: a result per task (each
    with a remote id or an error), or an EngageError."""
    server.script = list(script)
    store = SQLiteStore(":memory:")
    store.write([Customer("acme.com", attributes={"hubspot_company_id": "7"})], "crm")
    options = resolve_options(
        HubSpotSink.options, {"base_url": server.url, **OPTIONS}, "t", env=ENV
    )
    sink = HubSpotSink(options, context("tasks", store))
    tasks = [task(n) for n in range(3)]
    try:
        results = list(sink.create(tasks))
        assert {r.key for r in results} <= {t.key for t in tasks}
        for result in results:
            assert isinstance(result.ok, bool)
            event("created" if result.ok else "refused")
        found = sink.find(tasks)
        assert set(found) <= {t.key for t in tasks}
    except EngageError as error:
        event(type(error).__name__)
    finally:
        store.close()


#: Answers the client refuses with an EngageError today (engage.http decodes the JSON).
REFUSED = {
    "a truncated JSON page": Reply(200, text='{"results": [{"id": "1", "prop'),
    "an HTML page with 200": Reply(
        200, text="<html><body>Bad gateway</body></html>", headers={"Content-Type": "text/html"}
    ),
}


@pytest.mark.parametrize("answer", list(REFUSED))
def test_a_read_answered_with_no_json_is_an_engage_error(server: Scripted, answer: str) -> None:
    """A page that is no JSON: an EngageError naming the request."""
    server.script = [REFUSED[answer]]
    options = resolve_options(
        HubSpotSource.options, {"base_url": server.url, **OPTIONS}, "t", env=ENV
    )
    with pytest.raises(EngageError, match="expected JSON"):
        list(HubSpotSource(options, context("crm")).pull(None))


#: Answers that once escaped as Python's own exceptions (the client now checks their shape).
MISSHAPEN = {
    "an empty 200 to the owners list": [Reply(200, text="")],
    "properties as a list": [
        Reply(200, {"results": []}),
        Reply(200, {"results": []}),
        Reply(200, {"results": [{"id": "1", "properties": []}]}),
    ],
}


@pytest.mark.parametrize("answers", list(MISSHAPEN))
def test_a_misshapen_answer_to_the_source_is_an_engage_error(
    server: Scripted, answers: str
) -> None:
    """Each of these answers makes the pull raise an EngageError naming the request."""
    server.script = list(MISSHAPEN[answers])
    options = resolve_options(
        HubSpotSource.options, {"base_url": server.url, **OPTIONS}, "t", env=ENV
    )
    try:
        with pytest.raises(EngageError):
            list(HubSpotSource(options, context("crm")).pull(None))
    finally:
        server.script = []


WRITES = {
    "an HTML page with 200": Reply(200, text="<html>ok</html>", headers={"Content-Type": "text/html"}),
    "truncated JSON with 201": Reply(201, text='{"results": [{"id'),
    "a list with 200": Reply(200, [1, 2]),
}  # fmt: skip


@pytest.mark.parametrize("answer", list(WRITES))
def test_a_batch_write_answered_with_no_json_object_is_an_engage_error(
    server: Scripted, answer: str
) -> None:
    """The tasks' batch create answered 2xx with no JSON object: an EngageError (the tasks
    stay pending and are looked for next run), not requests' JSONDecodeError."""
    client = HubSpotClient(TOKEN, token_env="HUBSPOT_TOKEN", base_url=server.url)
    server.script = [WRITES[answer]]
    try:
        with pytest.raises(EngageError):
            client.write_once("/crm/v3/objects/tasks/batch/create", {"inputs": []})
    finally:
        server.script = []
