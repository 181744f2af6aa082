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
   ONE statement: one round trip and one transaction;
4. otherwise sleeps until a notification, a finished job, a heartbeat, the
   poll timer (``dequeue_timeout``) or a stop request.

Notifications arrive on a second connection that only LISTENs (psycopg
reads it in its own task), so waiting for them never competes with the
statements of the loop or of handlers using ``qm.queries``.

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
from datetime import timedelta
from typing import Optional

import psycopg
from psycopg.types.json import Jsonb

from . import sql
from .connect import connect, dsn_of
from .entrypoints import Entrypoint
from .errors import FailingListenerError, JobDecodeError, RetryRequested, SetupError
from .models import CancelScope, Context, Job, TracebackRecord

log = logging.getLogger("pgqueuer_client")

HEALTH_INTERVAL = 10.0
HEALTH_TIMEOUT = 10.0
RECONNECT_MIN = 0.1
RECONNECT_MAX = 10.0
TRANSIENT_BACKOFF = 0.5


def _safe(text: object, limit: int = 200) -> str:
    """Text from the outside (a notification) fit for a log line: repr()
    escapes control characters, long text is cut."""
    r = repr(text)
    return r if len(r) <= limit else r[:limit] + "..."


def _transient(exc: BaseException) -> bool:
    """SQLSTATEs worth retrying: 40xxx (serialization failure, deadlock),
    53xxx (resources), 55P03 (lock not available), 57014 (statement
    timeout)."""
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or ""
    return state[:2] in ("40", "53") or state in ("55P03", "57014")


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


