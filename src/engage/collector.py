"""Python's garbage collector, tuned for the ``engage`` command's own process.

A sync allocates millions of short-lived objects (rows, touchpoints, facts, tasks) that form
no reference cycles, and the collector's default thresholds run a collection every 700 of
them: at a million touchpoints the sync's own process ran 1,887 collections that freed
3,004 objects in all, 0.7-1.0 s of the process every other step waits on. Its children
(the file read ahead, the planning) inherit the same settings when they are forked.

:func:`tune` is called by the command line only: a script that imports engage keeps its own
process's settings (it may call :func:`tune` itself).
"""

from __future__ import annotations

import gc

#: Allocations between two collections of the youngest generation (Python's default: 700).
YOUNG = 50_000
#: Young collections between two of the middle generation, and middle ones between two
#: full ones (Python's defaults: 10 and 10).
MIDDLE = OLD = 20


def tune() -> None:
    """Collect less often, and never look again at what exists now (the modules loaded, the
    command's definitions): :func:`gc.freeze` also keeps a forked child from copying the
    pages those objects lie on when a collection would touch them."""
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
