"""Adapter options as documentation: ``engage plugins --json`` and the README tables.

Both forms of options (a mapping of :class:`~engage.adapters.Option`, or a typed options
class of :mod:`engage.options`) are described alike: per key its type as written
(``list[str]``), default, whether it is required, help, range, environment variable and
whether it is secret. A secret's value is never shown, only where it comes from
(``from $HUBSPOT_TOKEN``).

A key holding a nested options class is followed by its class's keys, named by where they
are written: ``retry.attempts`` for ``retry: Retry`` (or ``Retry | None``),
``lookups.<column>.path`` for ``lookups: dict[str, Lookup]`` (``<column>`` is the
option's ``key_name``), ``steps[].name`` for ``steps: list[Step]``. In the Markdown table
they are rows of their own; in ``engage plugins --json`` the key's description carries
them under ``nested``: ``[{"path": "lookups.<column>", "keys": {"path": {...}, ...}}]``.

A plugin README keeps a generated table between two markers::

    <!-- options:source:csv -->
    | key | type | default | meaning |
    ...
    <!-- /options -->

``python scripts/options_table.py plugins/csv/README.md`` regenerates every such block from
the installed plugins, and a plugin's tests call :func:`assert_readme_table_current` so the
README cannot go stale.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from engage.options_fields import OptionInfo, is_options_class, option_fields
from engage.options_types import type_name

if TYPE_CHECKING:
    from engage.adapters import OptionsSpec

#: The command that regenerates README tables, named when one is stale.
REGENERATE = "python scripts/options_table.py"

_END = "<!-- /options -->"
_FACTORY: type[Any] = type(attrs.Factory(list))
_BLOCK = re.compile(r"<!-- options:(?P<marker>[^\s>]+) -->(?P<body>.*?)<!-- /options -->", re.S)


@attrs.frozen
class KeyDoc:
    """One config key as documented.

    Attributes:
        key: The key in the config table.
        type: Its type as written (``list[str]``, ``str | None``).
        default: The default as JSON-ready data (None when required or secret).
        required: The key must be given (in the table or through ``env``).
        help: One line saying what it is for.
        minimum: For numbers, the smallest value accepted.
        maximum: For numbers, the largest value accepted.
        env: The environment variable giving the value when the table does not.
        secret: The value is never shown.
        nested: For a key holding nested options classes: per class, where its keys are
            written (``lookups.<column>``) and their documentation.
    """

    key: str
    type: str
    default: Any
    required: bool
    help: str
    minimum: float | None = None
    maximum: float | None = None
    env: str | None = None
    secret: bool = False
    nested: tuple[tuple[str, tuple[KeyDoc, ...]], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The key as ``engage plugins --json`` shows it (``nested`` only for a key holding
        nested options classes)."""
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        described = {
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "help": self.help,
            "range": bounds if self.minimum is not None or self.maximum is not None else None,
            "env": self.env,
            "secret": self.secret,
        }
        if self.nested:
            described["nested"] = [
                {"path": path, "keys": {doc.key: doc.as_json() for doc in docs}}
                for path, docs in self.nested
            ]
        return described


def key_docs(spec: OptionsSpec) -> list[KeyDoc]:
    """Every key of an adapter's options, documented, in declared order (a key holding
    nested options classes carries their keys in :attr:`KeyDoc.nested`)."""
    if is_options_class(spec):
        return _class_docs(spec, "", frozenset({spec}))
    return [
        KeyDoc(
            key=key,
            type=type_name(option.type),
            default=None if option.required else _jsonable(option.default),
            required=option.required,
            help=option.help,
            minimum=option.minimum,
            maximum=option.maximum,
        )
        for key, option in spec.items()
    ]


def _class_docs(cls: type, prefix: str, seen: frozenset[type]) -> list[KeyDoc]:
    """The keys of ``cls`` written under ``prefix``; a class already being documented
    further up (a recursive declaration) is not expanded again."""
    docs = []
    for key, field, info in option_fields(cls):
        written = f"{prefix}.{key}" if prefix else key
        nested = tuple(
            (path, tuple(_class_docs(inner, path, seen | {inner})))
            for path, inner in nested_classes(field.type, written, info.key_name)
            if inner not in seen
        )
        docs.append(_field_doc(key, field, info, nested))
    return docs


def nested_classes(hint: Any, written: str, key_name: str = "name") -> list[tuple[str, type]]:
    """The options classes a key of type ``hint`` holds, each with where its keys are
    written: ``retry`` for ``Retry`` or ``Retry | None``, ``lookups.<column>`` for
    ``dict[str, Lookup]`` (``key_name`` ``"column"``), ``steps[]`` for ``list[Step]``."""
    if isinstance(hint, type) and attrs.has(hint):
        return [(written, hint)]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or isinstance(hint, types.UnionType):
        return [found for arg in args for found in nested_classes(arg, written, key_name)]
    if origin in (dict, Mapping, typing.Mapping) and len(args) == 2:
        return nested_classes(args[1], f"{written}.<{key_name}>", key_name)
    if origin in (list, tuple, Sequence, typing.Sequence) and args:
        return nested_classes(args[0], f"{written}[]", key_name)
    return []


