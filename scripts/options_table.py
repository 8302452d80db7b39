"""Regenerate the options tables of plugin READMEs from the installed plugins.

A README marks each generated table with the adapter it documents, ``source:NAME`` or
``sink:NAME`` (the names a config's ``plugin`` key uses)::

    <!-- options:source:csv -->
    <!-- /options -->

and this script fills the block with :func:`engage.options_docs.markdown_table` of that
adapter's ``options`` (one row per key, and per key of a nested options class, such as
``lookups.<column>.path``). Without paths it updates every ``plugins/*/README.md``.

    python scripts/options_table.py                      # rewrite the stale tables
    python scripts/options_table.py --check README.md    # exit 1 when one is stale

Exit codes: 0 up to date (or updated), 1 stale (with --check), 2 a marker names no
installed adapter.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engage.options_docs import readme_markers, regenerate_readme, replace_table
from engage.plugins import Registry, make_plugin_manager

ROOT = Path(__file__).resolve().parent.parent


def adapter_specs(registry: Registry) -> dict[str, Any]:
    """Marker → options of every registered adapter: ``source:csv``, ``sink:hubspot``..."""
    specs: dict[str, Any] = {}
    for kind, table in (("source", registry.sources), ("sink", registry.sinks)):
        for name, registered in table.items():
            specs[f"{kind}:{name}"] = registered.value.options
    return specs


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """Regenerate (or with ``--check`` compare) the tables; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("paths", nargs="*", type=Path, help="READMEs (default: plugins/*)")
    args = parser.parse_args(argv)
    specs = adapter_specs(registry or Registry.from_plugins(make_plugin_manager()))
    paths = args.paths or sorted(ROOT.glob("plugins/*/README.md"))
    stale = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        unknown = [marker for marker in readme_markers(text) if marker not in specs]
        if unknown:
            known = ", ".join(sorted(specs)) or "none installed"
            print(f"{path}: no installed adapter {unknown[0]!r} (installed: {known})")
            return 2
        if args.check:
            for marker in readme_markers(text):
                if replace_table(text, marker, specs[marker]) != text:
                    print(f"{path}: the options table {marker} is stale")
                    stale += 1
        else:
            for marker in regenerate_readme(path, specs):
                print(f"{path}: regenerated the options table {marker}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
