"""Producers and operators: PgQueuer's ``Queries`` on the SQL API.

``Queries`` wraps a psycopg ``AsyncConnection`` (autocommit), ``SyncQueries``
a blocking ``psycopg.Connection`` (for scripts, Flask, Django views).  Each
method is one call of a ``pgqueuer.*`` function; the server validates the
arguments and raises psycopg errors carrying its SQLSTATE (22023 for an
out-of-range value, 22004 for a NULL where none makes sense, 42501 when the
role lacks the privilege ...).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Optional, Sequence, TypeVar, Union

import psycopg
from psycopg.types.json import Jsonb

from . import sql
from .errors import DuplicateJobError
from .models import LogStatistics, QueueStatistics

T = TypeVar("T")
OneOrMany = Union[T, Sequence[T]]


def _as_list(value: Any, n: int, name: str) -> list:
    """``value`` as a list of ``n`` items: a scalar is repeated, a list
    must have length ``n`` (ValueError otherwise)."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} has {len(value)} elements, entrypoint has {n}")
        return list(value)
    return [value] * n


def _payload(value: Any) -> Optional[bytes]:
    """A payload as bytes: bytes as is, str as UTF-8, None as None."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"payload must be bytes, str or None, not {type(value).__name__}")


def _delay(value: Any) -> timedelta:
    """A relative delay: timedelta, seconds (int/float), or None (= now)."""
    if value is None:
        return timedelta(0)
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    raise TypeError(f"execute_after must be a timedelta or seconds, not {type(value).__name__}")


def _headers(value: Any) -> Optional[Jsonb]:
    """Headers (a dict, or None) as a jsonb parameter."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"headers must be a dict or None, not {type(value).__name__}")
    return Jsonb(value)


def enqueue_args(entrypoint, payload, priority, execute_after, dedupe_key, headers, on_conflict):
    """The statement and parameters of an enqueue call (see
    ``Queries.enqueue``): ``pgqueuer.enqueue`` for a scalar entrypoint,
    ``pgqueuer.enqueue_batch`` for a list."""
    if on_conflict not in ("raise", "skip"):
        raise ValueError("on_conflict must be 'raise' or 'skip'")
    if isinstance(entrypoint, str):
        return False, sql.ENQUEUE, (
            entrypoint,
            _payload(payload),
            priority,
            _delay(execute_after),
            dedupe_key,
            _headers(headers),
            on_conflict,
        )
    names = list(entrypoint)
    n = len(names)
    return True, sql.ENQUEUE_BATCH, (
        names,
        [_payload(p) for p in _as_list(payload, n, "payload")],
        _as_list(priority, n, "priority"),
        [_delay(d) for d in _as_list(execute_after, n, "execute_after")],
        _as_list(dedupe_key, n, "dedupe_key"),
        [_headers(h) for h in _as_list(headers, n, "headers")],
        on_conflict,
    )


def _dedupe_keys(dedupe_key) -> list:
    """The dedupe keys of an enqueue call, as a list."""
    if isinstance(dedupe_key, (list, tuple)):
        return list(dedupe_key)
    return [dedupe_key]


