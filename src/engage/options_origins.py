"""Where each value of a built options instance came from: the table, the environment or
the default.

:func:`engage.options.build_options` records, for every key of the instance it builds, an
:class:`Origin`; :func:`origin` and :func:`origins` answer from it afterwards and also
while the class's own invariant (``__attrs_post_init__``) runs, so the invariant can tell a
key the table gave from one an ``env=`` variable filled. :func:`drop_env_value` lets the
invariant put such a key back to its default when the table chose otherwise (Gmail's
``$GMAIL_CREDENTIALS_FILE`` in a table that reads mbox files).

An instance engage did not build (made in code or in a test) has every key of origin
:attr:`OriginKind.CODE`.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import attrs

from engage.options_fields import option_fields


class OriginKind(enum.Enum):
    """Where a value came from."""

    TABLE = "table"  #: the config table gave the key
    ENV = "env"  #: the key's ``env=`` variable filled it (the table did not give it)
    DEFAULT = "default"  #: neither: the option's default
    CODE = "code"  #: the instance was not built by engage (made in code)


@attrs.frozen
class Origin:
    """Where one option's value came from.

    Attributes:
        kind: The table, the environment, the default or code.
        key: The key as messages name it (``credentials_file``, ``lookups['WhoId'].path``).
        where: The table it was built for (``engage.toml: [sources.mail]``), or empty.
        env: The environment variable that gave the value (``ENV`` only).
    """

    kind: OriginKind
    key: str
    where: str = ""
    env: str | None = None

    @property
    def from_env(self) -> bool:
        """True when an environment variable gave the value (the table did not)."""
        return self.kind is OriginKind.ENV

    def __str__(self) -> str:
        """``$GMAIL_CREDENTIALS_FILE``, ``key 'mbox' of engage.toml: [sources.mail]``..."""
        if self.kind is OriginKind.ENV:
            return f"${self.env}"
        if self.kind is OriginKind.TABLE:
            return f"key '{self.key}' of {self.where}" if self.where else f"key '{self.key}'"
        return "the default" if self.kind is OriginKind.DEFAULT else "given in code"


_FACTORY: type[Any] = type(attrs.Factory(list))
#: id of a built instance → its origins, while the instance lives.
_BUILT: dict[int, dict[str, Origin]] = {}
#: The class being constructed by the builder and its origins (for its invariant).
_BUILDING: ContextVar[tuple[type, dict[str, Origin]] | None] = ContextVar(
    "engage_options_building", default=None
)


def origins(options: Any) -> Mapping[str, Origin]:
    """Key → :class:`Origin` for every option of ``options`` (an options class instance).

    Raises:
        attrs.exceptions.NotAnAttrsClassError: ``options`` is not an attrs instance.
    """
    found = _recorded(options)
    if found is None:
        return MappingProxyType(
            {key: Origin(OriginKind.CODE, key) for key, _, _ in option_fields(type(options))}
        )
    return MappingProxyType(dict(found))


def origin(options: Any, key: str) -> Origin:
    """Where the value of ``key`` in ``options`` came from.

    Raises:
        KeyError: ``key`` is not an option of the instance's class.
    """
    return origins(options)[key]


def drop_env_value(options: Any, key: str) -> bool:
    """From the class's invariant: put ``key`` back to its default when the environment
    filled it, because the table chose otherwise (another mode, another variable).

    Returns:
        True when the value was dropped; False when the key did not come from the
        environment, or the instance is being made in code (the invariant then refuses
        the values, as it would without this call).

    Raises:
        RuntimeError: called on an instance already built (it is frozen).
    """
    if id(options) in _BUILT:
        raise RuntimeError("drop_env_value() works in __attrs_post_init__ while engage builds")
    building = _BUILDING.get()
    if building is None or building[0] is not type(options):
        return False  # made in code: nothing came from the environment
    found = building[1]
    if not found[key].from_env:
        return False
    field = {f.alias: f for f in attrs.fields(building[0])}[key]
    default = field.default
    if isinstance(default, _FACTORY):
        default = default.factory(options) if default.takes_self else default.factory()
    object.__setattr__(options, field.name, default)  # allowed in __attrs_post_init__
    found[key] = Origin(OriginKind.DEFAULT, found[key].key, found[key].where)
    return True


@contextmanager
def constructing(cls: type, found: dict[str, Origin]) -> Iterator[None]:
    """While ``cls(...)`` runs, its invariant sees ``found`` as the instance's origins."""
    token = _BUILDING.set((cls, found))
    try:
        yield
    finally:
        _BUILDING.reset(token)


def remember(instance: Any, found: dict[str, Origin]) -> None:
    """Keep ``found`` as the origins of ``instance`` for as long as it lives (an instance
    that cannot be weakly referenced keeps none and answers :attr:`OriginKind.CODE`)."""
    try:
        weakref.finalize(instance, _BUILT.pop, id(instance), None)
    except TypeError:
        return
    _BUILT[id(instance)] = found


def _recorded(options: Any) -> dict[str, Origin] | None:
    found = _BUILT.get(id(options))
    if found is not None:
        return found
    building = _BUILDING.get()
    if building is not None and building[0] is type(options):
        return building[1]
    return None
