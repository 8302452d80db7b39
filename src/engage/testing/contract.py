"""What the source and sink contracts share: known gaps marked as strict expected failures,
and the way an adapter under test is named and built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from engage.adapters import AdapterContext
from engage.identity import Identity
from engage.testing.builders import NOW, OURS, adapter_class, adapter_context


class Contract:
    """Base of :class:`~engage.testing.SourceContract` and :class:`~engage.testing.SinkContract`.

    Attributes:
        expected_failures: Checks this adapter is known to fail today, by test name
            (``"test_a_bad_saved_cursor_starts_over_with_a_notice"``, or one parameter of
            it: ``"...[garbage]"``), each with the reason. They run as
            ``xfail(strict=True)``: while the gap stays they are reported as expected
            failures; the day the adapter keeps the promise they fail as "passed
            unexpectedly", so the entry is removed and the check guards it from then on.
    """

    expected_failures: ClassVar[Mapping[str, str]] = {}

    @pytest.fixture(autouse=True)
    def _engage_expected_failure(self, request: pytest.FixtureRequest) -> None:
        node = request.node
        reason = self.expected_failures.get(node.name) or self.expected_failures.get(
            getattr(node, "originalname", node.name)
        )
        if reason:
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))

    def test_expected_failures_name_checks_of_this_contract(self) -> None:
        """Every key of ``expected_failures`` names a check of this contract (a typo would
        otherwise leave the check failing, or a removed one would hide nothing)."""
        checks = {name for name in dir(type(self)) if name.startswith("test_")}
        unknown = [key for key in self.expected_failures if key.split("[")[0] not in checks]
        assert not unknown, (
            f"expected_failures names no check of {type(self).__name__}: {unknown} "
            f"(checks: {sorted(checks)})"
        )


@attrs.frozen(kw_only=True)
class AdapterCase:
    """How to build the adapter under test, as engage would: the common part of
    :class:`~engage.testing.SourceCase` and :class:`~engage.testing.SinkCase`.

    Attributes:
        adapter: The plugin name it is installed under (found through the ``engage``
            entry points, which tests the entry point too) or its class.
        options: Its config table's keys, as a person would write them (checked against
            its ``options`` spec and completed with defaults, as ``engage sync`` does).
        name: The config table's name (``[sources.NAME]``); touchpoints carry it.
        base_dir: Where relative paths in options are resolved (the config's directory).
        env: The environment the adapter reads secrets from (``token_env`` names a key).
        identity: Our domains; addresses there are colleagues.
        now: The clock the adapter is given (default: a fixed Monday, ``NOW``).
        secret: A secret planted in ``env`` or ``options`` (a token, a password): it must
            never show in a repr, a yielded item, a cursor, an error or a log line. None
            when the adapter takes no secret.
        fail: Makes the next use of the adapter fail (scripts a fault on your fake, say a
            401 or a closed port), to check what its errors show. None to skip that check.
        build: Builds the adapter from the checked options and the context when it needs
            more than ``cls(options, context)`` (a test-only retry policy, say).
    """

    adapter: str | type[Any]
    options: Mapping[str, Any] = attrs.field(factory=dict)
    name: str = "contract"
    base_dir: Path | None = None
    env: Mapping[str, str] = attrs.field(factory=dict)
    identity: Identity = OURS
    now: Callable[[], datetime] = lambda: NOW
    secret: str | None = None
    fail: Callable[[], None] | None = None
    build: Callable[[Mapping[str, Any], AdapterContext], Any] | None = None

    @property
    def plugin(self) -> str:
        """The plugin's name for messages: the name given, else the class's."""
        return self.adapter if isinstance(self.adapter, str) else self.adapter.__name__

    def context(self, directory: Any = None) -> AdapterContext:
        """A fresh context for the adapter, as engage gives it."""
        return adapter_context(
            self.name,
            base_dir=self.base_dir,
            identity=self.identity,
            env=self.env,
            now=self.now,
            directory=directory,
        )

    def _build(self, kind: str, directory: Any = None) -> Any:
        from engage.adapters import resolve_options

        cls = adapter_class(self.adapter, kind)
        context = self.context(directory)
        options = resolve_options(cls.options, self.options, context.table(kind), env=context.env)
        return cls(options, context) if self.build is None else self.build(options, context)
