"""QueueManager and PgQueuer: the worker-side API, shaped like PgQueuer's.

A PgQueuer worker ports by changing its imports and its connect call::

    import psycopg
    from pgqueuer_client import PgQueuer, Job

    async def main() -> PgQueuer:
        conn = await psycopg.AsyncConnection.connect(autocommit=True)
        pgq = PgQueuer.from_psycopg_connection(conn)

        @pgq.entrypoint("fetch", concurrency_limit=4)
        async def fetch(job: Job) -> None:
            ...

        return pgq

and runs with ``python3 -m pgqueuer_client run myapp:main``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any, Callable, MutableMapping, Optional, Union

import psycopg

from .entrypoints import Entrypoint, ScheduleEntry, Seconds, is_async_callable, make_entrypoint, wants_context
from .models import Context, Job, QueueExecutionMode, Schedule
from .queries import Queries
from .worker import WorkerRun

Handler = Callable[..., Any]


def _timeout_seconds(value: Union[timedelta, float, int], name: str) -> float:
    """A timedelta or seconds in seconds; ValueError when negative."""
    s = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if s < 0:
        raise ValueError(f"{name} must not be negative")
    return s


class QueueManager:
    """PgQueuer's ``QueueManager``: registers entrypoints and runs the
    worker loop (see ``worker.py``) on the SQL API.

    ``connection``: a psycopg ``AsyncConnection`` with ``autocommit=True``,
    or None to connect at ``run()`` to ``dsn`` (else ``$PGQUEUER_DSN``,
    ``$PGDSN``, libpq's ``PG*`` variables).  ``resources``: the mapping
    every handler's ``Context.resources`` refers to (PgQueuer's shared
    resources).  Attributes: ``queue_manager_id`` (a new UUID per manager,
    the owner of the jobs it claims), ``queries`` (a :class:`Queries` on the
    same connection, for handlers that enqueue), ``shutdown`` (an
    ``asyncio.Event``; set it, or call ``stop()``, for a graceful stop),
    ``stats`` (counters: dequeued, successful, exception, retried, held,
    cancelled).
    """

    def __init__(self, connection: Optional[psycopg.AsyncConnection] = None, *, dsn: Optional[str] = None,
                 resources: Optional[MutableMapping] = None) -> None:
        self.connection = connection
        self.dsn = dsn
        self.resources: MutableMapping = resources if resources is not None else {}
        self.queue_manager_id = uuid.uuid4()
        self.lock = asyncio.Lock()
        self.queries = Queries(connection, self.lock) if connection is not None else Queries(None, self.lock)
        self.shutdown = asyncio.Event()
        self.entrypoint_registry: dict[str, Entrypoint] = {}
        self.schedule_registry: list[ScheduleEntry] = []
        self.drained = False
        self.stats = dict.fromkeys(("dequeued", "successful", "exception", "retried", "held", "cancelled"), 0)
        self._contexts: dict[int, Context] = {}
        self._run: Optional[WorkerRun] = None

    @property
    def alive(self) -> bool:
        """False once a stop was requested (PgQueuer's ``qm.alive``);
        setting it to False requests a graceful stop."""
        return not self.shutdown.is_set()

    @alive.setter
    def alive(self, value: bool) -> None:
        if not value:
            self.shutdown.set()

    def stop(self) -> None:
        """Request a graceful stop: no new jobs are claimed, running ones
        finish and are reported, then ``run()`` returns.  Safe to call from
        a signal handler installed with ``loop.add_signal_handler``."""
        self.shutdown.set()

    def entrypoint(
        self,
        name: str,
        *,
        concurrency_limit: Optional[int] = None,
        requests_per_second: Optional[float] = None,
        max_attempts: Optional[int] = None,
        retry_backoff_base: Optional[Seconds] = None,
        retry_backoff_max: Optional[Seconds] = None,
        lease_timeout: Optional[Seconds] = None,
        on_failure: Optional[str] = None,
        accepts_context: Optional[bool] = None,
        register: Optional[bool] = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator: serve jobs of entrypoint ``name`` with the decorated
        function (as PgQueuer's ``entrypoint``).

        The handler is ``async def f(job)`` or a plain ``def f(job)``, which
        runs on a thread pool of ``max_concurrent_tasks`` threads (1024 at
        most without it); with ``accepts_context=True`` (or a second
        parameter, or one annotated ``Context``) it is called
        ``f(job, context)``.  It returns normally
        (``successful``), raises :class:`RetryRequested` (run again after its
        delay, ``pgqueuer.retry``) or raises anything else (``exception``
        with PgQueuer's traceback record).

        Settings enforced by the server for every worker, Python, C or
        ``--exec`` alike (``pgqueuer.register_entrypoint``; sent at start
        only when at least one is given, or with ``register=True``):
        ``concurrency_limit`` (jobs picked at once fleet-wide, 0 = none),
        ``requests_per_second`` (jobs handed out per second fleet-wide,
        0 = none), ``max_attempts`` (retries of exceptions and lease
        expiries; None = server default), ``retry_backoff_base`` /
        ``retry_backoff_max`` (timedelta or seconds; a failed job is due
        again after min(base * 2^attempts, max); defaults 1 s and 5 min),
        ``lease_timeout`` (timedelta or seconds without a heartbeat before
        the server returns a job to the queue; None = GUC
        ``pgqueuer.lease_timeout``), ``on_failure`` (``"delete"`` or
        ``"hold"`` after the last attempt).

        Raises RuntimeError for a name registered twice, ValueError for a
        malformed setting (as PgQueuer); the server checks ranges at start.
        """
        if name in self.entrypoint_registry:
            raise RuntimeError(f"{name!r} is already registered")

        def build(func: Handler) -> Entrypoint:
            """The Entrypoint of func with the decorator's settings."""
            return make_entrypoint(
                name, func, concurrency_limit=concurrency_limit, requests_per_second=requests_per_second,
                lease_timeout=lease_timeout, max_attempts=max_attempts, retry_backoff_base=retry_backoff_base,
                retry_backoff_max=retry_backoff_max, on_failure=on_failure, accepts_context=False,
                register=register)

        build(lambda job: None)  # the settings are checked now, as in PgQueuer

        def register_handler(func: Handler) -> Handler:
            """Register func under name; returns it unchanged."""
            if name in self.entrypoint_registry:
                raise RuntimeError(f"{name!r} is already registered")
            entry = build(func)
            entry.accepts_context = wants_context(func, accepts_context)
            self.entrypoint_registry[name] = entry
            return func

        return register_handler

    def schedule(self, entrypoint: str, expression: str, *, clean_old: bool = False,
                 accepts_context: Optional[bool] = None) -> Callable[[Handler], Handler]:
        """Decorator: a cron schedule run by the server (PgQueuer's
        ``schedule``).  At start the worker calls ``pgqueuer.schedule(
        entrypoint, expression)``; the server's background worker then
        enqueues one job for ``entrypoint`` per due time (once, however many
        workers registered it), and this worker runs the decorated function
        with a :class:`Schedule` (plus a Context when it takes two
        arguments).  ``expression``: 5 cron fields, or 6 with trailing
        seconds; checked by the server at start (22023 names the field and
        position).  ``clean_old``: first remove every other schedule of the
        entrypoint.  Several expressions may share an entrypoint.  Needs the
        ``pgqueuer_admin`` role.  Raises RuntimeError when (entrypoint,
        expression) is registered twice or the name is a plain entrypoint.
        """
        def register_schedule(func: Handler) -> Handler:
            """Register func for (entrypoint, expression); returns it unchanged."""
            for s in self.schedule_registry:
                if s.entrypoint == entrypoint and s.expression == expression:
                    raise RuntimeError(f"schedule {expression!r} of {entrypoint!r} is already registered")
            if entrypoint in self.entrypoint_registry and not any(
                    s.entrypoint == entrypoint for s in self.schedule_registry):
                raise RuntimeError(f"{entrypoint!r} is already registered as an entrypoint")
            entry = ScheduleEntry(entrypoint, expression, func, is_async_callable(func),
                                  wants_context(func, accepts_context), clean_old)
            self.schedule_registry.append(entry)
            if entrypoint not in self.entrypoint_registry:
                self.entrypoint_registry[entrypoint] = make_entrypoint(
                    entrypoint, self._schedule_dispatcher(entrypoint), concurrency_limit=None,
                    requests_per_second=None, lease_timeout=None, max_attempts=None, retry_backoff_base=None,
                    retry_backoff_max=None, on_failure=None, accepts_context=True, register=False)
            return func

        return register_schedule

    def _schedule_dispatcher(self, entrypoint: str) -> Handler:
        """The entrypoint handler of a scheduled entrypoint: finds the
        schedule by the expression the job carries as payload and calls its
        function with a Schedule."""
        async def dispatch(job: Job, context: Context) -> None:
            """Run the schedule function the fired job belongs to."""
            expression = (job.payload or b"").decode("utf-8", "replace")
            entries = [s for s in self.schedule_registry if s.entrypoint == entrypoint]
            entry = next((s for s in entries if s.expression == expression), entries[0])
            sched = Schedule(id=entry.schedule_id, expression=entry.expression, entrypoint=entrypoint, job=job)
            args = (sched, context) if entry.accepts_context else (sched,)
            if entry.is_async:
                await entry.func(*args)
            else:
                await asyncio.get_running_loop().run_in_executor(None, lambda: entry.func(*args))

        return dispatch

    def get_context(self, job_id: int) -> Context:
        """The Context of a running job (PgQueuer's ``qm.get_context``).
        Raises KeyError when this worker does not run ``job_id``."""
        if self._run is None:
            raise KeyError(job_id)
        return self._run.running[job_id].ctx

    async def run(
        self,
        dequeue_timeout: Union[timedelta, float] = timedelta(seconds=30),
        batch_size: int = 10,
        mode: Union[str, QueueExecutionMode] = "continuous",
        max_concurrent_tasks: Optional[int] = None,
        shutdown_on_listener_failure: bool = False,
        heartbeat_timeout: Optional[Union[timedelta, float]] = None,
    ) -> None:
        """Serve the registered entrypoints until stopped (PgQueuer's
        ``QueueManager.run``).

        ``dequeue_timeout``: longest wait without a notification before
        polling (timedelta or seconds; wake-ups normally come by LISTEN).
        ``batch_size``: most jobs claimed per ``pgqueuer.dequeue`` (>= 1).
        ``mode``: ``"continuous"``, or ``"drain"`` to return once no job of
        these entrypoints is queued (deferred ones included) or running
        (a :class:`QueueExecutionMode` is accepted too).
        ``max_concurrent_tasks``: most jobs this worker runs at once, also
        the thread pool size of sync handlers (None = no cap, as PgQueuer:
        a batch is claimed whenever there may be work; sync handlers then
        share up to 1024 threads; unlike PgQueuer a cap need not be twice
        the batch: the worker claims only as many jobs as it has free
        slots).  ``shutdown_on_listener_failure``:
        every 10 s check that a notification sent through ``ch_pgqueuer``
        comes back within 10 s, else stop with FailingListenerError.
        ``heartbeat_timeout``: accepted for PgQueuer's signature and
        ignored with a warning: leases are the server's (the entrypoint's
        ``lease_timeout``, else ``pgqueuer.lease_timeout``).

        Returns after a graceful stop (``stop()``, ``shutdown.set()``) or a
        drain: no new jobs, running ones finish, are heartbeated and
        reported.  A lost connection is re-opened with back-off meanwhile.
        Raises ValueError for bad arguments, SetupError when it cannot
        start (no extension, a registration refused, no entrypoint),
        FailingListenerError, or the database error that stopped it.
        """
        from .errors import SetupError

        timeout = _timeout_seconds(dequeue_timeout, "dequeue_timeout")
        if isinstance(mode, QueueExecutionMode):
            mode = mode.value
        if heartbeat_timeout is not None:
            logging.getLogger("pgqueuer_client").warning(
                "heartbeat_timeout is ignored: leases are the server's (lease_timeout of the entrypoint)")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("batch_size must be an integer >= 1")
        if mode not in ("continuous", "drain"):
            raise ValueError("mode must be 'continuous' or 'drain'")
        if max_concurrent_tasks is not None and (not isinstance(max_concurrent_tasks, int) or max_concurrent_tasks < 1):
            raise ValueError("max_concurrent_tasks must be an integer >= 1 or None")
        if not self.entrypoint_registry:
            raise SetupError("no entrypoint registered")
        self.drained = False
        self._run = WorkerRun(self, dequeue_timeout=timeout, batch_size=batch_size, mode=mode,
                              max_concurrent_tasks=max_concurrent_tasks,
                              shutdown_on_listener_failure=shutdown_on_listener_failure)
        try:
            await self._run.main()
        finally:
            self._run = None


class PgQueuer:
    """PgQueuer's facade: one object with ``entrypoint``, ``schedule`` and
    ``run``, wrapping a :class:`QueueManager` (``qm``) whose queries are
    ``qm.queries``.  Scheduling is the server's, so there is no separate
    scheduler manager: schedules are jobs of their entrypoint.

    ``connection``: a psycopg ``AsyncConnection`` (autocommit=True) or None
    to connect at run() to ``dsn`` / the environment; ``resources``: the
    shared mapping of every handler's Context.
    """

    def __init__(self, connection: Optional[psycopg.AsyncConnection] = None, *, dsn: Optional[str] = None,
                 resources: Optional[MutableMapping] = None) -> None:
        self.qm = QueueManager(connection, dsn=dsn, resources=resources)
        self.connection = connection
        self.resources = self.qm.resources
        self.shutdown = self.qm.shutdown

    @classmethod
    def from_psycopg_connection(cls, connection: psycopg.AsyncConnection,
                                resources: Optional[MutableMapping] = None) -> "PgQueuer":
        """A PgQueuer on an existing async psycopg connection (which must
        have ``autocommit=True``), as PgQueuer's classmethod of that name."""
        return cls(connection, resources=resources)

    @classmethod
    def from_dsn(cls, dsn: Optional[str] = None, resources: Optional[MutableMapping] = None) -> "PgQueuer":
        """A PgQueuer that connects at run() to ``dsn`` (None: the
        environment, see ``connect.resolve_dsn``)."""
        return cls(None, dsn=dsn, resources=resources)

    def entrypoint(self, name: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """See ``QueueManager.entrypoint``."""
        return self.qm.entrypoint(name, **kwargs)

    def schedule(self, entrypoint: str, expression: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        """See ``QueueManager.schedule``."""
        return self.qm.schedule(entrypoint, expression, **kwargs)

    def get_context(self, job_id: int) -> Context:
        """See ``QueueManager.get_context``."""
        return self.qm.get_context(job_id)

    def stop(self) -> None:
        """See ``QueueManager.stop``."""
        self.qm.stop()

    async def run(self, **kwargs: Any) -> None:
        """See ``QueueManager.run`` (same arguments)."""
        await self.qm.run(**kwargs)
