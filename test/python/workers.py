"""Worker factories for the tests that run ``python3 -m pgqueuer_client
run workers:<factory>`` processes.  Configured through the environment:

PGQ_TEST_EP     entrypoint name
PGQ_TEST_OUT    file the handlers append their lines to (one write each)
PGQ_TEST_LIMIT  concurrency_limit to register (limited)
PGQ_TEST_LEASE  lease_timeout in seconds to register (blocking)
PGQ_TEST_EXPR   cron expression (scheduled)
PGQ_TEST_TAG    a word put in every line, to tell workers apart
"""

import asyncio
import os
import time

from pgqueuer_client import Job, PgQueuer, Schedule


def _line(text: str) -> None:
    """Append one line to $PGQ_TEST_OUT atomically (O_APPEND, one write)."""
    fd = os.open(os.environ["PGQ_TEST_OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def limited() -> PgQueuer:
    """EP with concurrency_limit LIMIT; each job logs S and E lines with
    the wall clock around 0.2 s of work."""
    pgq = PgQueuer.from_dsn()
    tag = os.environ.get("PGQ_TEST_TAG", "py")

    @pgq.entrypoint(os.environ["PGQ_TEST_EP"], concurrency_limit=int(os.environ["PGQ_TEST_LIMIT"]))
    async def work(job: Job) -> None:
        _line(f"S {job.id} {tag} {time.time():.6f}")
        await asyncio.sleep(0.2)
        _line(f"E {job.id} {tag} {time.time():.6f}")

    return pgq


def blocking() -> PgQueuer:
    """EP with lease_timeout LEASE; the first run of a job (attempts 0)
    never returns, later runs return at once.  Logs "start ID ATTEMPTS"."""
    pgq = PgQueuer.from_dsn()

    @pgq.entrypoint(os.environ["PGQ_TEST_EP"], lease_timeout=float(os.environ["PGQ_TEST_LEASE"]))
    async def work(job: Job) -> None:
        _line(f"start {job.id} {job.attempts} {os.getpid()}")
        if job.attempts == 0:
            await asyncio.Event().wait()
        _line(f"done {job.id} {job.attempts}")

    return pgq


def releasable() -> PgQueuer:
    """EP whose jobs run until the file $PGQ_TEST_OUT.release exists."""
    pgq = PgQueuer.from_dsn()
    release = os.environ["PGQ_TEST_OUT"] + ".release"

    @pgq.entrypoint(os.environ["PGQ_TEST_EP"])
    async def work(job: Job) -> None:
        _line(f"start {job.id}")
        while not os.path.exists(release):
            await asyncio.sleep(0.02)
        _line(f"done {job.id}")

    return pgq


def scheduled() -> PgQueuer:
    """A server-run schedule EXPR of EP; each firing logs "fired JOB EXPR"."""
    pgq = PgQueuer.from_dsn()

    @pgq.schedule(os.environ["PGQ_TEST_EP"], os.environ["PGQ_TEST_EXPR"])
    async def fired(schedule: Schedule) -> None:
        _line(f"fired {schedule.job.id} {schedule.expression} {schedule.id}")

    return pgq


def needs_file() -> PgQueuer:
    """Fails (as a factory whose setup fails) until $PGQ_TEST_OUT exists;
    then serves EP with a no-op handler."""
    if not os.path.exists(os.environ["PGQ_TEST_OUT"]):
        raise RuntimeError("setup failed: the resource is not there yet")
    pgq = PgQueuer.from_dsn()

    @pgq.entrypoint(os.environ["PGQ_TEST_EP"])
    async def work(job: Job) -> None:
        pass

    return pgq
