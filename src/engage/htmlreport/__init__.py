"""``engage report``: one self-contained HTML file with the portfolio and each customer's story.

The file needs no network (Vega's bundle, the styles, the script and the data are inside
it), opens from disk, prints, and is written atomically (a temporary file in the same
directory, renamed over the old one), so a web server publishing it never serves half a
report::

    from engage.htmlreport import write_report
    written = write_report(engine, "report.html", top=100)
    print(written.path, written.size)

Charts need the optional extra ``engage-core[report]`` (Vega-Lite through vl-convert).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from engage.engine import Engine
from engage.errors import EngageError
from engage.htmlreport.assets import INSTALL_HINT, ReportUnavailableError, check_available
from engage.htmlreport.assets import vega_bundle as _bundle
from engage.htmlreport.collect import DEFAULT_TOP, collect
from engage.htmlreport.model import Portfolio
from engage.htmlreport.page import render

__all__ = [
    "DEFAULT_TOP",
    "INSTALL_HINT",
    "ReportUnavailableError",
    "WrittenReport",
    "check_available",
    "collect",
    "render",
    "write_atomically",
    "write_report",
]


@attrs.frozen
class WrittenReport:
    """What :func:`write_report` wrote.

    Attributes:
        path: The report file.
        size: Its size in bytes.
        customers: Customers in the store (all are in the search).
        sections: Customers with their own section.
        seconds: How long collecting and writing took.
    """

    path: Path
    size: int
    customers: int
    sections: int
    seconds: float


def write_report(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    as_of: datetime | None = None,
    top: int | None = DEFAULT_TOP,
    sources: Sequence[tuple[str, str]] = (),
) -> WrittenReport:
    """Score every customer, gather the report and write it to ``path`` atomically.

    Args:
        engine: The engine over the store to report on.
        path: The HTML file to (over)write.
        as_of: The moment to report (default now).
        top: How many of the most urgent customers get their own section (None: all).
        sources: The configured sources as (name, plugin), for the header.

    Raises:
        ReportUnavailableError: the charting extra is not installed (nothing is written).
        EngageError: the file cannot be written.
    """
    started = time.perf_counter()
    bundle = _bundle()  # before any work: a missing extra fails at once
    portfolio: Portfolio = collect(engine, as_of, top=top, sources=sources)
    target = Path(path)
    size = write_atomically(target, render(portfolio, bundle))
    return WrittenReport(
        target, size, portfolio.customers, len(portfolio.details), time.perf_counter() - started
    )


def write_atomically(path: Path, pieces: Iterable[str]) -> int:
    """Write text to ``path`` through a temporary file renamed over it; returns the bytes.

    Raises:
        EngageError: the directory or the file cannot be written (the old file stays).
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise EngageError(f"{path}: cannot write the report ({exc})") from exc
    size = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for piece in pieces:
                handle.write(piece)
                size += len(piece.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # a web server reads it; mkstemp makes it private
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise EngageError(f"{path}: cannot write the report ({exc})") from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size
