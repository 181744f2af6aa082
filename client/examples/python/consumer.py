"""A PgQueuer-style worker ported to pgqueuer_client (docs/coming-from-pgqueuer-python.md).

Run:   python3 -m pgqueuer_client run consumer:main
Feed:  psql -c "SELECT pgqueuer.enqueue('fetch', convert_to('hello', 'UTF8'))"
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime

import psycopg

from pgqueuer_client import Context, Job, PgQueuer, RetryRequested, Schedule


@asynccontextmanager
async def main():
    """Factory: one connection, three entrypoints and a schedule; the
    connection is closed after the graceful stop."""
    conn = await psycopg.AsyncConnection.connect(autocommit=True)
    try:
        pgq = PgQueuer.from_psycopg_connection(conn, resources={"greeting": "Processed"})

        @pgq.entrypoint("fetch", concurrency_limit=4)
        async def process_message(job: Job, context: Context) -> None:
            print(f"{context.resources['greeting']}: {job.payload!r}", flush=True)

        @pgq.entrypoint("flaky", max_attempts=3, retry_backoff_base=1.0, on_failure="hold")
        async def flaky(job: Job) -> None:
            if job.attempts == 0:
                raise RetryRequested(delay=2, reason="first attempt waits")
            if job.payload == b"bad":
                raise ValueError("cannot handle this payload")

        @pgq.entrypoint("long")
        async def long_job(job: Job, context: Context) -> None:
            with context.cancellation:
                await asyncio.sleep(60)

        @pgq.schedule("cleanup", "0 * * * *")
        async def cleanup(schedule: Schedule) -> None:
            print(f"Hourly cleanup: {datetime.now()!r}", flush=True)

        yield pgq
    finally:
        await conn.close()
