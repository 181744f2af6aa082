"""pgqueuer_client: Python workers and producers for the pgqueuer extension.

A thin client on psycopg 3 (async): it LISTENs on ``ch_pgqueuer`` and calls
the extension's ``pgqueuer.*`` SQL functions; the queue logic (claims,
limits, leases, retries, schedules) runs in the server.  The API follows
PgQueuer's shape so its handlers port by changing imports and the connect
call.  See docs/python.md.
"""

from .errors import (
    DuplicateJobError,
    FailingListenerError,
    JobDecodeError,
    PgqError,
    RetryRequested,
    SetupError,
)
from .models import (
    CancelScope,
    Context,
    Job,
    LogStatistics,
    QueueExecutionMode,
    QueueStatistics,
    Schedule,
    TracebackRecord,
)
from .qm import PgQueuer, QueueManager
from .queries import Queries, SyncQueries
from .connect import connect

__all__ = [
    "CancelScope",
    "Context",
    "DuplicateJobError",
    "FailingListenerError",
    "Job",
    "JobDecodeError",
    "LogStatistics",
    "PgQueuer",
    "PgqError",
    "Queries",
    "QueueExecutionMode",
    "QueueManager",
    "QueueStatistics",
    "RetryRequested",
    "Schedule",
    "SetupError",
    "SyncQueries",
    "TracebackRecord",
    "connect",
]
