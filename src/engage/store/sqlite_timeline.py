"""What ``engage timeline`` reads from the SQLite store: one customer's touchpoints, and the
customers' keys and names to find a customer by.

Mixed into :class:`~engage.store.sqlite.SQLiteStore`. The timeline walks the customer index
(customer, occurred_at), so it costs the customer's own touchpoints, not the table's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING


class TimelineMixin:
    """Timeline reads over the store's connection (``timeline`` is shared:
    :class:`~engage.store.shared_reads.SharedReadsMixin`)."""

    if TYPE_CHECKING:

        @property
        def conn(self) -> sqlite3.Connection: ...

        def _errors(self) -> AbstractContextManager[None]: ...

    def customer_names(self) -> Iterator[tuple[str, str | None]]:
        """Every customer's key and name, in key order."""
        with self._errors():
            yield from self.conn.execute("SELECT key, name FROM customers ORDER BY key")
