"""The Python API: what the README promises a script can do, with no config and no network."""

from __future__ import annotations

import re
from pathlib import Path

import engage

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_example_runs() -> None:
    """The README's Python example runs as written."""
    block = re.search(r"## Python\n.*?```python\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    exec(compile(block.group(1), "README.md", "exec"), {})


def test_a_script_scores_and_plans_in_a_few_lines() -> None:
    """Touchpoints in, health with reasons and tasks out."""
    book = engage.Engine.in_memory(internal_domains=["ourco.com"])
    book.touch("jane@acme.com", "2026-01-10T10:00Z", "meeting", "outbound", owner="carol@ourco.com")
    book.touch("jane@acme.com", "2026-02-20T09:00Z", "email", "inbound")
    book.touch("jo@gmail.com", "2026-02-27T09:00Z", "email", "inbound")
    as_of = engage.parse_moment("2026-03-01T09:00Z")
    reports = {h.customer: h for h in book.health(as_of=as_of)}
    assert set(reports) == {"acme.com", "jo@gmail.com"}
    acme = reports["acme.com"]
    assert 0 <= acme.score <= 100
    assert all(f.explain for f in acme.factors)
    rules = {(t.customer, t.rule) for t in book.tasks(as_of=as_of)}
    assert ("acme.com", "unanswered") in rules
    assert ("jo@gmail.com", "welcome") in rules


def test_touching_our_own_address_is_refused() -> None:
    """A script cannot make one of our own people a customer by mistake."""
    book = engage.Engine.in_memory(internal_domains=["ourco.com"])
    try:
        book.touch("carol@ourco.com", "2026-01-10T10:00Z")
    except engage.ValidationError as exc:
        assert "not a customer's email address" in str(exc)
    else:
        raise AssertionError("expected a ValidationError")


def test_public_names_are_exported() -> None:
    """Everything in engage.__all__ is importable from engage."""
    for name in engage.__all__:
        assert hasattr(engage, name), name
