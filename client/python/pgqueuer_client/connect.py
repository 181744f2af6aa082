"""Where the client's connections come from.

A connection string (libpq conninfo or URI) is taken from the argument,
else ``$PGQUEUER_DSN``, else ``$PGDSN``, else it is empty and libpq's
``PG*`` environment variables apply -- the same order as ``pgq``.
Connections are psycopg 3 ``AsyncConnection`` objects in autocommit mode
(each ``pgqueuer.*`` call is its own transaction, as the functions expect).
"""

from __future__ import annotations

import os
from typing import Optional

import psycopg


def resolve_dsn(dsn: Optional[str] = None) -> str:
    """The connection string to use: ``dsn``, else ``$PGQUEUER_DSN``, else
    ``$PGDSN``, else ``""`` (libpq's PG* variables)."""
    if dsn:
        return dsn
    return os.environ.get("PGQUEUER_DSN") or os.environ.get("PGDSN") or ""


async def connect(dsn: Optional[str] = None, application_name: str = "pgqueuer_client") -> psycopg.AsyncConnection:
    """Open an autocommit ``psycopg.AsyncConnection`` to ``resolve_dsn(dsn)``.

    ``application_name`` is set unless the connection string sets one.
    Raises ``psycopg.OperationalError`` when the server cannot be reached.
    """
    conninfo = resolve_dsn(dsn)
    kwargs = {}
    if "application_name" not in conninfo:
        kwargs["application_name"] = application_name
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True, **kwargs)


def dsn_of(conn: psycopg.AsyncConnection) -> str:
    """A connection string that reaches the same server, database and user
    as ``conn`` (with its password when it had one): used to reconnect a
    connection handed in by the caller after it was lost."""
    params = conn.info.get_parameters()
    password = conn.info.password
    if password:
        params["password"] = password
    return psycopg.conninfo.make_conninfo(**params)
