"""Scoring alone: health for every customer of an existing store, timed inside the process.

python -m benchmarks.score engage.toml
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from engage.config import Config
from engage.engine import Engine
from engage.plugins import Registry, make_plugin_manager
from engage.store.sqlite import SQLiteStore

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def main(config_path: str) -> None:
    config = Config.load(config_path)
    registry = Registry.from_plugins(make_plugin_manager(entry_points=False))
    store = SQLiteStore(config.store)
    engine = Engine(
        store,
        [r.value for r in registry.factors.values()],
        [r.value for r in registry.rules.values()],
        config.scoring,
        config.identity,
    )
    started = time.perf_counter()
    customers = sum(1 for _ in engine.health(AS_OF))
    seconds = time.perf_counter() - started
    print(
        f"scored {customers} customers in {seconds:.3f} s: {customers / seconds:,.0f} customers/s"
    )


if __name__ == "__main__":
    main(sys.argv[1])
