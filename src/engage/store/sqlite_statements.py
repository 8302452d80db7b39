"""The SQL statements :mod:`engage.store.sqlite` writes with."""

from __future__ import annotations

from typing import NamedTuple


class Upsert(NamedTuple):
    """How to upsert one kind of record: its table and key column, an INSERT for a new row
    (doing nothing on a conflict) and an UPDATE that only touches a row where something
    differs. Both take the same parameters, the key first."""

    table: str
    key: str
    insert: str
    update: str


#: ``?8`` is the record's comparable name (:func:`engage.identity.customer_name_key`): a
#: record with a name sets it, one without keeps the stored one.
CUSTOMER = Upsert(
    "customers",
    "key",
    """INSERT INTO customers (key, name, segment, owner, first_seen, open_work, attributes, name_key)
    VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, 0), json(?7), ?8) ON CONFLICT (key) DO NOTHING""",
    """UPDATE customers SET name = coalesce(?2, name), segment = coalesce(?3, segment),
        owner = coalesce(?4, owner), first_seen = coalesce(?5, first_seen), open_work = coalesce(?6, open_work),
        attributes = CASE WHEN ?7 = '{}' THEN attributes ELSE json_patch(attributes, ?7) END,
        name_key = CASE WHEN ?2 IS NULL THEN coalesce(name_key, ?8) ELSE ?8 END
    WHERE key = ?1 AND (name IS NOT coalesce(?2, name) OR segment IS NOT coalesce(?3, segment)
        OR owner IS NOT coalesce(?4, owner) OR first_seen IS NOT coalesce(?5, first_seen)
        OR open_work IS NOT coalesce(?6, open_work)
        OR (?7 <> '{}' AND attributes IS NOT json_patch(attributes, ?7))
        OR name_key IS NOT (CASE WHEN ?2 IS NULL THEN coalesce(name_key, ?8) ELSE ?8 END))""",
)
CONTACT = Upsert(
    "contacts",
    "email",
    """INSERT INTO contacts (email, customer, name) VALUES (?1, ?2, ?3)
    ON CONFLICT (email) DO NOTHING""",
    """UPDATE contacts SET customer = ?2, name = coalesce(?3, name)
    WHERE email = ?1 AND (customer IS NOT ?2 OR name IS NOT coalesce(?3, name))""",
)
OWNER = Upsert(
    "owners",
    "id",
    """INSERT INTO owners (id, email, name, active) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (id) DO NOTHING""",
    """UPDATE owners SET email = coalesce(?2, email), name = coalesce(?3, name), active = ?4
    WHERE id = ?1 AND (email IS NOT coalesce(?2, email) OR name IS NOT coalesce(?3, name)
        OR active IS NOT ?4)""",
)
IMPLIED_CUSTOMER = (
    "INSERT INTO customers (key, name_key) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
)
IMPLIED_OWNER = "INSERT INTO owners (id, active) VALUES (?, 1) ON CONFLICT (id) DO NOTHING"
IMPLIED_CONTACT = (
    "INSERT INTO contacts (email, customer) VALUES (?, ?) ON CONFLICT (email) DO NOTHING"
)
RETIRE = {
    "touchpoint": "DELETE FROM touchpoints WHERE source = ? AND external_id = ?",
    "owner": "UPDATE owners SET active = 0 WHERE id = ? AND active <> 0",
    # A customer other sources still have touchpoints with stays: one source's archive is
    # not the end of the relationship.
    "customer": """DELETE FROM customers WHERE key = ?1
        AND NOT EXISTS (SELECT 1 FROM touchpoints WHERE customer = ?1)""",
    "contact": "DELETE FROM contacts WHERE email = ?",
}
INTENT = """
INSERT INTO ledger (sink, key, customer, rule, status, task, attempts, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, 'pending', ?5, 1, ?6, ?6)
ON CONFLICT (sink, key) DO UPDATE SET status = 'pending', attempts = attempts + 1,
    customer = excluded.customer, rule = excluded.rule, task = excluded.task,
    updated_at = excluded.updated_at
WHERE status IN ('pending', 'failed')
"""
PUSHED = """
UPDATE ledger SET status = 'pushed', remote_id = ?, error = NULL, updated_at = ?
WHERE sink = ? AND key = ? AND status IN ('pending', 'failed', 'pushed')
"""
FAILED = """
UPDATE ledger SET status = 'failed', error = ?, updated_at = ?
WHERE sink = ? AND key = ? AND status IN ('pending', 'failed')
"""
CLEARED = """
UPDATE ledger SET status = ?, updated_at = ?
WHERE sink = ? AND key = ? AND (status = 'pushed' OR (status = 'cleared' AND ? = 'completed'))
"""
