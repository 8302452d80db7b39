"""Running a source's pull in a test and looking at what it yielded, by kind."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import attrs

from engage.adapters import Checkpoint, Notice, Problem, Retire, Skipped, Source, SourceItem
from engage.models import Contact, Customer, Owner, Touchpoint

T = TypeVar("T")


def _as_list(items: Iterable[SourceItem]) -> list[SourceItem]:
    return list(items)


@attrs.frozen
class Pull:
    """Everything one pull yielded, in order, with views by kind.

    Build one with :meth:`run` (a pull to its end) or :meth:`until_error` (a pull that must
    fail)::

        pulled = Pull.run(source)
        assert [t.external_id for t in pulled.touchpoints] == ["a1", "a2"]
        again = Pull.run(source, pulled.cursor)  # resume from the last checkpoint

    Attributes:
        items: What the pull yielded, in order.
        start: The cursor the pull started from (None: a first pull).
    """

    items: list[SourceItem] = attrs.field(converter=_as_list)
    start: str | None = None

    @classmethod
    def run(cls, source: Source, cursor: str | None = None) -> Pull:
        """Pull ``source`` from ``cursor`` to its end."""
        return cls(list(source.pull(cursor)), cursor)

    @classmethod
    def until_error(cls, source: Source, cursor: str | None = None) -> tuple[Pull, Exception]:
        """Pull ``source`` until it raises: what it yielded before, and the error.

        Raises:
            AssertionError: the pull ended without an error.
        """
        items: list[SourceItem] = []
        try:
            for item in source.pull(cursor):
                items.append(item)
        except Exception as exc:
            return cls(items, cursor), exc
        raise AssertionError("the pull did not fail")

    def of(self, kind: type[T]) -> list[T]:
        """The items of one kind, in order (``pulled.of(Retire)``)."""
        return [item for item in self.items if isinstance(item, kind)]

    @property
    def touchpoints(self) -> list[Touchpoint]:
        """The touchpoints, in order."""
        return self.of(Touchpoint)

    @property
    def customers(self) -> list[Customer]:
        """The customers, in order."""
        return self.of(Customer)

    @property
    def contacts(self) -> list[Contact]:
        """The contacts, in order."""
        return self.of(Contact)

    @property
    def owners(self) -> list[Owner]:
        """The owners, in order."""
        return self.of(Owner)

    @property
    def retired(self) -> list[Retire]:
        """What the source said no longer exists, in order."""
        return self.of(Retire)

    @property
    def problems(self) -> list[str]:
        """The messages of the bad records skipped, in order."""
        return [item.message for item in self.of(Problem)]

    @property
    def notices(self) -> list[str]:
        """The messages of the notices, in order."""
        return [item.message for item in self.of(Notice)]

    @property
    def skipped(self) -> dict[str, int]:
        """How many input records were passed over on purpose, by why."""
        counts: dict[str, int] = {}
        for item in self.of(Skipped):
            counts[item.what] = counts.get(item.what, 0) + item.count
        return counts

    @property
    def checkpoints(self) -> list[str]:
        """The checkpoints' cursors, in order."""
        return [item.cursor for item in self.of(Checkpoint)]

    @property
    def cursor(self) -> str | None:
        """The cursor to resume from: the last checkpoint's, else the one the pull started from."""
        checkpoints = self.checkpoints
        return checkpoints[-1] if checkpoints else self.start

    @property
    def external_ids(self) -> list[str]:
        """The touchpoints' external ids, in order (a repeated id shows twice)."""
        return [touchpoint.external_id for touchpoint in self.touchpoints]

    def touchpoint(self, external_id: str) -> Touchpoint:
        """The touchpoint with this external id.

        Raises:
            KeyError: the pull yielded no touchpoint with that id.
        """
        for touchpoint in self.touchpoints:
            if touchpoint.external_id == external_id:
                return touchpoint
        raise KeyError(external_id)

    def before(self, checkpoint: int) -> Pull:
        """What the pull yielded up to and including its ``checkpoint``-th checkpoint (from 0):
        what a sync has committed when that checkpoint is the last one it saw."""
        seen = -1
        for position, item in enumerate(self.items):
            if isinstance(item, Checkpoint):
                seen += 1
                if seen == checkpoint:
                    return Pull(self.items[: position + 1], self.start)
        raise IndexError(f"the pull has {seen + 1} checkpoint(s), not {checkpoint + 1}")

    def __iter__(self) -> Iterator[SourceItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def ids(touchpoints: Iterable[Touchpoint]) -> list[str]:
    """External ids of ``touchpoints``, sorted."""
    return sorted(touchpoint.external_id for touchpoint in touchpoints)


def describe(item: Any) -> str:
    """One short line for an item in an assertion message."""
    text = repr(item)
    return text if len(text) <= 160 else text[:157] + "..."
