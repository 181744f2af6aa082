"""Data shapes of the Python client: jobs, handler contexts, schedules,
tracebacks and the rows of the inspection functions.

Field names follow PgQueuer's models (``pgqueuer.models``) so that handler
code that reads ``job.id``, ``job.payload``, ``job.attempts`` ... ports
unchanged.  Plain dataclasses are used instead of pydantic models: the
client depends on nothing outside Debian's python3-psycopg.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import threading
import traceback as _traceback
import uuid
from collections.abc import MutableMapping
from datetime import datetime, timezone
from typing import Any, Optional


class QueueExecutionMode(str, enum.Enum):
    """PgQueuer's ``QueueExecutionMode`` for ``run(mode=...)``:
    ``continuous`` (until stopped) or ``drain`` (until no job is left).
    The plain strings are accepted too."""

    continuous = "continuous"
    drain = "drain"


@dataclasses.dataclass(slots=True)
class Job:
    """One job handed to a handler, as ``pgqueuer.dequeue()`` claimed it.

    Fields (PgQueuer's ``Job``): ``id`` (int), ``priority`` (int, higher runs
    first), ``created``, ``updated``, ``heartbeat``, ``execute_after``
    (timezone-aware datetimes), ``status`` (always ``"picked"`` while a
    handler runs), ``entrypoint`` (str), ``payload`` (bytes or None),
    ``attempts`` (int: earlier runs of this job, 0 on the first),
    ``queue_manager_id`` (uuid.UUID of the worker holding it), ``headers``
    (dict or None).  Extra: ``dedupe_key`` (str or None).
    """

    id: int
    priority: int
    created: datetime
    updated: datetime
    heartbeat: datetime
    execute_after: datetime
    status: str
    entrypoint: str
    payload: Optional[bytes]
    attempts: int
    queue_manager_id: Optional[uuid.UUID]
    headers: Optional[dict[str, Any]]
    dedupe_key: Optional[str] = None

    def logfire_headers(self) -> Optional[dict[str, Any]]:
        """The ``logfire`` entry of the headers, or None (as in PgQueuer)."""
        return None if self.headers is None else self.headers.get("logfire")

    def sentry_headers(self) -> Optional[dict[str, Any]]:
        """The ``sentry`` entry of the headers, or None (as in PgQueuer)."""
        return None if self.headers is None else self.headers.get("sentry")

    def otel_headers(self) -> Optional[dict[str, Any]]:
        """The ``otel`` entry of the headers, or None (as in PgQueuer)."""
        return None if self.headers is None else self.headers.get("otel")


class CancelScope:
    """The cancellation handle of one running job (``Context.cancellation``).

    Shaped like the anyio CancelScope PgQueuer hands out:

    - ``cancel_called`` (bool) turns true once the job was cancelled (the
      worker confirmed a ``pgqueuer.cancel()`` with the server).  Sync
      handlers running on a pool thread poll it, or wait on ``event``
      (a ``threading.Event``).
    - ``with context.cancellation:`` around awaited work in an async
      handler: cancelling interrupts the awaited call inside the block, the
      block is left without an exception, and the handler carries on after
      it.  Code outside such a block is never interrupted (cooperative
      cancellation, as in PgQueuer).

    Whatever the handler returns afterwards, a cancelled job is not
    reported again: ``pgqueuer.cancel()`` already removed it and logged
    ``canceled``.
    """

    def __init__(self) -> None:
        # the threading.Event (a Condition and a Lock: the dearest part of
        # a job's set-up) is only made when somebody asks for it
        self._called = False
        self._event: Optional[threading.Event] = None
        self._tasks: Optional[set[asyncio.Task]] = None
        self._interrupted: Optional[set[asyncio.Task]] = None

    @property
    def event(self) -> threading.Event:
        """A ``threading.Event`` set once the job is cancelled (for sync
        handlers on a pool thread)."""
        ev = self._event
        if ev is None:
            with _event_lock:
                ev = self._event
                if ev is None:
                    ev = threading.Event()
                    if self._called:
                        ev.set()
                    self._event = ev
        return ev

    @property
    def cancel_called(self) -> bool:
        """Whether the job was cancelled."""
        return self._called

    def cancel(self) -> None:
        """Cancel the job: set ``cancel_called`` and interrupt the tasks
        currently inside a ``with`` block of this scope.  Idempotent; must
        be called on the event loop's thread."""
        if self._called:
            return
        with _event_lock:
            self._called = True
            ev = self._event
        if ev is not None:
            ev.set()
        if self._tasks:
            if self._interrupted is None:
                self._interrupted = set()
            for task in list(self._tasks):
                self._interrupted.add(task)
                task.cancel()

    def __enter__(self) -> "CancelScope":
        task = _current_task()
        if task is not None:
            if self._tasks is None:
                self._tasks = set()
            self._tasks.add(task)
            if self._called:
                if self._interrupted is None:
                    self._interrupted = set()
                self._interrupted.add(task)
                task.cancel()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        task = _current_task()
        if task is None:
            return False
        if self._tasks is not None:
            self._tasks.discard(task)
        if self._interrupted is not None and task in self._interrupted:
            self._interrupted.discard(task)
            remaining = task.uncancel()
            if exc_type is asyncio.CancelledError and remaining == 0:
                return True
        return False