def _field_doc(
    key: str,
    field: attrs.Attribute[Any],
    info: OptionInfo,
    nested: tuple[tuple[str, tuple[KeyDoc, ...]], ...] = (),
) -> KeyDoc:
    default = field.default
    if isinstance(default, _FACTORY):
        default = "(computed)" if default.takes_self else default.factory()
    return KeyDoc(
        key=key,
        type=type_name(field.type),
        default=None if info.required or info.secret else _jsonable(default),
        required=info.required,
        help=info.help,
        minimum=info.minimum,
        maximum=info.maximum,
        env=info.env,
        secret=info.secret,
        nested=nested,
    )


def describe_options(spec: OptionsSpec) -> dict[str, dict[str, Any]]:
    """An adapter's options as ``engage plugins --json`` shows them: key → its description
    (``type``, ``default``, ``required``, ``help``, ``range``, ``env``, ``secret``)."""
    return {doc.key: doc.as_json() for doc in key_docs(spec)}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if attrs.has(type(value)):  # a nested options class: its keys, never a secret's value
        return {
            key: _jsonable(getattr(value, field.name))
            for key, field, info in option_fields(type(value))
            if not info.secret
        }
    return repr(value)


def markdown_table(spec: OptionsSpec) -> str:
    """An adapter's options as a Markdown table (``| key | type | default | meaning |``),
    ending with a newline; a secret's default is never shown."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for written, doc in _rows(key_docs(spec), ""):
        cells = [f"`{written}`", f"`{doc.type}`", _default_cell(doc), _meaning_cell(doc)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _rows(docs: Sequence[KeyDoc], prefix: str) -> Iterator[tuple[str, KeyDoc]]:
    """Each key as the table writes it, followed by the keys of its nested classes."""
    for doc in docs:
        yield (f"{prefix}.{doc.key}" if prefix else doc.key), doc
        for path, children in doc.nested:
            yield from _rows(children, path)


def _default_cell(doc: KeyDoc) -> str:
    env = f"`${doc.env}`" if doc.env else ""
    if doc.required:
        return f"required (or {env})" if env else "required"
    if doc.secret:
        return f"from {env}" if env else "(secret)"
    shown = "none" if doc.default is None else f"`{_toml(doc.default)}`"
    return f"{shown}, or from {env}" if env else shown


def _meaning_cell(doc: KeyDoc) -> str:
    notes = []
    low, high = doc.minimum, doc.maximum
    if low is not None and high is not None:
        notes.append(f"from {low:g} to {high:g}")
    elif low is not None:
        notes.append(f"at least {low:g}")
    elif high is not None:
        notes.append(f"at most {high:g}")
    if doc.secret:
        notes.append("secret: never shown")
    parts = [doc.help.strip()] if doc.help.strip() else []
    if notes:
        parts.append(f"({'; '.join(notes)})")
    return " ".join(parts) or "-"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):  # TOML has no null: a key whose value is None is left out
        items = ", ".join(
            f"{_toml_key(key)} = {_toml(item)}" for key, item in value.items() if item is not None
        )
        return "{ " + items + " }" if items else "{}"
    return str(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml(key)


def options_block(marker: str, spec: OptionsSpec) -> str:
    """The whole marked block for ``marker``: start marker, table, end marker."""
    return f"<!-- options:{marker} -->\n\n{markdown_table(spec)}\n{_END}"


def readme_markers(text: str) -> list[str]:
    """The markers of the options blocks in a README's text, in order (``source:csv``)."""
    return [match["marker"] for match in _BLOCK.finditer(text)]


def replace_table(text: str, marker: str, spec: OptionsSpec) -> str:
    """``text`` with the block of ``marker`` regenerated from ``spec``.

    Raises:
        ValueError: the text has no block for ``marker``.
    """
    for match in _BLOCK.finditer(text):
        if match["marker"] == marker:
            return text[: match.start()] + options_block(marker, spec) + text[match.end() :]
    raise ValueError(f"no '<!-- options:{marker} -->' ... '{_END}' block")


def regenerate_readme(path: Path, specs: Mapping[str, OptionsSpec]) -> list[str]:
    """Regenerate the options blocks of the README at ``path`` whose markers ``specs`` names.

    Returns:
        The markers whose tables changed (the file is written only when one did).
    """
    text = original = path.read_text(encoding="utf-8")
    changed = []
    for marker in readme_markers(text):
        if marker in specs:
            updated = replace_table(text, marker, specs[marker])
            if updated != text:
                changed.append(marker)
            text = updated
    if text != original:
        path.write_text(text, encoding="utf-8")
    return changed


def assert_readme_table_current(readme_path: str | Path, marker: str, options: OptionsSpec) -> None:
    """Fail unless the README's options table for ``marker`` is the one ``options`` gives.

    For a plugin's tests::

        def test_readme_lists_the_options():
            assert_readme_table_current(README, "source:csv", CsvSource.options)

    Raises:
        AssertionError: the README has no block for ``marker``, or its table differs from
            the generated one (a diff and the command that regenerates it are shown).
    """
    path = Path(readme_path)
    text = path.read_text(encoding="utf-8")
    try:
        expected = replace_table(text, marker, options)
    except ValueError as exc:
        raise AssertionError(f"{path}: {exc}; add one where the options are documented") from None
    if expected != text:
        diff = "".join(
            difflib.unified_diff(
                text.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                f"{path} (as written)",
                f"{path} (generated)",
            )
        )
        raise AssertionError(
            f"{path}: the options table {marker} is stale; regenerate it with "
            f"{REGENERATE} {path}\n{diff}"
        )
