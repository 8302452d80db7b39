"""``engage.open``: the engine a config file describes, in one line.

The command line and a script see the same thing: the config's store, the installed plugins'
factors and rules (``ENGAGE_LOAD_PLUGINS`` and ``ENGAGE_DISABLE_PLUGINS`` apply), and the
config's segments, weights and domains::

    import engage

    with engage.open("engage.toml") as book:
        for health in book.health():
            print(health.customer, health.score, health.band)
"""

from __future__ import annotations

import os

from engage.engine import Engine

__all__ = ["open"]


def open(config: str | os.PathLike[str] | None = None) -> Engine:
    """The engine on the store the config file describes, with its plugins and settings.

    Args:
        config: The config file; None looks where the command line does: ``$ENGAGE_CONFIG``,
            else ``./engage.toml``.

    Returns:
        An :class:`~engage.Engine` that owns the store: close it with :meth:`Engine.close`,
        or use it in a ``with`` block. The store is created if it does not exist yet.

    Raises:
        ConfigError: the file is missing or wrong (naming the key), or its weights name a
            factor no plugin registers.
        PluginLoadError: an installed plugin fails to load.
        StoreError: the store cannot be opened.
    """
    from engage.config import Config, find_config_path
    from engage.plugins import Registry, make_plugin_manager
    from engage.store import open_store

    path = find_config_path(None if config is None else os.fspath(config))
    loaded = Config.load(path)
    registry = Registry.from_plugins(make_plugin_manager())
    loaded.check_factors(registry.factors)  # before the store is opened (or created)
    store = open_store(loaded.store)
    try:
        return Engine.from_config(store, loaded, registry)
    except BaseException:
        store.close()
        raise
