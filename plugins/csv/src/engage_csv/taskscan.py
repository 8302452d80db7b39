"""The rows of a task file with given keys, found in its bytes without parsing every row.

Marking a few tasks cleared in a file of many thousand changes only their rows: :func:`edit`
copies everything else as bytes and hands the rows of the wanted keys, parsed, to a function
that returns their new text.

Where a record ends hangs on every quote before it (a body spans lines). :func:`edit` reads
the file with a regular expression of the records :mod:`csv` writes: fields either without
quotes or wholly quoted (a quote inside doubled), separated by commas, each record ended by
CRLF, LF or CR. Every record of such a file ends where the :mod:`csv` module ends it, and its
key field is where :mod:`csv` finds it. From the first record that is anything else (``5"
screen`` typed in an unquoted cell, text after a closing quote, a quote left open at the end)
or longer than the :mod:`csv` field limit, the rest of the file is parsed whole
(:func:`engage_csv.taskfile.records`, which reads anything :mod:`csv` reads, from that
record's start on), every record handed to the function, as a rewrite did before.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from engage_csv import taskfile
from engage_csv.taskfile import Record

#: How much of the file is read at a time.
_BLOCK = 1 << 22
_FIELD = rb'(?:"[^"]*+(?:""[^"]*+)*+"|[^",\r\n]*+)'


def edit(
    path: Path, column: int, keys: Collection[bytes], change: Callable[[Record], str]
) -> Iterator[bytes]:
    """The file's bytes, each record whose field at ``column`` is one of ``keys`` replaced.

    Every other byte is yielded as it is. A record with a wanted key is parsed as
    :func:`~engage_csv.taskfile.records` parses it (the same fields, text and offsets), and
    ``change`` returns its new text; from a record the scan cannot vouch for on, every
    record goes through ``change`` (which returns the text of others as it is). A missing
    file yields nothing.

    Args:
        path: The task file.
        column: Where the key is in a record (a record with fewer fields has ``""``).
        keys: The wanted keys, encoded as the file is (UTF-8, other bytes as they are).
        change: The new text of a wanted key's record.

    Raises:
        OSError: the file cannot be read.
        csv.Error: a record from there on cannot be parsed (a field over the size limit).
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        limit = csv.field_size_limit()
        base = 0  # the file offset of ``data[0]``, always a record's start
        data = b""
        while True:
            block = handle.read(_BLOCK)
            final = not block
            data += block
            match = _pattern(column, final).match
            start = copied = 0
            while start < len(data):
                found = match(data, start)
                # a record that reaches the block's end may go on (a CR's LF, more fields)
                if found is None or (found.end() == len(data) and not final):
                    if not final and len(data) - start <= limit:
                        break
                    found = None  # not a record csv writes, or no end in sight
                if found is None or found.end() - start > limit:
                    yield data[copied:start]
                    for rest in taskfile.records(path, base + start):
                        yield change(rest).encode(taskfile.ENCODING, taskfile.ERRORS)
                    return
                end = found.end()
                if _unquoted(found.group(1)) in keys:
                    yield data[copied:start]
                    record = _parsed(data, start, end, base)
                    yield change(record).encode(taskfile.ENCODING, taskfile.ERRORS)
                    copied = end
                start = end
            yield data[copied:start]
            if final:
                return
            base += start
            data = data[start:]


@functools.lru_cache(maxsize=8)
def _pattern(column: int, final: bool) -> re.Pattern[bytes]:
    """One record, its field at ``column`` as group 1 (None when it has fewer fields); at
    the end of the file the last record may lack its line ending."""
    end = rb"(?:\r\n|\r|\n|\Z)" if final else rb"(?:\r\n|\r|\n)"
    whole = rb"(?:%s,){%d}(%s)(?:,%s)*+%s" % (_FIELD, column, _FIELD, _FIELD, end)
    if column == 0:
        return re.compile(whole)
    short = rb"%s(?:,%s){0,%d}%s" % (_FIELD, _FIELD, column - 1, end)
    return re.compile(rb"%s|%s" % (whole, short))


def _unquoted(field: bytes | None) -> bytes:
    if field is None:
        return b""
    if field.startswith(b'"'):
        return field[1:-1].replace(b'""', b'"')
    return field


def _parsed(data: bytes, start: int, end: int, base: int) -> Record:
    """The record ``data[start:end]`` as :func:`~engage_csv.taskfile.records` gives it."""
    raw = data[start:end].decode(taskfile.ENCODING, taskfile.ERRORS)
    text = raw.removeprefix(taskfile.BOM) if base + start == 0 else raw
    fields = next(csv.reader(io.StringIO(text, newline="")), [])
    return Record(fields, raw, base + start, base + end, False)


def encoded(keys: Collection[str]) -> set[bytes]:
    """The keys as a task file's bytes spell them; a key no field can hold is left out (one
    with a surrogate the file's decoding would not give back)."""
    spelled: set[bytes] = set()
    for key in keys:
        try:
            raw = key.encode(taskfile.ENCODING, taskfile.ERRORS)
        except UnicodeEncodeError:
            continue
        if raw.decode(taskfile.ENCODING, taskfile.ERRORS) == key:
            spelled.add(raw)
    return spelled
