"""The SQL statements the PostgreSQL store writes with (see :mod:`engage.store.sqlite_statements`).

An upsert's INSERT takes the record's columns in order and does nothing on a conflict; its
UPDATE takes the same parameters, joined as one ``VALUES`` row, and touches a row only
where something differs, so the triggers mark only what changed.
"""

from __future__ import annotations

from engage.store.sqlite_statements import Upsert


def _values(columns: str, types: str) -> str:
    marks = ", ".join(f"%s::{kind}" for kind in types.split(", "))
    return f"(VALUES ({marks})) AS v ({columns})"


CUSTOMER = Upsert(
    "customers",
    "key",
    """INSERT INTO customers (key, name, segment, owner, first_seen, open_work, attributes, name_key)
    VALUES (%s, %s, %s, %s, %s, coalesce(%s::integer, 0), %s::jsonb, %s)
    ON CONFLICT (key) DO NOTHING""",
    f"""UPDATE customers AS c SET name = coalesce(v.name, c.name),
        segment = coalesce(v.segment, c.segment), owner = coalesce(v.owner, c.owner),
        first_seen = coalesce(v.first_seen, c.first_seen),
        open_work = coalesce(v.open_work, c.open_work),
        attributes = CASE WHEN v.attributes = '{{}}'::jsonb THEN c.attributes
                          ELSE engage_json_patch(c.attributes, v.attributes) END,
        name_key = CASE WHEN v.name IS NULL THEN coalesce(c.name_key, v.name_key)
                        ELSE v.name_key END
    FROM {
        _values(
            "key, name, segment, owner, first_seen, open_work, attributes, name_key",
            "text, text, text, text, bigint, integer, jsonb, text",
        )
    }
    WHERE c.key = v.key AND (c.name IS DISTINCT FROM coalesce(v.name, c.name)
        OR c.segment IS DISTINCT FROM coalesce(v.segment, c.segment)
        OR c.owner IS DISTINCT FROM coalesce(v.owner, c.owner)
        OR c.first_seen IS DISTINCT FROM coalesce(v.first_seen, c.first_seen)
        OR c.open_work IS DISTINCT FROM coalesce(v.open_work, c.open_work)
        OR (v.attributes <> '{{}}'::jsonb
            AND c.attributes IS DISTINCT FROM engage_json_patch(c.attributes, v.attributes))
        OR c.name_key IS DISTINCT FROM (CASE WHEN v.name IS NULL
            THEN coalesce(c.name_key, v.name_key) ELSE v.name_key END))""",
)
CONTACT = Upsert(
    "contacts",
    "email",
    """INSERT INTO contacts (email, customer, name) VALUES (%s, %s, %s)
    ON CONFLICT (email) DO NOTHING""",
    f"""UPDATE contacts AS c SET customer = v.customer, name = coalesce(v.name, c.name)
    FROM {_values("email, customer, name", "text, text, text")}
    WHERE c.email = v.email AND (c.customer IS DISTINCT FROM v.customer
        OR c.name IS DISTINCT FROM coalesce(v.name, c.name))""",
)
OWNER = Upsert(
    "owners",
    "id",
    """INSERT INTO owners (id, email, name, active) VALUES (%s, %s, %s, %s)
    ON CONFLICT (id) DO NOTHING""",
    f"""UPDATE owners AS o SET email = coalesce(v.email, o.email),
        name = coalesce(v.name, o.name), active = v.active
    FROM {_values("id, email, name, active", "text, text, text, integer")}
    WHERE o.id = v.id AND (o.email IS DISTINCT FROM coalesce(v.email, o.email)
        OR o.name IS DISTINCT FROM coalesce(v.name, o.name) OR o.active IS DISTINCT FROM v.active)""",
)
IMPLIED_CUSTOMER = (
    "INSERT INTO customers (key, name_key) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING"
)
IMPLIED_OWNER = "INSERT INTO owners (id, active) VALUES (%s, 1) ON CONFLICT (id) DO NOTHING"
IMPLIED_CONTACT = (
    "INSERT INTO contacts (email, customer) VALUES (%s, %s) ON CONFLICT (email) DO NOTHING"
)
#: Each takes one id (the customer's twice; a touchpoint's is its source and external id).
RETIRE = {
    "touchpoint": "DELETE FROM touchpoints WHERE source = %s AND external_id = %s",
    "owner": "UPDATE owners SET active = 0 WHERE id = %s AND active <> 0",
    # A customer other sources still have touchpoints with stays.
    "customer": """DELETE FROM customers WHERE key = %s
        AND NOT EXISTS (SELECT 1 FROM touchpoints WHERE customer = %s)""",
    "contact": "DELETE FROM contacts WHERE email = %s",
}
INTENT = """
INSERT INTO ledger AS l (sink, key, customer, rule, status, task, attempts, created_at, updated_at)
VALUES (%s, %s, %s, %s, 'pending', %s, 1, %s, %s)
ON CONFLICT (sink, key) DO UPDATE SET status = 'pending', attempts = l.attempts + 1,
    customer = excluded.customer, rule = excluded.rule, task = excluded.task,
    updated_at = excluded.updated_at
WHERE l.status IN ('pending', 'failed')
"""
PUSHED = """
UPDATE ledger SET status = 'pushed', remote_id = %s, error = NULL, updated_at = %s
WHERE sink = %s AND key = %s AND status IN ('pending', 'failed', 'pushed')
"""
FAILED = """
UPDATE ledger SET status = 'failed', error = %s, updated_at = %s
WHERE sink = %s AND key = %s AND status IN ('pending', 'failed')
"""
CLEARED = """
UPDATE ledger SET status = %s, updated_at = %s
WHERE sink = %s AND key = %s AND (status = 'pushed' OR (status = 'cleared' AND %s = 'completed'))
"""
