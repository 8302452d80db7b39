"""The Python API: what the README promises a script can do, with no config and no network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import engage

README = Path(__file__).parent.parent / "README.md"


#: A fenced block, with the line before it (where ``<!-- not run -->`` marks one to skip).
FENCE = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>[a-z]+)\n(?P<body>.*?)^```$", re.S | re.M)


def readme_blocks(lang: str) -> list[tuple[int, str]]:
    """The README's blocks in one language, each with its line number, in order; blocks
    right after ``<!-- not run -->`` are left out."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start("body")) + 1, match.group("body"))
        for match in FENCE.finditer(text)
        if match.group("lang") == lang and "<!-- not run -->" not in match.group("before")
    ]


def test_every_python_block_of_the_readme_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each python block runs as written, in order, in an empty directory where the
    Configuration section's example is the ./engage.toml (as its reader would have it)."""
    text = README.read_text(encoding="utf-8")
    config = re.search(r"## Configuration\n.*?```toml\n(.*?)```", text, re.S)
    assert config is not None
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGAGE_CONFIG", raising=False)
    (tmp_path / "engage.toml").write_text(config.group(1), encoding="utf-8")
    blocks = readme_blocks("python")
    assert len(blocks) >= 5
    for line, body in blocks:
        try:
            exec(compile(body, f"README.md:{line}", "exec"), {"__name__": "readme"})
        except Exception as exc:
            raise AssertionError(f"the python block at README.md:{line} fails: {exc!r}") from exc


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