class WorkerRun:
    """One ``run()`` of a queue manager (see the module comment).  Created
    and driven by ``QueueManager.run``; not for direct use."""

    def __init__(self, qm, *, dequeue_timeout: float, batch_size: int, mode: str,
                 max_concurrent_tasks: Optional[int], shutdown_on_listener_failure: bool) -> None:
        self.qm = qm
        self.dequeue_timeout = dequeue_timeout
        self.batch_size = batch_size
        self.mode = mode
        self.capacity = max_concurrent_tasks or batch_size
        self.health = shutdown_on_listener_failure and mode == "continuous"
        self.entries: dict[str, Entrypoint] = dict(qm.entrypoint_registry)
        self.names = list(self.entries)
        self.name_set = frozenset(self.names)
        self.qm_id: uuid.UUID = qm.queue_manager_id
        self.qm_id_text = str(self.qm_id)
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
        self.wake = asyncio.Event()
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

    # ---------------------------------------------------------------- setup

    async def setup(self) -> None:
        """Connect (or adopt the manager's connection), check the
        extension, register entrypoints and schedules, learn the leases,
        and open the listening connection.  Raises SetupError, or
        psycopg.OperationalError when the server cannot be reached."""
        qm = self.qm
        try:
            if self.conn is None and qm.connection is not None and not qm.connection.closed:
                self.conn = qm.connection
            if self.conn is None:
                self.conn = await connect(qm.dsn, "pgqueuer_client worker")
                qm.connection = self.conn
                self.own_conn = True
            if not self.conn.autocommit:
                raise SetupError("the connection must be in autocommit mode (autocommit=True)")
            qm.queries.connection = self.conn
            self.backend_pid = self.conn.info.backend_pid
            async with self.lock:
                await self._setup_sql()
            self.listen_conn = await connect(qm.dsn or dsn_of(self.conn), "pgqueuer_client listener")
            await self.listen_conn.execute(sql.LISTEN)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            raise SetupError(str(exc).strip()) from exc
        self.listen_error = None
        self.listener = asyncio.get_running_loop().create_task(self._listen(self.listen_conn))

    async def _listen(self, conn: psycopg.AsyncConnection) -> None:
        """The listener task: hand every notification to _handle_notify;
        a failure is kept for the loop, which reconnects."""
        try:
            async for n in conn.notifies():
                self._handle_notify(n.payload, n.pid)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.listen_error = exc
            self.wake.set()

    async def _close(self) -> None:
        """Stop the listener and close the connections this run opened
        (the query connection stays the manager's)."""
        if self.listener is not None:
            self.listener.cancel()
            try:
                await self.listener
            except BaseException:
                pass
            self.listener = None
        if self.listen_conn is not None:
            try:
                await self.listen_conn.close()
            except Exception:
                pass
            self.listen_conn = None

    async def _setup_sql(self) -> None:
        """The statements of ``setup`` (lock held)."""
        conn = self.conn
        db, version = await (await conn.execute(sql.EXTENSION_VERSION)).fetchone()
        if version is None:
            raise SetupError(
                f'the pgqueuer extension is not installed in database "{db}"'
                " (run CREATE EXTENSION pgqueuer, or pgq install)")
        for entry in self.entries.values():
            if entry.register:
                try:
                    await conn.execute(sql.REGISTER_ENTRYPOINT, entry.registry_params())
                except psycopg.Error as exc:
                    raise SetupError(f'could not register entrypoint "{entry.name}": {str(exc).strip()}') from exc
                log.debug('registered entrypoint "%s"', entry.name)
        cleaned: set[str] = set()
        for sched in self.qm.schedule_registry:
            try:
                if sched.clean_old and sched.entrypoint not in cleaned:
                    await conn.execute(sql.UNSCHEDULE_ENTRYPOINT, (sched.entrypoint,))
                    cleaned.add(sched.entrypoint)
                cur = await conn.execute(sql.SCHEDULE, (sched.entrypoint, sched.expression,
                                                        sched.expression.encode(), 0))
                sched.schedule_id = (await cur.fetchone())[0]
            except psycopg.Error as exc:
                raise SetupError(f'could not register schedule "{sched.expression}" of "{sched.entrypoint}":'
                                 f" {str(exc).strip()}") from exc
        default_lease = (await (await conn.execute(sql.LEASE_GUC)).fetchone())[0] or 30.0
        min_rate = 0.0
        for entry in self.entries.values():
            own = entry.lease_timeout if entry.register and entry.lease_timeout else None
            self.leases[entry.name] = own or default_lease
            if entry.register and entry.requests_per_second > 0:
                min_rate = entry.requests_per_second if min_rate == 0 else min(min_rate, entry.requests_per_second)
        if min_rate > 0:
            self.rate_poll = min(1.0, max(0.1, 1.0 / min_rate))

    # ----------------------------------------------------------- main loop

    async def main(self) -> None:
        """Run until stopped (or drained), then finish the running jobs and
        report them.  Raises SetupError, FailingListenerError, or the
        persistent database error that stopped the loop."""
        try:
            await self.setup()
        except BaseException:
            await self._close()
            if self.own_conn and self.conn is not None:
                await self.conn.close()
                self.qm.connection = None
            raise
        any_sync = any(not e.is_async for e in self.entries.values())
        if any_sync:
            self.pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.capacity, thread_name_prefix="pgqueuer-job")
        log.info("worker %s started: entrypoints %s, batch size %d, at most %d jobs at once, %s mode",
                 self.qm_id_text, "{" + ",".join(self.names) + "}", self.batch_size, self.capacity, self.mode)
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
            if self.pool is not None:
                self.pool.shutdown(wait=False)
            await self._close()
            if self.own_conn and self.conn is not None:
                await self.conn.close()
                self.qm.connection = None
        s = self.stats
        log.info("worker %s finished (%s): dequeued %d, successful %d, exception %d, retried %d, held %d, cancelled %d",
                 self.qm_id_text, "error" if self.error else ("drained" if self.qm.drained else "stopped"),
                 s["dequeued"], s["successful"], s["exception"], s["retried"], s["held"], s["cancelled"])
        if self.error is not None:
            raise self.error

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
        waits = {asyncio.ensure_future(self.wake.wait())}
        if not self.qm.shutdown.is_set():
            waits.add(asyncio.ensure_future(self.qm.shutdown.wait()))
        try:
            await asyncio.wait(waits, timeout=max(0.0, deadline - now), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in waits:
                if not f.done():
                    f.cancel()
        self.wake.clear()

    # --------------------------------------------------------- notifications

    def _handle_notify(self, payload: str, pid: int) -> None:
        """Act on one ``ch_pgqueuer`` payload: wake up for work of our
        entrypoints, note cancellations to confirm, resolve our health
        check.  Anything else is ignored; nothing is trusted."""
        try:
            event = json.loads(payload)
            kind = event.get("type")
        except (ValueError, AttributeError):
            log.warning("ignored a notification that is not a JSON object: %s", _safe(payload))
            return
        if kind == "table_changed_event":
            # our own complete() freed capacity that our dequeue in the
            # same transaction already used
            if pid == self.backend_pid and event.get("operation") == "delete":
                return
            eps = event.get("entrypoints")
            if not isinstance(eps, list) or any(e in self.name_set for e in eps if isinstance(e, str)):
                self.want_dequeue = True
                self.wake.set()
        elif kind == "cancellation_event":
            owner = event.get("queue_manager_id")
            if owner is not None and owner != self.qm_id_text:
                return
            ids = event.get("ids")
            if not isinstance(ids, list):
                return
            hit = [i for i in ids if isinstance(i, int) and i in self.running]
            if hit:
                self.cancel_candidates.update(hit)
                self.wake.set()
        elif kind == "health_check_event":
            if self.health_id is not None and event.get("id") == self.health_id:
                self.health_id = None

    async def _confirm_cancellations(self) -> None:
        """Cancel the candidate jobs that the server logged ``canceled``."""
        ids = [i for i in self.cancel_candidates if i in self.running]
        if not ids:
            self.cancel_candidates.clear()
            return
        async with self.lock:
            rows = await (await self.conn.execute(sql.JOB_STATUS, (ids,))).fetchall()
        self.cancel_candidates.clear()
        confirmed = {job_id for job_id, status in rows if status == "canceled"}
        for i in ids:
            r = self.running.get(i)
            if r is None:
                continue
            if i in confirmed:
                r.cancelled = True
                log.info("job %d (%s) cancelled", i, r.entry.name)
                r.ctx.cancellation.cancel()
            else:
                log.warning("job %d (%s): cancellation_event not confirmed by the server, ignored", i, r.entry.name)

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
        log.debug("heartbeat: %d of %d jobs still held", n, len(ids))

    async def _health_check(self, now: float) -> None:
        """PgQueuer's listener health check (shutdown_on_listener_failure):
        a health_check_event with a fresh id must come back through our
        LISTEN within 10 s."""
        if self.health_id is not None and now - self.health_sent > HEALTH_TIMEOUT:
            self.error = FailingListenerError("the listener health check failed: no health_check_event came back within 10 s")
            log.error("%s", self.error)
            self.qm.shutdown.set()
            return
        if self.health_id is None and now >= self.next_health:
            self.health_id = str(uuid.uuid4())
            self.health_sent = now
            self.next_health = now + HEALTH_INTERVAL
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
            payload = json.dumps({"channel": sql.CHANNEL, "sent_at": stamp, "type": "health_check_event",
                                  "received_at": stamp, "id": self.health_id})
            async with self.lock:
                await self.conn.execute(sql.NOTIFY, (sql.CHANNEL, payload))

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
            rows = await self._pipeline(outcomes, retries, want)
        except BaseException:
            self.outcomes[:0] = outcomes
            self.retries[:0] = retries
            raise
        for row in rows:
            self._start(row)
        if rows:
            log.debug("dequeued %d of %d jobs", len(rows), want)
        return len(rows)

    async def _pipeline(self, outcomes: list, retries: list, want: int) -> list:
        """The statements of _flush_and_dequeue; returns the claimed rows.
        Retries (rare) go first, one call each; then complete() and
        dequeue() in one statement when there is something of both."""
        conn = self.conn
        async with self.lock:
            for job_id, delay, tb in retries:
                cur = await conn.execute(sql.RETRY, (job_id, delay, tb, self.qm_id))
                if not (await cur.fetchone())[0]:
                    log.debug("retry of job %d changed nothing (no longer held by this worker)", job_id)
            if outcomes:
                args = ([o[0] for o in outcomes], [o[1] for o in outcomes], [o[2] for o in outcomes], self.qm_id)
                if not want:
                    await conn.execute(sql.COMPLETE, args)
                    return []
                cur = conn.cursor(binary=True)
                await cur.execute(sql.COMPLETE_DEQUEUE, args + (want, self.names, self.qm_id))
                return await cur.fetchall()
            if not want:
                return []
            cur = conn.cursor(binary=True)
            await cur.execute(sql.DEQUEUE, (want, self.names, self.qm_id))
            return await cur.fetchall()

    def _start(self, row: tuple) -> None:
        """Turn a claimed row into a Job and start its handler; a row that
        cannot be decoded is reported as an exception against the job."""
        self.stats["dequeued"] += 1
        job_id = row[0]
        try:
            entry = self.entries[row[6]]
            headers = None if row[9] is None else json.loads(row[9])
            if headers is not None and not isinstance(headers, dict):
                raise JobDecodeError(f"headers of job {job_id} are not a JSON object: {_safe(row[9], 100)}")
            job = Job(id=job_id, priority=row[1], created=row[2], updated=row[3], heartbeat=row[4],
                      execute_after=row[5], status="picked", entrypoint=row[6], payload=row[7],
                      attempts=row[8], queue_manager_id=self.qm_id, headers=headers, dedupe_key=row[10])
        except Exception as exc:
            if not isinstance(exc, JobDecodeError):
                exc = JobDecodeError(f"could not decode job {job_id}: {exc!r}")
            log.error("job %d: %s", job_id, exc)
            tb = TracebackRecord.from_exception(exc, job_id, {"entrypoint": row[6], "queue_manager_id": self.qm_id_text})
            self.outcomes.append((job_id, "exception", Jsonb(tb.as_dict())))
            self.stats["exception"] += 1
            return
        ctx = Context(cancellation=CancelScope(), resources=self.qm.resources, job=job)
        r = _Running(job, ctx, entry, time.monotonic() + self.leases[entry.name] / 2)
        self.running[job_id] = r
        r.task = asyncio.get_running_loop().create_task(self._execute(r))

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
            key = {"successful": "successful", "failed": "held", "canceled": "cancelled"}.get(status, "exception")
            self.stats[key] += 1
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

    # ------------------------------------------------------------ reconnect

    async def reconnect(self, exc: BaseException) -> bool:
        """Re-open a lost connection with back-off (0.1 s doubling to 10 s)
        while the handlers keep running, then set up again (same
        queue_manager_id, so outcomes are still accepted for jobs whose
        leases held).  Gives up when stopping and nothing is left to
        report.  Returns whether a connection is back."""
        log.warning("connection to the server lost: %s", str(exc).strip() or type(exc).__name__)
        old = self.conn
        dsn = self.qm.dsn or (dsn_of(old) if old is not None else None)
        await self._close()
        try:
            if old is not None:
                await old.close()
        except Exception:
            pass
        self.conn = None
        self.qm.connection = None
        delay = RECONNECT_MIN
        while True:
            if self.qm.shutdown.is_set() and not self.running:
                if self.outcomes or self.retries:
                    log.error("stopping without reporting %d finished jobs: their leases will expire and they run again",
                              len(self.outcomes) + len(self.retries))
                return False
            try:
                self.conn = await connect(dsn, "pgqueuer_client worker")
                self.qm.connection = self.conn
                self.own_conn = True
                await self.setup()
                log.info("reconnected")
                self.want_dequeue = True
                return True
            except psycopg.OperationalError as err:
                log.warning("reconnect failed (next try in %.1f s): %s", delay, str(err).strip())
                self.conn = None
            if self.qm.shutdown.is_set():
                await asyncio.sleep(delay)
            else:
                try:
                    await asyncio.wait_for(self.qm.shutdown.wait(), timeout=delay)
                except asyncio.TimeoutError:
                    pass
            delay = min(delay * 2, RECONNECT_MAX)
