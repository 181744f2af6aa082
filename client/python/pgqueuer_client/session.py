"""The connections of a worker run: setup, listening, notifications,
cancellation checks, the listener health check and reconnection.

``WorkerSession`` is the base of ``WorkerRun`` (worker.py): it owns the
statement connection (adopted from the manager or opened here) and a second
connection that only LISTENs on ``ch_pgqueuer``, read by its own task so
that waiting for notifications never competes with statements.  A
notification is only a hint: it wakes the loop up, and a cancellation is
acted on only after ``pgqueuer.job_status`` confirms it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import psycopg
from psycopg import pq

from . import sql
from .connect import connect, dsn_of
from .errors import FailingListenerError, SetupError

log = logging.getLogger("pgqueuer_client")

HEALTH_INTERVAL = 10.0
HEALTH_TIMEOUT = 10.0
RECONNECT_MIN = 0.1
RECONNECT_MAX = 10.0


def _safe(text: object, limit: int = 200) -> str:
    """Text from the outside (a notification) fit for a log line: repr()
    escapes control characters, long text is cut."""
    r = repr(text)
    return r if len(r) <= limit else r[:limit] + "..."


class WorkerSession:
    """Connection handling of a worker run (see the module comment); the
    state it uses is set up by ``WorkerRun.__init__``."""

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
                # pgqueuer.workers() finds the worker by this name
                self.conn = await connect(qm.dsn, "pgqueuer worker " + self.qm_id_text)
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
        """The listener task: while it runs, a reader callback on the
        listening connection's socket hands every notification to
        _handle_notify (libpq's queue read directly: no task switch, lock
        or generator per notification, as psycopg's notifies() has); a
        failure is kept for the loop, which reconnects."""
        loop = asyncio.get_running_loop()
        pgconn = conn.pgconn
        encoding = conn.info.encoding
        failed = loop.create_future()

        def readable() -> None:
            try:
                pgconn.consume_input()
                while True:
                    n = pgconn.notifies()
                    if n is None:
                        break
                    self._handle_notify(n.extra.decode(encoding, "replace"), n.be_pid)
                if pgconn.status != pq.ConnStatus.OK:
                    raise psycopg.OperationalError("the listening connection is closed")
            except Exception as exc:
                loop.remove_reader(fd)
                if not failed.done():
                    failed.set_exception(exc)

        try:
            fd = pgconn.socket
            loop.add_reader(fd, readable)
            try:
                # notifications that arrived with LISTEN's own answer
                readable()
                await failed
            finally:
                loop.remove_reader(fd)
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
                self.conn = await connect(dsn, "pgqueuer worker " + self.qm_id_text)
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