class Queries:
    """PgQueuer's ``Queries`` for producers and operators, on an async
    psycopg connection in autocommit mode.

    ``connection``: a ``psycopg.AsyncConnection`` (autocommit=True).
    ``lock``: an ``asyncio.Lock`` serialising use of the connection with
    other users of it (a worker passes its own); a new one by default.
    """

    def __init__(self, connection: psycopg.AsyncConnection, lock: Optional[asyncio.Lock] = None) -> None:
        self.connection = connection
        self.lock = lock or asyncio.Lock()

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement under the lock; all its rows."""
        async with self.lock:
            cur = await self.connection.execute(query, params)
            return await cur.fetchall()

    async def enqueue(
        self,
        entrypoint: OneOrMany[str],
        payload: OneOrMany[Optional[bytes]] = None,
        priority: OneOrMany[int] = 0,
        execute_after: OneOrMany[Optional[Union[timedelta, float]]] = None,
        dedupe_key: OneOrMany[Optional[str]] = None,
        headers: OneOrMany[Optional[dict]] = None,
        on_conflict: str = "raise",
    ) -> list[Optional[int]]:
        """Queue one job (scalar ``entrypoint``: ``pgqueuer.enqueue``) or
        many in one statement (a list: ``pgqueuer.enqueue_batch``).

        With a list of entrypoints, every other argument is either a list of
        the same length or a scalar applied to each job (as in PgQueuer).
        ``payload``: bytes (str is sent as UTF-8) or None.  ``priority``:
        int, higher first.  ``execute_after``: delay from now, a timedelta or
        seconds; None or negative = due now.  ``dedupe_key``: at most one
        queued or picked job per key.  ``headers``: a dict stored as jsonb.
        ``on_conflict``: ``"raise"`` (DuplicateJobError, nothing queued) or
        ``"skip"`` (None in place of the skipped job's id).

        Returns the new job ids in input order.  Raises DuplicateJobError,
        ValueError/TypeError for malformed arguments, psycopg errors for
        what the server refuses.
        """
        batch, query, params = enqueue_args(entrypoint, payload, priority, execute_after, dedupe_key, headers, on_conflict)
        try:
            rows = await self._fetch(query, params)
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateJobError(_dedupe_keys(dedupe_key), exc.diag.message_detail or "") from exc
        return [r[0] for r in rows]

    async def queue_size(self) -> list[QueueStatistics]:
        """``pgqueuer.queue_size()``: jobs in the queue per entrypoint,
        priority and status (held jobs included), PgQueuer's shape."""
        return [QueueStatistics(*r) for r in await self._fetch(sql.QUEUE_SIZE)]

    async def job_status(self, job_ids: Sequence[int]) -> list[tuple[int, str]]:
        """``pgqueuer.job_status(ids)``: (job_id, latest logged status) for
        each id that was ever logged."""
        return [(r[0], r[1]) for r in await self._fetch(sql.JOB_STATUS, (list(job_ids),))]

    async def log_statistics(self, tail: Optional[int] = None, last: Optional[timedelta] = None) -> list[LogStatistics]:
        """``pgqueuer.log_statistics(tail, last)``: per-second buckets of
        finished jobs, newest first, at most ``tail`` rows (None = all),
        created within ``last`` (None = all)."""
        return [LogStatistics(*r) for r in await self._fetch(sql.LOG_STATISTICS, (tail, last))]

    async def mark_job_as_cancelled(self, job_ids: Sequence[int]) -> list[int]:
        """``pgqueuer.cancel(ids)`` (PgQueuer's name): queued, picked and
        held jobs are removed and logged ``canceled``; the workers running
        picked ones are told.  Returns the ids canceled.  Needs
        ``pgqueuer_admin``."""
        return [r[0] for r in await self._fetch(sql.CANCEL, (list(job_ids),))]

    cancel = mark_job_as_cancelled

    async def requeue_jobs(self, job_ids: Sequence[int]) -> list[int]:
        """``pgqueuer.requeue(ids)``: held (failed) jobs back to queued,
        attempts 0.  Returns the ids requeued.  Needs ``pgqueuer_admin``."""
        return [r[0] for r in await self._fetch(sql.REQUEUE, (list(job_ids),))]

    async def pause(self, entrypoint: str) -> bool:
        """``pgqueuer.pause``: dequeue hands out no job of ``entrypoint``.
        Returns whether the state changed.  Needs ``pgqueuer_admin``."""
        return (await self._fetch(sql.PAUSE, (entrypoint,)))[0][0]

    async def resume(self, entrypoint: str) -> bool:
        """``pgqueuer.resume``: undo ``pause`` and wake the workers.
        Returns whether the state changed.  Needs ``pgqueuer_admin``."""
        return (await self._fetch(sql.RESUME, (entrypoint,)))[0][0]

    async def schedule(self, entrypoint: str, expression: str, payload: Optional[bytes] = None, priority: int = 0) -> int:
        """``pgqueuer.schedule``: a cron schedule fired by the server, which
        enqueues one job for ``entrypoint`` per due time.  Returns the
        schedule id.  Raises psycopg's InvalidParameterValue (22023) for a
        bad expression.  Needs ``pgqueuer_admin``."""
        return (await self._fetch(sql.SCHEDULE, (entrypoint, expression, _payload(payload), priority)))[0][0]

    async def unschedule(self, schedule: Union[int, str]) -> int:
        """``pgqueuer.unschedule``: by id (returns 1 or 0) or every schedule
        of an entrypoint name (returns how many).  Needs ``pgqueuer_admin``."""
        if isinstance(schedule, str):
            return (await self._fetch(sql.UNSCHEDULE_ENTRYPOINT, (schedule,)))[0][0]
        return int(bool((await self._fetch(sql.UNSCHEDULE_ID, (schedule,)))[0][0]))


class SyncQueries:
    """The producer half of :class:`Queries` on a blocking
    ``psycopg.Connection`` (autocommit=True): ``enqueue``, ``queue_size``
    and ``job_status`` with the same arguments, results and errors (as
    PgQueuer's ``SyncQueries``)."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection

    def enqueue(
        self,
        entrypoint: OneOrMany[str],
        payload: OneOrMany[Optional[bytes]] = None,
        priority: OneOrMany[int] = 0,
        execute_after: OneOrMany[Optional[Union[timedelta, float]]] = None,
        dedupe_key: OneOrMany[Optional[str]] = None,
        headers: OneOrMany[Optional[dict]] = None,
        on_conflict: str = "raise",
    ) -> list[Optional[int]]:
        """See ``Queries.enqueue``."""
        batch, query, params = enqueue_args(entrypoint, payload, priority, execute_after, dedupe_key, headers, on_conflict)
        try:
            rows = self.connection.execute(query, params).fetchall()
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateJobError(_dedupe_keys(dedupe_key), exc.diag.message_detail or "") from exc
        return [r[0] for r in rows]

    def queue_size(self) -> list[QueueStatistics]:
        """See ``Queries.queue_size``."""
        return [QueueStatistics(*r) for r in self.connection.execute(sql.QUEUE_SIZE).fetchall()]

    def job_status(self, job_ids: Sequence[int]) -> list[tuple[int, str]]:
        """See ``Queries.job_status``."""
        return [(r[0], r[1]) for r in self.connection.execute(sql.JOB_STATUS, (list(job_ids),)).fetchall()]
