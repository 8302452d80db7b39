"""The rows of a CSV task file: its columns, a task's row, a row marked cleared or upgraded.

engage writes ``status`` and ``cleared_at`` last, so a row of its own cut short by a crash
always has fewer fields than the header (``cleared_at`` of a new row is empty).
"""

from __future__ import annotations

from collections.abc import Sequence

from engage.models import Task
from engage_csv import taskfile
from engage_csv.taskfile import Record

#: The file's columns, in order, for a new file.
COLUMNS: tuple[str, ...] = (
    "key",
    "customer",
    "rule",
    "title",
    "due",
    "priority",
    "kind",
    "owner",
    "contact",
    "reason",
    "body",
    "created_at",
    "status",
    "cleared_at",
)
_OWN_HEADER = list(COLUMNS)
#: The columns engage keeps up to date; a file without them is upgraded.
STATUS_COLUMNS: tuple[str, ...] = ("status", "cleared_at")
OPEN = "open"
CLEARED = "cleared"


class Columns:
    """Where the key and status columns of a header are, and how a row is marked cleared."""

    def __init__(self, header: list[str], wanted: set[str], moment: str) -> None:
        self.width = len(header)
        self.wanted = wanted
        self.moment = moment
        self.key_column = header.index("key")
        self._status = header.index("status")
        self._cleared_at = header.index("cleared_at")

    def key(self, record: Record) -> str:
        return field(record.fields, self.key_column)

    def is_open(self, record: Record) -> bool:
        return field(record.fields, self._status).strip().lower() in ("", OPEN)

    def clear(self, record: Record) -> str:
        """The record's text, marked cleared when it is an open row of a wanted key."""
        if record.start == 0 or self.key(record) not in self.wanted or not self.is_open(record):
            return record.raw
        fields = record.fields + [""] * (self.width - len(record.fields))
        fields[self._status] = CLEARED
        fields[self._cleared_at] = self.moment
        return taskfile.encode_row(fields)


def field(fields: list[str], at: int) -> str:
    return fields[at] if at < len(fields) else ""


def whole_without_line_ending(record: Record, header: list[str]) -> bool:
    """A last row with every column and no open quote lacks only its line ending.

    engage writes ``cleared_at`` last and empty, so a row it wrote that was cut short has
    fewer fields than the header; a spreadsheet may save the last row without a line ending.
    """
    return not record.open_quote and len(record.fields) >= len(header)


def task_row(task: Task, created_at: str, header: Sequence[str]) -> list[str]:
    """The task's row in the order of ``header``; columns engage does not know are empty."""
    values = [
        task.key,
        task.customer,
        task.rule,
        task.title,
        task.due.isoformat(),
        task.priority.value,
        task.kind.value,
        task.owner or "",
        task.contact_email or "",
        task.reason,
        task.body,
        created_at,
        OPEN,
        "",  # cleared_at
    ]
    if header == _OWN_HEADER:  # a file engage created: its columns in its order
        return values
    by_name = dict(zip(COLUMNS, values, strict=True))
    return [by_name.get(name, "") for name in header]


def upgraded(record: Record, old: Sequence[str], missing: Sequence[str]) -> str:
    """The record with the ``missing`` status columns added after the ``old`` header's
    columns: the header gets their names, a row ``open`` (a blank line stays blank)."""
    if record.start == 0:
        bom = taskfile.BOM if record.raw.startswith(taskfile.BOM) else ""
        return bom + taskfile.encode_row([*old, *missing])
    if not record.fields:
        return record.raw
    values = [OPEN if name == "status" else "" for name in missing]
    fields = record.fields + [""] * (len(old) - len(record.fields))
    return taskfile.encode_row([*fields[: len(old)], *values, *fields[len(old) :]])
