"""The worker loop behind ``QueueManager.run()``.

One connection, one asyncio task for the loop, one task per running job
(sync handlers on a thread pool).  Each turn of the loop:

1. confirms cancellations announced by ``cancellation_event``s
   (``pgqueuer.job_status``: only a job the server logged ``canceled`` is
   cancelled; a notification is only a hint, anyone may send one);
2. heartbeats the running jobs when one of them reached half its lease
   (``pgqueuer.heartbeat``, one call for all);
3. reports finished jobs (one ``pgqueuer.retry`` per retry request, then
   ``pgqueuer.complete`` for all the others) and claims up to as many jobs
   as it has free slots (``pgqueuer.dequeue``), complete and dequeue in
   ONE statement: one round trip and one transaction; the claimed batch
   arrives as one JSON value (these statements go through rawexec.py, a
   prepared statement on psycopg's libpq layer: about half the client CPU
   of psycopg's execute());
4. otherwise sleeps until a notification, a finished job, a heartbeat, the
   poll timer (``dequeue_timeout``) or a stop request.

Connections, notifications, cancellation checks and reconnection are in
session.py (``WorkerSession``, the base class).

The server does the queue work: limits, leases, retries with back-off,
holding failed jobs.  A lost connection is re-opened with back-off while
the handlers keep running; their outcomes are reported afterwards (fenced
by ``queue_manager_id``: a job whose lease expired meanwhile and went to
another worker is not touched), and the server's lease rescues whatever
this worker cannot report.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Optional

import psycopg
from psycopg.types.json import Jsonb

from . import rawexec, sql
from .entrypoints import Entrypoint
from .errors import JobDecodeError, RetryRequested
from .models import CancelScope, Context, Job, TracebackRecord
from .session import HEALTH_INTERVAL, HEALTH_TIMEOUT, WorkerSession, _safe

log = logging.getLogger("pgqueuer_client")

TRANSIENT_BACKOFF = 0.5
# capacity without max_concurrent_tasks (PgQueuer's None): no cap
UNLIMITED = 2**63 - 1
# threads of the pool of sync handlers without a cap (made on demand); more
# sync handlers at once wait for a thread, async ones are not affected
SYNC_THREADS_MAX = 1024


def _transient(exc: BaseException) -> bool:
    """SQLSTATEs worth retrying: 40xxx (serialization failure, deadlock),
    53xxx (resources), 55P03 (lock not available), 57014 (statement
    timeout)."""
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or ""
    return state[:2] in ("40", "53") or state in ("55P03", "57014")


_when = datetime.fromisoformat

# the stats counter of each reported status
_STAT_OF = {"successful": "successful", "failed": "held", "canceled": "cancelled"}

_RAW_DEQUEUE = sql.RAW_DEQUEUE.encode()
_RAW_COMPLETE = sql.RAW_COMPLETE.encode()
_RAW_COMPLETE_DEQUEUE = sql.RAW_COMPLETE_DEQUEUE.encode()


class _Running:
    """A job held by this worker: its Job, Context, entrypoint, task,
    when its next heartbeat is due (monotonic seconds) and whether the
    server confirmed its cancellation."""

    __slots__ = ("job", "ctx", "entry", "task", "next_beat", "cancelled")

    def __init__(self, job: Job, ctx: Context, entry: Entrypoint, next_beat: float) -> None:
        self.job = job
        self.ctx = ctx
        self.entry = entry
        self.task: Optional[asyncio.Task] = None
        self.next_beat = next_beat
        self.cancelled = False


class _Wakeup:
    """What the loop sleeps on between turns: set by notifications,
    finished jobs and stop requests.  An asyncio.Event with a timeout, but
    one future per sleep instead of the tasks that asyncio.wait_for() or
    asyncio.wait() over Event.wait() cost.  Loop thread only."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: Optional[asyncio.Future] = None

    def set(self) -> None:
        self._set = True
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def is_set(self) -> bool:
        return self._set

    def clear(self) -> None:
        self._set = False

    async def wait(self, timeout: float) -> None:
        """Until set() or ``timeout`` seconds."""
        if self._set:
            return
        loop = asyncio.get_running_loop()
        w = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _resolve, w)
        try:
            await w
        finally:
            timer.cancel()
            self._waiter = None


