"""Names find their customer: a record that names its customer only by name lands on the
customer of that name.

A note one of ours logged under "Northwind Traders" (key ``northwind traders``), a CRM
company without a domain (``hubspot-company:7``, named "Acme") name their customer only by
name: their keys are not strong (:func:`engage.identity.is_strong_key`). Every customer row
keeps its comparable name (``name_key``, :func:`engage.identity.customer_name_key`). When a
write brings such a key and exactly one customer with a strong key (a domain or an address)
has its comparable name, the key becomes that customer's alias (``customer_aliases``):

- records under the key land on the customer: a customer record upserts into it like any
  other record would, except that the customer keeps its own name; touchpoints and contacts
  are the customer's;
- a customer already stored under the key is folded in: its touchpoints and contacts move
  (the triggers mark both customers for re-planning), its fields fill the customer's gaps,
  and its row goes (its plan with it).

The other order works the same way: a strong-keyed customer written with a name folds in
the stored name-only customers of that name. With two or more strong-keyed customers of
the name, the key stays a customer of its own and the write says so in
:attr:`~engage.store.base.WriteCounts.notes`. A link once made stays, even if the customer
is renamed later, until the customer itself is deleted.

Cheap on the hot path: keys are looked up only the first time a transaction sees them, and
only name-only keys and named customer records need a query (at most two per chunk).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import attrs

from engage.identity import customer_name_key, is_strong_key, name_key
from engage.models import Contact, Customer
from engage.store.sqlite_touchpoints import MARK_SAME_EMAIL
from engage.store.touchpoint_rows import CUSTOMER_AT, Row

__all__ = ["Landing", "Names", "register_functions"]

#: Keys remembered within one transaction; past this many, forgotten (looked up again).
REMEMBER_MAX = 20_000

#: For each key: the customer it is an alias of, whether a customer row has it, and that
#: row's comparable name and name.
_KEYS = """SELECT j.value, a.customer, c.key IS NOT NULL, c.name_key, c.name
FROM json_each(?) j
LEFT JOIN customer_aliases a ON a.alias = j.value
LEFT JOIN customers c ON c.key = j.value"""

#: The customers with one of the comparable names.
_NAMED = """SELECT c.key, c.name_key, c.name FROM json_each(?) j
JOIN customers c ON c.name_key = j.value"""

#: The folded-in customer (?1) fills the gaps of the one it lands on (?2), which keeps its
#: name; running work on either side is running work.
_FOLD_IN = """UPDATE customers SET
    segment = coalesce(segment, (SELECT segment FROM customers WHERE key = ?1)),
    owner = coalesce(owner, (SELECT owner FROM customers WHERE key = ?1)),
    first_seen = coalesce(first_seen, (SELECT first_seen FROM customers WHERE key = ?1)),
    open_work = max(open_work, (SELECT open_work FROM customers WHERE key = ?1)),
    attributes = json_patch((SELECT attributes FROM customers WHERE key = ?1), attributes)
