"""The worker loop's hot statements, sent through psycopg's libpq layer.

``psycopg.AsyncConnection.execute()`` costs about 100-200 us of client CPU
per statement with the pure-Python psycopg that Debian ships (libpq through
ctypes): query conversion, parameter dumpers, the prepared-statement cache,
result loaders, and a generator-driven wait.  The worker sends the same few
statements thousands of times a second, each with text parameters the
caller has already formatted and one text value back, so ``value()`` skips
all of that: it prepares the statement once per connection (a name of its
own, beside psycopg's ``_pg3_*`` ones), sends the parameters as bytes with
``psycopg.pq.PGconn.send_query_prepared`` and waits on the socket with the
event loop: about half the CPU of execute() per statement (~40-55 against
~90-105 µs in a micro-benchmark on the 2-core test machine).

It holds the connection's own lock (``AsyncConnection.lock``), so it never
interleaves with psycopg's statements on the same connection, and it raises
what psycopg would: the server's error as the ``psycopg.errors`` class of
its SQLSTATE, ``psycopg.OperationalError`` for a lost connection.
"""

from __future__ import annotations

import asyncio
from typing import Optional, Sequence

import psycopg
from psycopg import errors, pq

_OK = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)


class Statements:
    """The statements prepared so far on one connection; forgets them
    when it is handed another connection (a reconnect)."""

    __slots__ = ("pgconn", "names")

    def __init__(self) -> None:
        self.pgconn: Optional[pq.abc.PGconn] = None
        self.names: set[bytes] = set()

    async def value(self, conn: psycopg.AsyncConnection, name: bytes, query: bytes,
                    params: Sequence[Optional[bytes]]) -> Optional[bytes]:
        """Run prepared statement ``name`` (text ``query``, prepared first
        when this connection has not got it) with text ``params`` and
        return the first column of its first row as bytes (None for NULL
        or no row).  A statement deallocated behind our back (DISCARD ALL)
        is prepared again once."""
        pgconn = conn.pgconn
        async with conn.lock:
            if self.pgconn is not pgconn:
                self.pgconn = pgconn
                self.names.clear()
            for attempt in (1, 2):
                if name not in self.names:
                    pgconn.send_prepare(name, query)
                    _check(await _results(pgconn), conn)
                    self.names.add(name)
                pgconn.send_query_prepared(name, params)
                try:
                    res = _check(await _results(pgconn), conn)
                except errors.InvalidSqlStatementName:
                    if attempt == 2:
                        raise
                    self.names.clear()
                    continue
                break
        if res is None or res.ntuples == 0:
            return None
        return res.get_value(0, 0)


def _check(results: list, conn: psycopg.AsyncConnection) -> Optional[pq.abc.PGresult]:
    """The last result; the first failed one raised as psycopg would."""
    for res in results:
        if res.status not in _OK:
            if res.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(res, encoding=conn.info.encoding)
            raise psycopg.InternalError(f"unexpected result status {pq.ExecStatus(res.status).name}")
    return results[-1] if results else None


def _wake(fut: asyncio.Future) -> None:
    """Reader/writer callback: the socket is ready."""
    if not fut.done():
        fut.set_result(None)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, write: bool) -> None:
    """Wait until ``fd`` is readable (or writable)."""
    fut = loop.create_future()
    if write:
        loop.add_writer(fd, _wake, fut)
    else:
        loop.add_reader(fd, _wake, fut)
    try:
        await fut
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def _results(pgconn: pq.abc.PGconn) -> list:
    """Flush what was sent and collect every result of it.  Cancelled
    while waiting (the caller's task was cancelled), it asks the server to
    cancel the statement and reads its answer before re-raising, as
    psycopg does, so the connection is left usable."""
    try:
        return await _collect(pgconn)
    except asyncio.CancelledError:
        try:
            pgconn.get_cancel().cancel()
        except Exception:
            pass
        try:
            await _collect(pgconn)
        except Exception:
            pass
        raise


async def _collect(pgconn: pq.abc.PGconn) -> list:
    """libpq's non-blocking protocol (psycopg's async connections are
    non-blocking): flush, then read until the last result.  A lost
    connection raises psycopg.OperationalError from flush/consume_input."""
    loop = asyncio.get_running_loop()
    fd = pgconn.socket
    while pgconn.flush():
        await _ready(loop, fd, True)
    results = []
    while True:
        # the answer takes a while: wait before the first read (is_busy()
        # only looks at what libpq already buffered, flush() may have read)
        while not pgconn.is_busy():
            res = pgconn.get_result()
            if res is None:
                return results
            results.append(res)
        await _ready(loop, fd, False)
        pgconn.consume_input()
