"""Persistent state behind a small interface; SQLite is the embedded default."""

from engage.store.base import LedgerEntry, LedgerStatus, Record, Store, WriteCounts

__all__ = ["LedgerEntry", "LedgerStatus", "Record", "Store", "WriteCounts"]