_event_lock = threading.Lock()


def _current_task() -> Optional[asyncio.Task]:
    """The running asyncio task, or None on a thread without a loop."""
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


@dataclasses.dataclass(slots=True)
class Context:
    """What a handler may ask of the worker about its job (PgQueuer's
    ``Context``): ``cancellation`` (a :class:`CancelScope`), ``resources``
    (the mapping given to the manager, the same object for every job) and
    ``job`` (the :class:`Job`).  A handler receives it as its second
    argument when it declares one (see ``QueueManager.entrypoint``), or
    through ``QueueManager.get_context(job.id)``."""

    cancellation: CancelScope
    resources: MutableMapping
    job: Optional[Job] = None


@dataclasses.dataclass(slots=True)
class Schedule:
    """What a ``@schedule`` handler receives when the server fired its cron
    schedule: ``id`` (the schedule id of ``pgqueuer.schedule()``),
    ``expression`` (the cron text as registered), ``entrypoint``, and
    ``job`` (the :class:`Job` the firing enqueued; ``job.created`` is when
    it fired).  PgQueuer's Schedule also carries the table's bookkeeping
    columns (heartbeat, next_run, last_run ...), which live in the server
    here and are not sent."""

    id: Optional[int]
    expression: str
    entrypoint: str
    job: Job


@dataclasses.dataclass(slots=True)
class TracebackRecord:
    """PgQueuer's ``TracebackRecord``: what ``pgqueuer_log.traceback``
    holds for an exception, a held job or a retry.  Exactly six keys:
    ``job_id``, ``timestamp`` (UTC, ISO 8601), ``exception_type`` (class
    name), ``exception_message`` (``str(exc)``), ``traceback`` (the
    formatted traceback text) and ``additional_context`` (dict or None)."""

    job_id: int
    timestamp: datetime
    exception_type: str
    exception_message: str
    traceback: str
    additional_context: Optional[dict[str, Any]]

    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        job_id: int,
        additional_context: Optional[dict[str, Any]] = None,
    ) -> "TracebackRecord":
        """The record of ``exc`` (with its traceback) for job ``job_id``."""
        return cls(
            job_id=job_id,
            timestamp=datetime.now(timezone.utc),
            exception_type=type(exc).__name__,
            exception_message=str(exc),
            traceback="".join(_traceback.format_exception(type(exc), exc, exc.__traceback__)),
            additional_context=additional_context,
        )

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict, in PgQueuer's key order."""
        return {
            "job_id": self.job_id,
            "timestamp": self.timestamp.isoformat(),
            "exception_type": self.exception_type,
            "exception_message": self.exception_message,
            "traceback": self.traceback,
            "additional_context": self.additional_context,
        }


@dataclasses.dataclass(slots=True)
class QueueStatistics:
    """One row of ``pgqueuer.queue_size()`` (PgQueuer's QueueStatistics):
    ``count`` jobs of ``entrypoint`` at ``priority`` in ``status``."""

    count: int
    entrypoint: str
    priority: int
    status: str


@dataclasses.dataclass(slots=True)
class LogStatistics:
    """One row of ``pgqueuer.log_statistics()`` (PgQueuer's
    LogStatistics): ``count`` jobs of ``entrypoint`` at ``priority`` that
    reached ``status`` within the second starting at ``created``."""

    count: int
    created: datetime
    entrypoint: str
    priority: int
    status: str


