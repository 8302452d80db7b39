"""post_json(..., once=True, expect=...): a 2xx without what a create answers may have been
written, against a loopback service that really creates."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from engage.errors import EXIT_TEMPFAIL, exit_code_of
from engage.http import (
    AmbiguousWrite,
    Answer,
    Dedupe,
    Fault,
    HttpClient,
    RetryPolicy,
    UnexpectedAnswer,
    create_once,
)
from engage.testing import FakeServer, Reply, Request

RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)


class Notes(FakeServer):
    """``POST /notes`` creates a note and answers ``{"id": ..., "note": {"id": ...}}``;
    ``answer`` replaces the next answers' bodies (created all the same: a proxy or a bug
    answering the wrong body). ``GET /notes`` lists ``{"notes": [{"id", "key"}]}``."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: dict[str, str] = {}  # id -> key
        self.answer: list[Any] = []
        self.guard = threading.Lock()
        self.route("POST", r"/notes")(self.create)
        self.route("GET", r"/notes")(self.list)

    def create(self, request: Request) -> Reply:
        with self.guard:
            made = f"n{len(self.notes) + 1}"
            self.notes[made] = request.json()["key"]
            if self.answer:
                body = self.answer.pop(0)
                return Reply(201, text=body) if isinstance(body, str) else Reply(201, body)
        return Reply(201, {"id": made, "note": {"id": made, "version": 1}})

    def list(self, request: Request) -> Reply:
        return Reply(200, {"notes": [{"id": i, "key": k} for i, k in self.notes.items()]})


@pytest.fixture
def notes() -> Iterator[Notes]:
    server = Notes()
    with server:
        yield server


def http(notes: Notes) -> HttpClient:
    return HttpClient(notes.url, name="Notes", retry=RETRY, sleep=lambda s: None)


def posts(notes: Notes) -> int:
    return sum(1 for r in notes.requests if r.method == "POST")


def test_an_answer_with_the_expected_fields_is_returned(notes: Notes) -> None:
    """The id is there, as a string; a dotted name reads a nested object."""
    answer = http(notes).post_json(
        "/notes", {"key": "k1"}, once=True, expect={"id": str, "note.version": int}
    )
    assert answer["id"] == "n1" and answer["note"]["id"] == "n1"
    assert http(notes).post_json("/notes", {"key": "k2"}, once=True, expect="id")["id"] == "n2"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "ok"},  # no id at all
        {"id": ""},
        {"id": None},
        {"id": 7},  # an id of another type than asked
        {"id": True},
        [{"id": "n1"}],  # no JSON object
        "<html>created</html>",  # no JSON
    ],
)
def test_a_2xx_without_the_new_id_may_have_been_written(notes: Notes, body: Any) -> None:
    """Sent once; the note exists, the answer does not say so: AmbiguousWrite, temporary,
    with the answer's fault, and nothing sent twice."""
    notes.answer.append(body)
    with pytest.raises(AmbiguousWrite, match="may have been written") as info:
        http(notes).post_json("/notes", {"key": "k1"}, once=True, expect={"id": str})
    assert info.value.fault is Fault.ANSWER
    assert info.value.endpoint == "POST /notes"
    assert exit_code_of(info.value) == EXIT_TEMPFAIL
    assert posts(notes) == 1 and list(notes.notes.values()) == ["k1"]


def test_the_message_names_the_missing_fields(notes: Notes) -> None:
    """``answered 201 without 'id'``: what was missing, not a KeyError."""
    notes.answer.append({"note": {}})
    with pytest.raises(AmbiguousWrite, match=r"POST /notes answered 201 without 'id', 'note.id'"):
        http(notes).post_json("/notes", {"key": "k"}, once=True, expect=["id", "note.id"])


def test_without_once_the_same_answer_is_an_unexpected_answer(notes: Notes) -> None:
    """A read (or an idempotent write) with a body of the wrong shape: UnexpectedAnswer,
    never called ambiguous."""
    notes.answer.append({"status": "ok"})
    with pytest.raises(UnexpectedAnswer) as info:
        http(notes).post_json("/notes", {"key": "k"}, expect={"id": str})
    assert not isinstance(info.value, AmbiguousWrite)
    with pytest.raises(UnexpectedAnswer, match="answered 200 without 'missing'"):
        http(notes).get_json("/notes", expect=["notes", "missing"])
    assert http(notes).get_json("/notes", expect=())["notes"]


def test_a_function_reads_the_answer_and_its_errors_count_as_the_wrong_shape(
    notes: Notes,
) -> None:
    """A function of the Answer returns what post_json returns; a KeyError it raises on a
    body of another shape makes the create ambiguous."""

    def note_id(answer: Answer) -> str:
        assert (answer.status, answer.endpoint) == (201, "POST /notes")
        return str(answer.body["note"]["id"])

    client = http(notes)
    assert client.post_json("/notes", {"key": "k1"}, once=True, expect=note_id) == "n1"
    notes.answer.append({"id": "n2"})
    with pytest.raises(AmbiguousWrite, match=r"another shape \(KeyError: 'note'\)"):
        client.post_json("/notes", {"key": "k2"}, once=True, expect=note_id)


def test_create_once_looks_and_finds_what_an_answer_without_an_id_made(notes: Notes) -> None:
    """With create_once (Dedupe.LOOK) the ambiguous create is looked for and found: one
    note, its real id, no second POST."""
    client = http(notes)
    notes.answer.append({"status": "accepted"})

    def send(keys: Sequence[str]) -> str:
        answer = client.post_json("/notes", {"key": keys[0]}, once=True, expect={"id": str})
        return str(answer["id"])

    def find(keys: Sequence[str]) -> Mapping[str, str]:
        listed = client.get_json("/notes", expect=["notes"])["notes"]
        return {n["key"]: n["id"] for n in listed if n["key"] in keys}

    made = create_once(["k1"], send, find, dedupe=Dedupe.LOOK, retry=RETRY, sleep=lambda s: None)
    assert (made.answer, dict(made.found)) == (None, {"k1": "n1"})
    assert posts(notes) == 1 and notes.notes == {"n1": "k1"}
