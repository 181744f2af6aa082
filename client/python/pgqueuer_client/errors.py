"""Exceptions of the Python client.

``RetryRequested`` and ``DuplicateJobError`` keep PgQueuer's names and
meaning so handler and producer code ports unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Optional, Sequence, Union


class PgqError(Exception):
    """Base class of this client's own errors."""


class RetryRequested(PgqError):
    """Raised by a handler to run its job again later (PgQueuer's
    ``RetryRequested``).

    ``delay``: a ``timedelta`` or seconds (float, >= 0) before the job is
    due again; ``reason``: text kept in the log's traceback record.  The
    worker calls ``pgqueuer.retry(job, delay, traceback, worker)``: the job
    goes back to ``queued`` with ``attempts + 1`` and a ``queued`` log row
    whose traceback's ``additional_context`` holds ``entrypoint``,
    ``queue_manager_id``, ``attempt`` (attempts before this retry),
    ``retry_delay`` (``str(timedelta)``, e.g. ``0:00:30``) and ``reason``.
    A negative delay is refused with ValueError when raised.
    """

    def __init__(self, delay: Union[timedelta, float] = timedelta(0), reason: Optional[str] = None) -> None:
        if not isinstance(delay, timedelta):
            delay = timedelta(seconds=float(delay))
        if delay < timedelta(0):
            raise ValueError("RetryRequested delay must not be negative")
        self.delay = delay
        self.reason = reason
        super().__init__(reason or "Retry requested")


class DuplicateJobError(PgqError):
    """An enqueue under ``on_conflict="raise"`` met an active job with the
    same dedupe key (server SQLSTATE 23505); nothing of the call was
    queued.  ``dedupe_key``: the keys passed in the call, as in PgQueuer."""

    def __init__(self, dedupe_key: Sequence[Optional[str]], detail: str = "") -> None:
        self.dedupe_key = list(dedupe_key)
        super().__init__(f"duplicate dedupe_key {self.dedupe_key!r}" + (f": {detail}" if detail else ""))


class FailingListenerError(PgqError):
    """The listener health check failed: a ``health_check_event`` the
    worker sent through ``ch_pgqueuer`` did not come back within 10 s
    (raised out of ``run()`` with ``shutdown_on_listener_failure``)."""


class JobDecodeError(PgqError):
    """A claimed row could not be turned into a :class:`Job` (for example
    headers that are not a JSON object).  The worker reports the job as an
    ``exception`` with this error's traceback instead of running it."""


class SetupError(PgqError):
    """The worker could not start: no connection, the extension missing,
    an entrypoint or schedule the server refused, no entrypoint at all."""