WHERE key = ?2"""

_ALIAS = """INSERT INTO customer_aliases (alias, customer) VALUES (?, ?)
ON CONFLICT (alias) DO UPDATE SET customer = excluded.customer"""

#: Touchpoints of folded-in customers, moved in one pass at the end of a bulk load.
_MOVE_ALL = """UPDATE touchpoints
SET customer = (SELECT customer FROM customer_aliases WHERE alias = touchpoints.customer)
WHERE customer IN (SELECT alias FROM customer_aliases
    WHERE alias IN (SELECT value FROM json_each(?)))"""


def register_functions(conn: sqlite3.Connection) -> None:
    """Give ``conn`` the SQL function the schema migration fills ``name_key`` with."""
    conn.create_function("engage_name_key", 2, customer_name_key, deterministic=True)


@attrs.frozen
class Landing:
    """Where one batch's records land.

    Attributes:
        redirect: Key → the customer its records land on, for the batch's keys that move.
        links: Aliases found in this batch: (key, customer).
        absorb: Stored customers to fold into the customer they are now an alias of.
        notes: Names that match several customers (the record keeps its key).
    """

    redirect: Mapping[str, str] = attrs.field(factory=dict)
    links: Sequence[tuple[str, str]] = ()
    absorb: Sequence[tuple[str, str]] = ()
    notes: tuple[str, ...] = ()

    def land(
        self,
        customers: list[Customer],
        contacts: list[Contact],
        touchpoints: list[Row],
    ) -> tuple[list[Customer], list[Contact], list[Row]]:
        """The records (touchpoints as rows, :mod:`engage.store.touchpoint_rows`) with their
        customer keys redirected (a customer record's name dropped: the customer it lands on
        keeps its own)."""
        to = self.redirect
        at = CUSTOMER_AT
        return (
            [attrs.evolve(c, key=to[c.key], name=None) if c.key in to else c for c in customers],
            [attrs.evolve(c, customer=to[c.customer]) if c.customer in to else c for c in contacts],
            [(*r[:at], to[r[at]], *r[at + 1 :]) if r[at] in to else r for r in touchpoints],
        )


class Names:
    """Which customer each key's records land on, remembered within a transaction."""

    def __init__(self) -> None:
        # what this transaction knows: strong keys seen, name-only keys whose customer was
        # looked up, and where those of them that land on another customer land
        self._strong: set[str] = set()
        self._weak: set[str] = set()
        self._to: dict[str, str] = {}
        self._moves: set[str] = set()  # folded-in keys whose touchpoints move at commit

    def forget(self) -> None:
        """Forget what was looked up (at the end of a transaction, or after a retire)."""
        self._strong.clear()
        self._weak.clear()
        self._to.clear()

    def forget_moves(self) -> None:
        """Forget the touchpoint moves a rolled-back bulk load had put off."""
        self._moves.clear()

    def plan(
        self, conn: sqlite3.Connection, customers: Sequence[Customer], keys: Iterable[str]
    ) -> Landing:
        """Where the records land: ``customers`` (records) and the customer ``keys`` of the
        batch's other records."""
        seen_strong, to = self._strong, self._to
        if len(seen_strong) + len(self._weak) > REMEMBER_MAX:
            self.forget()
        given: dict[str, str | None] = {}  # name-only key → comparable name its record gives
        shown: dict[str, str] = {}  # name-only key → its record's name
        named: dict[str, str] = {}  # strong key → comparable name its record gives
        for customer in customers:
            key = customer.key
            if key in seen_strong or is_strong_key(key):
                seen_strong.add(key)
                if customer.name and (comparable := name_key(customer.name)):
                    named[key] = comparable
            elif key not in to:  # a key found to be another customer stays so
                comparable = name_key(customer.name) if customer.name else ""
                if comparable:
                    given[key] = comparable
                    shown[key] = customer.name or key
                else:
                    given.setdefault(key, None)
        batch_keys = set(keys)
        new = (batch_keys - seen_strong).difference(self._weak)  # little per key in Python
        strong = set(filter(is_strong_key, new))
        seen_strong |= strong
        given.update((key, None) for key in new - strong - given.keys())
        landing = Landing()
        if given or named:
            landing = self._resolve(conn, given, shown, named)
        if not to:
            return landing
        batch_keys.update(customer.key for customer in customers)
        redirect = {key: to[key] for key in to.keys() & batch_keys}
        return attrs.evolve(landing, redirect=redirect) if redirect else landing

    def comparable(self, key: str, name: str | None) -> str | None:
        """:func:`~engage.identity.customer_name_key`, for a key :meth:`plan` has seen."""
        if not name and key in self._strong:
            return None
        return customer_name_key(key, name)

    def _lands(self, key: str, on: str) -> None:
        self._weak.add(key)
        if on == key:
            self._to.pop(key, None)
        else:
            self._to[key] = on

    def _resolve(
        self,
        conn: sqlite3.Connection,
        given: dict[str, str | None],
        shown: dict[str, str],
        named: dict[str, str],
    ) -> Landing:
        wanted: dict[str, str] = {}  # name-only key → its comparable name
        stored: set[str] = set()
        if given:
            for key, alias_of, exists, stored_name_key, name in conn.execute(
                _KEYS, (json.dumps(list(given)),)
            ):
                if alias_of is not None:
                    self._lands(key, alias_of)
                    continue
                if exists:
                    stored.add(key)
                comparable = given[key] or stored_name_key or customer_name_key(key, None)
                if comparable:
                    wanted[key] = comparable
                    shown.setdefault(key, name or key)
                else:
                    self._lands(key, key)
        names = {*wanted.values(), *named.values()}
        if not names:
            return Landing()
        rows = conn.execute(_NAMED, (json.dumps(sorted(names)),)).fetchall()
        strong_rows = set(filter(is_strong_key, (key for key, _, _ in rows)))
        others = [row for row in rows if row[0] not in strong_rows and row[0] not in wanted]
        if not wanted and not others:  # named customers, and no name-only one of their names
            return Landing()
        strong: dict[str, set[str]] = {}  # comparable name → strong keys of that name
        for key, comparable, _ in rows:
            if key in strong_rows and named.get(key, comparable) == comparable:  # not renamed
                strong.setdefault(comparable, set()).add(key)
        for key, comparable in named.items():
            strong.setdefault(comparable, set()).add(key)
        links: list[tuple[str, str]] = []
        absorb: list[tuple[str, str]] = []
        notes: list[str] = []
        found = [(key, comparable, key in stored, shown[key]) for key, comparable in wanted.items()]
        found += [(key, comparable, True, name or key) for key, comparable, name in others]
        for key, comparable, exists, name in found:
            matches = strong.get(comparable, set())
            if len(matches) == 1:
                (into,) = matches
                self._lands(key, into)
                links.append((key, into))
                if exists:
                    absorb.append((key, into))
            else:
                self._lands(key, key)
                if matches:
                    notes.append(
                        f"customer name {name!r} matches {len(matches)} customers "
                        f"({', '.join(sorted(matches))}); kept as {key!r}"
                    )
        return Landing(links=links, absorb=absorb, notes=tuple(notes))

    def link(self, conn: sqlite3.Connection, landing: Landing, *, bulk: bool) -> int:
        """Record the landing's aliases and fold in its stored customers (after the batch's
        customer records are written); returns how many moved touchpoints were found to be
        an email another source holds.

        During a bulk load (no customer index) touchpoints move at its end, in one pass:
        :meth:`move_put_off`.
        """
        merged = 0
        for key, into in landing.absorb:
            conn.execute(_FOLD_IN, (key, into))
            conn.execute("UPDATE contacts SET customer = ?2 WHERE customer = ?1", (key, into))
            if bulk:
                self._moves.add(key)
            else:
                emails = conn.execute(
                    """SELECT source, external_id FROM touchpoints WHERE customer = ?
                    AND channel = 'email' AND duplicate_of IS NULL""",
                    (key,),
                ).fetchall()
                conn.execute(
                    "UPDATE touchpoints SET customer = ?2 WHERE customer = ?1", (key, into)
                )
                if emails:  # moved emails may repeat one another source holds for the customer
                    merged += conn.executemany(MARK_SAME_EMAIL, emails).rowcount
            conn.execute("DELETE FROM customers WHERE key = ?", (key,))
        conn.executemany(_ALIAS, landing.links)
        return merged

    def move_put_off(self, conn: sqlite3.Connection) -> None:
        """Move the touchpoints of customers folded in during a bulk load (one table scan).

        Merges need not be looked for: while a bulk load lasts, no other source has
        touchpoints (the first merge check ends it).
        """
        if self._moves:
            conn.execute(_MOVE_ALL, (json.dumps(sorted(self._moves)),))
            self._moves.clear()

    def customer_of(self, conn: sqlite3.Connection, key: str) -> str:
        """The customer ``key`` is an alias of, else ``key`` itself."""
        row = conn.execute(
            "SELECT customer FROM customer_aliases WHERE alias = ?", (key,)
        ).fetchone()
        return key if row is None else str(row[0])

    def link_stored(self, conn: sqlite3.Connection) -> None:
        """Fold every stored name-only customer into the one strong-keyed customer of its
        name, where there is exactly one (once, when a store gains comparable names)."""
        strong: dict[str, set[str]] = {}
        others: list[tuple[str, str]] = []
        for key, comparable in conn.execute(
            "SELECT key, name_key FROM customers WHERE name_key IS NOT NULL"
        ):
            if is_strong_key(key):
                strong.setdefault(comparable, set()).add(key)
            else:
                others.append((key, comparable))
        pairs = [
            (key, next(iter(strong[comparable])))
            for key, comparable in others
            if len(strong.get(comparable, ())) == 1
        ]
        if pairs:
            self.link(conn, Landing(links=pairs, absorb=pairs), bulk=False)
