"""Each error family says whether it is worth trying again, and the sync reads that.

``EngageError.retriable`` is the rule (:mod:`engage.errors`); :mod:`engage.retries` reads
it, and the HTTP error an adapter's error was raised ``from`` — never one it was merely
raised while handling, nor the exit code, nor the message.
"""

from __future__ import annotations

import inspect

import pytest

from engage import errors
from engage.errors import (
    EXIT_CONFIG,
    EXIT_TEMPFAIL,
    AmbiguousWrite,
    EngageError,
    Fault,
    HttpError,
    RetriableSinkError,
    RetriesExhausted,
    SinkError,
    SourceError,
)
from engage.retries import asked_wait, is_retriable, wrote_nothing

FAMILIES = [
    cls
    for _name, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, EngageError)
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda cls: cls.__name__)
def test_every_family_says_retriable_exactly_when_it_exits_75(family: type[EngageError]) -> None:
    assert "retriable" in dir(family)
    assert family.retriable is (family.exit_code == EXIT_TEMPFAIL)


def test_a_subclass_giving_one_answer_gets_the_other_to_match() -> None:
    class Busy(SourceError):
        exit_code = EXIT_TEMPFAIL

    class Throttled(SinkError):
        retriable = True

    class Broken(RetriableSinkError):
        exit_code = EXIT_CONFIG

    class NotInThisRun(RetriableSinkError):
        retriable = False

    assert (Busy.retriable, Throttled.exit_code, Broken.retriable) == (True, EXIT_TEMPFAIL, False)
    assert (NotInThisRun.retriable, NotInThisRun.exit_code) == (False, EXIT_TEMPFAIL)
    assert is_retriable(Busy("x")) and is_retriable(Throttled("x"))
    assert not is_retriable(Broken("x")) and not is_retriable(NotInThisRun("x"))


def test_an_exception_that_is_no_engage_error_is_a_bug_never_retried() -> None:
    class Odd(Exception):
        retriable = True
        exit_code = EXIT_TEMPFAIL

    assert not is_retriable(Odd()) and not is_retriable(ConnectionError())


def test_an_http_errors_own_value_stays_authoritative() -> None:
    error = HttpError("refused", 409)
    assert not is_retriable(error)
    error.retriable = True  # type: ignore[misc]  # an adapter's instance says otherwise
    assert is_retriable(error)
    assert is_retriable(RetriesExhausted("down", 503)) and not is_retriable(HttpError("no", 400))


def _raised(outer: Exception, inner: Exception, *, chained: bool) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            if chained:
                raise outer from exc
            raise outer from None
    except Exception as caught:
        return caught
    raise AssertionError("unreachable")


def test_the_rule_reads_the_error_it_was_raised_from_not_the_one_it_hid() -> None:
    refused = RetriesExhausted("POST /x: HTTP 429", 429, retry_after=7.0)
    chained = _raised(RetriableSinkError("sink: refused"), refused, chained=True)
    assert wrote_nothing(chained) and asked_wait(chained) == 7.0
    hidden = _raised(RetriableSinkError("sink: refused"), refused, chained=False)
    assert hidden.__context__ is refused  # still there, and not read
    assert not wrote_nothing(hidden) and asked_wait(hidden) is None
    lost = AmbiguousWrite("POST /x: read timed out", fault=Fault.READ_TIMEOUT)
    assert not wrote_nothing(_raised(RetriableSinkError("sink: lost"), lost, chained=True))
