"""The outer loop of :meth:`~engage.store.base.Store.write`, the same in every backend: records
go to the backend in chunks, a Retire after every record before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from engage.adapters import Retire
from engage.models import Contact, Customer, Owner, Touchpoint
from engage.store.base import Record, WriteCounts
from engage.store.touchpoint_rows import TouchpointRows

#: Records (or retires) per chunk in :meth:`WriteLoopMixin.write`.
CHUNK = 1000


class WriteLoopMixin:
    """:meth:`write` over the backend's ``_write_batch`` and ``_retire``."""

    if TYPE_CHECKING:

        def _errors(self) -> AbstractContextManager[None]: ...

        def transaction(self) -> AbstractContextManager[None]: ...

        def _write_batch(self, batch: list[Record | TouchpointRows]) -> WriteCounts: ...

        def _retire(self, retires: list[Retire], source: str) -> WriteCounts: ...

    def write(
        self, records: Iterable[Record | TouchpointRows | Retire], source: str
    ) -> WriteCounts:
        """Upsert records in chunks (inside the caller's transaction, or a new one).

        Touchpoints are keyed by their own (source, external_id); a ``Retire`` of kind
        ``touchpoint`` names an external id of ``source``. Within a chunk, owners, customers
        and contacts are written before touchpoints (the result is the same as one at a time);
        a Retire applies after every record before it. Records a touchpoint implies (its
        customer, owner, contact) are created when unknown but not counted. A record whose
        customer key is only a name (or a source's private id) lands on the customer of that
        name (:mod:`engage.store.sqlite_names`); a name of several customers is reported in
        the counts' ``notes``. A :class:`~engage.store.touchpoint_rows.TouchpointRows` is
        written as the touchpoints it holds.
        """
        counts = WriteCounts()
        batch: list[Record | TouchpointRows] = []
        size = 0  # records in the batch, a run of rows counting its rows
        retires: list[Retire] = []
        with self._errors(), self.transaction():
            for item in records:
                if isinstance(item, Retire):
                    if batch:
                        counts += self._write_batch(batch)
                        batch, size = [], 0
                    retires.append(item)
                    if len(retires) >= CHUNK:
                        counts += self._retire(retires, source)
                        retires = []
                elif isinstance(item, Customer | Contact | Owner | Touchpoint | TouchpointRows):
                    if retires:
                        counts += self._retire(retires, source)
                        retires = []
                    batch.append(item)
                    size += len(item) if type(item) is TouchpointRows else 1
                    if size >= CHUNK:
                        counts += self._write_batch(batch)
                        batch, size = [], 0
                else:
                    raise TypeError(
                        f"{type(self).__name__}.write: cannot store {type(item).__name__}"
                    )
            if batch:
                counts += self._write_batch(batch)
            if retires:
                counts += self._retire(retires, source)
        return counts
