"""Looking for a secret where it must never be: reprs, messages, errors, logs and cursors."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator


def error_texts(error: BaseException) -> Iterator[str]:
    """Every text an error shows: ``str`` and ``repr`` of it and of each error it was raised
    from or during, and the formatted traceback."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (repr(arg) for arg in current.args)
        current = current.__cause__ or current.__context__
    yield "".join(traceback.format_exception(error))


def log_texts(records: Iterable[logging.LogRecord]) -> Iterator[str]:
    """What each log record would print: its message, and its exception's traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        yield formatter.format(record)


def find_secret(secret: str, texts: Iterable[tuple[str, str]]) -> list[str]:
    """Where ``secret`` shows in ``texts`` (pairs of where and text): the wheres, with a
    short excerpt around it, secret masked."""
    found = []
    for where, text in texts:
        at = text.find(secret)
        if at >= 0:
            excerpt = text[max(0, at - 40) : at + len(secret) + 40].replace(secret, "<SECRET>")
            found.append(f"{where}: ...{excerpt}...")
    return found
