"""Adapter options as documentation: ``engage plugins --json`` and the README tables.

Both forms of options (a mapping of :class:`~engage.adapters.Option`, or a typed options
class of :mod:`engage.options`) are described alike: per key its type as written
(``list[str]``), default, whether it is required, help, range, environment variable and
whether it is secret. A secret's value is never shown, only where it comes from
(``from $HUBSPOT_TOKEN``).

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
from collections.abc import Mapping
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

    def as_json(self) -> dict[str, Any]:
        """The key as ``engage plugins --json`` shows it."""
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        return {
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "help": self.help,
            "range": bounds if self.minimum is not None or self.maximum is not None else None,
            "env": self.env,
            "secret": self.secret,
        }


def key_docs(spec: OptionsSpec) -> list[KeyDoc]:
    """Every key of an adapter's options, documented, in declared order."""
    if is_options_class(spec):
        return [_field_doc(key, field, info) for key, field, info in option_fields(spec)]
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


def _field_doc(key: str, field: attrs.Attribute[Any], info: OptionInfo) -> KeyDoc:
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
    if attrs.has(type(value)):
        return _jsonable(attrs.asdict(value, recurse=False))
    return repr(value)


def markdown_table(spec: OptionsSpec) -> str:
    """An adapter's options as a Markdown table (``| key | type | default | meaning |``),
    ending with a newline; a secret's default is never shown."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for doc in key_docs(spec):
        cells = [f"`{doc.key}`", f"`{doc.type}`", _default_cell(doc), _meaning_cell(doc)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


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
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(key)} = {_toml(item)}" for key, item in value.items())
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
