"""The PostgreSQL store (optional: ``pip install 'engage-core[postgres]'``).

:class:`PostgresStore` implements :class:`~engage.store.base.Store` on a PostgreSQL server
through psycopg 3; :func:`engage.store.open_store` opens it for a ``postgresql://`` URL.
"""

from engage.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