def _resolve(fut: asyncio.Future) -> None:
    """Timer callback of _Wakeup.wait."""
    if not fut.done():
        fut.set_result(None)


class WorkerRun(WorkerSession):
    """One ``run()`` of a queue manager (see the module comment).  Created
    and driven by ``QueueManager.run``; not for direct use."""

    def __init__(self, qm, *, dequeue_timeout: float, batch_size: int, mode: str,
                 max_concurrent_tasks: Optional[int], shutdown_on_listener_failure: bool) -> None:
        self.qm = qm
        self.dequeue_timeout = dequeue_timeout
        self.batch_size = batch_size
        self.mode = mode
        # None: no cap, as PgQueuer's max_concurrent_tasks = None
        self.capacity = max_concurrent_tasks or UNLIMITED
        self.health = shutdown_on_listener_failure and mode == "continuous"
        self.entries: dict[str, Entrypoint] = dict(qm.entrypoint_registry)
        self.names = list(self.entries)
        self.name_set = frozenset(self.names)
        self.names_literal = "{" + ",".join(
            '"' + n.replace("\\", "\\\\").replace('"', '\\"') + '"' for n in self.names) + "}"
        self.qm_id: uuid.UUID = qm.queue_manager_id
        self.qm_id_text = str(self.qm_id)
        self.qm_id_bytes = self.qm_id_text.encode()
        self.names_bytes = self.names_literal.encode()
        self.raw = rawexec.Statements()
        self.conn: Optional[psycopg.AsyncConnection] = None
        self.listen_conn: Optional[psycopg.AsyncConnection] = None
        self.listener: Optional[asyncio.Task] = None
        self.listen_error: Optional[BaseException] = None
        self.own_conn = False
        self.backend_pid = 0
        self.lock = qm.lock
        self.running: dict[int, _Running] = {}
        self.outcomes: list[tuple[int, str, Optional[Jsonb]]] = []
        self.retries: list[tuple[int, timedelta, Jsonb]] = []
        self.cancel_candidates: set[int] = set()
        self.wake = _Wakeup()
        self.stop_watch: Optional[asyncio.Task] = None
        self.want_dequeue = True
        self.next_poll = 0.0
        self.rate_poll: Optional[float] = None
        self.leases: dict[str, float] = {}
        self.pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self.error: Optional[BaseException] = None
        self.health_id: Optional[str] = None
        self.health_sent = 0.0
        self.next_health = 0.0
        self.drain_next: Optional[float] = None
        self.stats = qm.stats

    # ----------------------------------------------------------- main loop

    async def main(self) -> None:
        """Run until stopped (or drained), then finish the running jobs and
        report them.  Raises SetupError, FailingListenerError, or the
        persistent database error that stopped the loop."""
        try:
            await self.setup()
        except BaseException:
            await self._close_all()
            raise
        any_sync = any(not e.is_async for e in self.entries.values())
        if any_sync:
            self.pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=min(self.capacity, SYNC_THREADS_MAX), thread_name_prefix="pgqueuer-job")
        log.info("worker %s started: entrypoints %s, batch size %d, %s jobs at once, %s mode",
                 self.qm_id_text, "{" + ",".join(self.names) + "}", self.batch_size,
                 "no cap on" if self.capacity == UNLIMITED else f"at most {self.capacity}", self.mode)
        self.next_poll = time.monotonic() + self.dequeue_timeout
        self.next_health = time.monotonic() + HEALTH_INTERVAL
        stopping_logged = False
        try:
            while True:
                stopping = self.qm.shutdown.is_set()
                if stopping and not stopping_logged and self.running:
                    n = len(self.running)
                    log.info("stopping: waiting for %d job%s to finish", n, "" if n == 1 else "s")
                    stopping_logged = True
                if stopping and not self.running and not self.outcomes and not self.retries:
                    break
                try:
                    await self.turn(stopping)
                except psycopg.Error as exc:
                    alive = self.conn is not None and not self.conn.broken and not self.conn.closed
                    if alive and _transient(exc):
                        log.warning("statement failed, retrying: %s", str(exc).strip())
                        await asyncio.sleep(TRANSIENT_BACKOFF)
                        continue
                    if not alive or isinstance(exc, psycopg.OperationalError):
                        if not await self.reconnect(exc):
                            break
                        continue
                    log.error("stopping after a database error: %s", str(exc).strip())
                    self.error = exc
                    self.qm.shutdown.set()
                    self.outcomes.clear()
                    self.retries.clear()
                    await self._wait_running()
                    break
        finally:
            if self.stop_watch is not None:
                self.stop_watch.cancel()
                self.stop_watch = None
            if self.pool is not None:
                self.pool.shutdown(wait=False)
            await self._close_all()
        s = self.stats
        log.info("worker %s finished (%s): dequeued %d, successful %d, exception %d, retried %d, held %d, cancelled %d",
                 self.qm_id_text, "error" if self.error else ("drained" if self.qm.drained else "stopped"),
                 s["dequeued"], s["successful"], s["exception"], s["retried"], s["held"], s["cancelled"])
        if self.error is not None:
            raise self.error

    async def _close_all(self) -> None:
        """Close the listener and, when this run opened it, the statement
        connection (a connection the caller handed in stays open)."""
        await self._close()
        if self.own_conn and self.conn is not None:
            await self.conn.close()
            self.qm.connection = None

    async def turn(self, stopping: bool) -> None:
        """One turn of the loop (see the module comment)."""
        now = time.monotonic()
        if self.listen_error is not None:
            raise psycopg.OperationalError(f"the listening connection failed: {self.listen_error}")
        if self.cancel_candidates:
            await self._confirm_cancellations()
        await self._heartbeat(now)
        if self.health:
            await self._health_check(now)
        free = self.capacity - len(self.running)
        if now >= self.next_poll or (self.drain_next is not None and now >= self.drain_next):
            self.want_dequeue = True
            self.drain_next = None
        want = min(self.batch_size, free) if (not stopping and self.want_dequeue and free > 0) else 0
        if want or self.outcomes or self.retries:
            got = await self._flush_and_dequeue(want)
            self.next_poll = time.monotonic() + self.dequeue_timeout
            if want and got < want:
                self.want_dequeue = False
                if self.rate_poll is not None:
                    self.next_poll = min(self.next_poll, time.monotonic() + self.rate_poll)
                if self.mode == "drain" and not self.running and not self.outcomes and not self.retries:
                    await self._drain_check()
            if got:
                # let the new handlers take their first step (after the
                # bookkeeping above, which their _finish must override):
                # quick ones finish in it, and the next turn reports them
                # right away instead of going through _sleep
                await asyncio.sleep(0)
            return
        await self._sleep(now)

    async def _sleep(self, now: float) -> None:
        """Wait for a wake-up: a notification, a finished job, the next
        heartbeat or poll, a stop request."""
        deadline = self.next_poll
        for r in self.running.values():
            if not r.cancelled and r.next_beat < deadline:
                deadline = r.next_beat
        if self.health:
            deadline = min(deadline, self.next_health)
            if self.health_id is not None:
                deadline = min(deadline, self.health_sent + HEALTH_TIMEOUT)
        if self.drain_next is not None:
            deadline = min(deadline, self.drain_next)
        if self.wake.is_set():
            self.wake.clear()
            return
        if not self.qm.shutdown.is_set() and (self.stop_watch is None or self.stop_watch.done()):
            self.stop_watch = asyncio.get_running_loop().create_task(self._watch_stop())
        await self.wake.wait(max(0.0, deadline - now))
        self.wake.clear()

    async def _watch_stop(self) -> None:
        """Wake the loop when a stop is requested (one task per run, not
        one per sleep)."""
        await self.qm.shutdown.wait()
        self.wake.set()

    # ------------------------------------------------------------ heartbeats

    async def _heartbeat(self, now: float) -> None:
        """Extend the leases of all running jobs when one is due."""
        if not any(r.next_beat <= now and not r.cancelled for r in self.running.values()):
            return
        ids = []
        for r in self.running.values():
            if not r.cancelled:
                ids.append(r.job.id)
                r.next_beat = now + self.leases[r.entry.name] / 2
        async with self.lock:
            n = (await (await self.conn.execute(sql.HEARTBEAT, (ids, self.qm_id))).fetchone())[0]
        if n < len(ids):
            log.warning("heartbeat: %d of %d running jobs are no longer held by this worker (cancelled, or"
                        " their lease expired: if another worker registered a shorter lease_timeout for"
                        " the entrypoint, register the same here)", len(ids) - n, len(ids))
        else:
            log.debug("heartbeat: %d jobs", n)

    # -------------------------------------------------- report and dequeue

    async def _flush_and_dequeue(self, want: int) -> int:
        """Report pending outcomes and retries and claim up to ``want``
        jobs (complete and dequeue in one round trip and transaction).
        Outcomes stay pending when the statement fails (a retry already
        made is not repeated: retry() of a job no longer picked changes
        nothing).  Returns the jobs claimed."""
        # handlers finishing during the awaits below add to fresh lists
        outcomes, retries = self.outcomes, self.retries
        self.outcomes, self.retries = [], []
        try:
            rows = await self._report_and_claim(outcomes, retries, want)
        except BaseException:
            self.outcomes[:0] = outcomes
            self.retries[:0] = retries
            raise
        if rows:
            loop = asyncio.get_running_loop()
            now = time.monotonic()
            for row in rows:
                self._start(row, loop, now)
            log.debug("dequeued %d of %d jobs", len(rows), want)
        return len(rows)

    async def _report_and_claim(self, outcomes: list, retries: list, want: int) -> list:
        """The statements of _flush_and_dequeue; returns the claimed rows.
        Retries (rare) go first, one call each; then complete() and
        dequeue() in one statement when there is something of both.  The
        complete()/dequeue() statements go through rawexec (prepared once,
        text parameters, no psycopg adaptation), except a complete() with
        tracebacks (exceptions: rare), which goes through psycopg's Jsonb."""
        conn = self.conn
        async with self.lock:
            for job_id, delay, tb in retries:
                cur = await conn.execute(sql.RETRY, (job_id, delay, tb, self.qm_id))
                if not (await cur.fetchone())[0]:
                    log.debug("retry of job %d changed nothing (no longer held by this worker)", job_id)
            if outcomes:
                # array literals are much cheaper to send than lists
                # through psycopg's array dumpers; tracebacks only when any
                ids = "{" + ",".join([str(o[0]) for o in outcomes]) + "}"
                statuses = "{" + ",".join([o[1] for o in outcomes]) + "}"
                tracebacks = [o[2] for o in outcomes]
                if any(t is not None for t in tracebacks):
                    args = (ids, statuses, tracebacks, self.qm_id_text)
                    if not want:
                        await conn.execute(sql.COMPLETE, args)
                        return []
                    cur = await conn.execute(sql.COMPLETE_DEQUEUE, args + (want, self.names_literal, self.qm_id_text))
                    batch = (await cur.fetchone())[0]
                else:
                    args = (ids.encode(), statuses.encode(), self.qm_id_bytes)
                    if not want:
                        await self.raw.value(conn, b"pgqueuer_client_complete", _RAW_COMPLETE, args)
                        return []
                    args += (str(want).encode(), self.names_bytes)
                    batch = await self.raw.value(conn, b"pgqueuer_client_complete_dequeue", _RAW_COMPLETE_DEQUEUE, args)
            elif want:
                batch = await self.raw.value(conn, b"pgqueuer_client_dequeue", _RAW_DEQUEUE,
                                             (str(want).encode(), self.names_bytes, self.qm_id_bytes))
            else:
                return []
        return [] if batch is None else json.loads(batch)

    def _start(self, row: list, loop: asyncio.AbstractEventLoop, now: float) -> None:
        """Turn a claimed row (a JSON array, see sql.DEQUEUE) into a Job and
        start its handler in a task of its own; a row that cannot be
        decoded is reported as an exception against the job."""
        self.stats["dequeued"] += 1
        job_id = row[0]
        try:
            entry = self.entries[row[6]]
            headers = row[9]
            if headers is not None and not isinstance(headers, dict):
                raise JobDecodeError(f"headers of job {job_id} are not a JSON object: {_safe(headers, 100)}")
            payload = row[7]
            job = Job(job_id, row[1], _when(row[2]), _when(row[3]), _when(row[4]), _when(row[5]), "picked",
                      row[6], None if payload is None else bytes.fromhex(payload), row[8], self.qm_id,
                      headers, row[10])
        except Exception as exc:
            if not isinstance(exc, JobDecodeError):
                exc = JobDecodeError(f"could not decode job {job_id}: {exc!r}")
            log.error("job %d: %s", job_id, exc)
            tb = TracebackRecord.from_exception(exc, job_id, {"entrypoint": row[6], "queue_manager_id": self.qm_id_text})
            self.outcomes.append((job_id, "exception", Jsonb(tb.as_dict())))
            self.stats["exception"] += 1
            return
        r = _Running(job, Context(CancelScope(), self.qm.resources, job), entry, now + self.leases[entry.name] / 2)
        self.running[job_id] = r
        r.task = loop.create_task(self._execute(r))

    async def _execute(self, r: _Running) -> None:
        """Run one job's handler and record its outcome."""
        job, entry = r.job, r.entry
        status, tb = "successful", None
        try:
            if not r.ctx.cancellation.cancel_called:
                args = (job, r.ctx) if entry.accepts_context else (job,)
                if entry.is_async:
                    await entry.func(*args)
                else:
                    await asyncio.get_running_loop().run_in_executor(self.pool, functools.partial(entry.func, *args))
        except RetryRequested as exc:
            tb = TracebackRecord.from_exception(exc, job.id, {
                "entrypoint": entry.name, "queue_manager_id": self.qm_id_text,
                "attempt": job.attempts, "retry_delay": str(exc.delay), "reason": exc.reason})
            tb.traceback = getattr(exc, "traceback_text", tb.traceback)
            self._finish(r, None, None)
            if not r.cancelled:
                self.retries.append((job.id, exc.delay, Jsonb(tb.as_dict())))
                self.stats["retried"] += 1
                log.info("job %d (%s) retry requested in %s", job.id, entry.name, exc.delay)
            return
        except asyncio.CancelledError as exc:
            status = "canceled"
            tb = TracebackRecord.from_exception(exc, job.id, {"entrypoint": entry.name, "queue_manager_id": self.qm_id_text})
        except Exception as exc:
            status = "failed" if (entry.on_failure == "hold" and not entry.register) else "exception"
            tb = TracebackRecord.from_exception(exc, job.id, {"entrypoint": entry.name, "queue_manager_id": self.qm_id_text})
            tb.traceback = getattr(exc, "traceback_text", tb.traceback)
            log.warning("job %d (%s) failed: %s: %s", job.id, entry.name, type(exc).__name__, exc)
        except BaseException:
            # SystemExit and the like: left picked; the lease returns it
            self._finish(r, None, None)
            raise
        self._finish(r, status, tb)

    def _finish(self, r: _Running, status: Optional[str], tb: Optional[TracebackRecord]) -> None:
        """Forget a finished job and queue its outcome for the next turn
        (a job cancelled by the server is not reported: cancel() already
        logged it)."""
        self.running.pop(r.job.id, None)
        self.want_dequeue = True
        if r.cancelled:
            self.stats["cancelled"] += 1
        elif status is not None:
            self.outcomes.append((r.job.id, status, None if tb is None else Jsonb(tb.as_dict())))
            self.stats[_STAT_OF.get(status, "exception")] += 1
        self.wake.set()

    async def _wait_running(self) -> None:
        """Wait for every running handler to return."""
        tasks = [r.task for r in self.running.values() if r.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain_check(self) -> None:
        """Drain mode, nothing running and nothing claimed: stop when no
        job of ours is queued (deferred ones included); otherwise poll."""
        async with self.lock:
            rows = await (await self.conn.execute(sql.QUEUE_SIZE)).fetchall()
        left = sum(r[0] for r in rows if r[3] == "queued" and r[1] in self.name_set)
        if left == 0:
            self.qm.drained = True
            self.qm.shutdown.set()
        else:
            self.drain_next = time.monotonic() + min(1.0, self.dequeue_timeout)
