"""Every handler outcome of an in-process worker, checked in the server's
log (pgqueuer_log) and queue table: success, exceptions retried with
back-off then held or deleted, a retry request, cancellation while
running, heartbeats past the lease, an undecodable job, a lost
connection."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from conftest import wait_until
from pgqueuer_client import Context, Job, PgQueuer, Queries, RetryRequested

TRACEBACK_KEYS = ["job_id", "timestamp", "exception_type", "exception_message", "traceback", "additional_context"]


async def start(pgq: PgQueuer, **kwargs) -> asyncio.Task:
    """Run the worker in a task; return once it LISTENs and polled once."""
    kwargs.setdefault("dequeue_timeout", 30)
    task = asyncio.create_task(pgq.run(**kwargs))
    await wait_until(lambda: task.done() or (pgq.qm._run is not None and pgq.qm._run.listener is not None),
                     "the worker to start")
    if task.done():
        task.result()
    return task


async def stop(pgq: PgQueuer, task: asyncio.Task) -> None:
    pgq.stop()
    await asyncio.wait_for(task, 60)


async def log_rows(db, ep):
    return await db.all(
        "SELECT job_id, status::text, traceback FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s ORDER BY id", ep)


async def test_success_job_fields(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    seen: list[Job] = []

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        seen.append(job)

    conn_q = Queries(db.conn)
    ids = await conn_q.enqueue([ep, ep, ep], [b"a", None, "c"], [0, 5, 1], headers={"k": "v"})
    task = await start(pgq)
    await wait_until(lambda: len(seen) == 3, "three jobs")
    await stop(pgq, task)
    by_id = {j.id: j for j in seen}
    assert sorted(by_id) == sorted(ids)
    j = by_id[ids[0]]
    assert (j.payload, j.priority, j.attempts, j.status, j.entrypoint) == (b"a", 0, 0, "picked", ep)
    assert j.headers == {"k": "v"} and j.queue_manager_id == pgq.qm.queue_manager_id
    assert j.created.tzinfo is not None and j.execute_after >= j.created
    assert by_id[ids[1]].payload is None and by_id[ids[2]].payload == b"c"
    assert seen[0].id == ids[1], "highest priority first"
    rows = await log_rows(db, ep)
    assert sorted(r[0] for r in rows if r[1] == "successful") == sorted(ids)
    assert await db.one("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = %s", ep) == 0
    assert pgq.qm.stats["successful"] == 3


async def test_sync_handler_on_thread_pool(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    threads: list[str] = []

    @pgq.entrypoint(ep)
    def handler(job: Job) -> None:
        threads.append(threading.current_thread().name)

    await Queries(db.conn).enqueue([ep] * 4, None)
    task = await start(pgq, max_concurrent_tasks=2)
    await wait_until(lambda: len(threads) == 4, "four sync jobs")
    await stop(pgq, task)
    assert all(t.startswith("pgqueuer-job") for t in threads)
    assert await db.one("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s AND status = 'successful'", ep) == 4


async def test_no_cap_by_default(dsn, db, ep):
    """Without max_concurrent_tasks (PgQueuer's None) the worker claims
    batch after batch: seven blocking handlers run at once with batches of
    two."""
    pgq = PgQueuer.from_dsn(dsn)
    running = 0
    most = 0
    release = asyncio.Event()

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    ids = await Queries(db.conn).enqueue([ep] * 7, None)
    task = await start(pgq, batch_size=2)
    await wait_until(lambda: running == 7, "seven handlers running at once")
    assert await db.one("SELECT count(*) FROM pgqueuer.pgqueuer WHERE id = ANY(%s) AND status = 'picked'", ids) == 7
    release.set()
    await wait_until(lambda: db.one("SELECT count(*) = 7 FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s AND status = 'successful'",
                                    ep), "the seven jobs to succeed")
    await stop(pgq, task)
    assert most == 7


@pytest.mark.parametrize("on_failure", ["hold", "delete"])
async def test_exception_retried_with_backoff_then_held_or_deleted(dsn, db, ep, on_failure):
    pgq = PgQueuer.from_dsn(dsn)
    runs: list[tuple[int, float]] = []

    @pgq.entrypoint(ep, max_attempts=2, retry_backoff_base=0.25, retry_backoff_max=10, on_failure=on_failure)
    async def handler(job: Job) -> None:
        runs.append((job.attempts, time.monotonic()))
        raise ValueError(f"failure number {job.attempts}")

    (job_id,) = await Queries(db.conn).enqueue(ep, b"x")
    task = await start(pgq)
    if on_failure == "hold":
        await wait_until(lambda: db.one("SELECT status::text = 'failed' FROM pgqueuer.pgqueuer WHERE id = %s", job_id),
                         "the job to be held")
    else:
        await wait_until(lambda: db.one("SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'exception'",
                                        job_id), "the job to end as exception")
    await stop(pgq, task)
    assert [a for a, _ in runs] == [0, 1, 2]
    # back-off: base * 2^attempts = 0.25 s, then 0.5 s
    assert runs[1][1] - runs[0][1] >= 0.25 - 0.02
    assert runs[2][1] - runs[1][1] >= 0.5 - 0.02
    rows = await log_rows(db, ep)
    statuses = [r[1] for r in rows]
    final = "failed" if on_failure == "hold" else "exception"
    assert statuses == ["queued", "picked", "queued", "picked", "queued", "picked", final]
    for tb in (rows[2][2], rows[4][2], rows[6][2]):
        assert sorted(tb) == sorted(TRACEBACK_KEYS)
        assert tb["exception_type"] == "ValueError" and tb["job_id"] == job_id
        assert "raise ValueError" in tb["traceback"]
        assert tb["additional_context"] == {"entrypoint": ep, "queue_manager_id": str(pgq.qm.queue_manager_id)}
    assert rows[6][2]["exception_message"] == "failure number 2"
    left = await db.one("SELECT count(*) FROM pgqueuer.pgqueuer WHERE id = %s", job_id)
    assert left == (1 if on_failure == "hold" else 0)


async def test_unregistered_exception_is_terminal(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    runs = []

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        runs.append(job.id)
        raise RuntimeError("no retry for unregistered entrypoints")

    (job_id,) = await Queries(db.conn).enqueue(ep)
    task = await start(pgq)
    await wait_until(lambda: db.one("SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'exception'",
                                    job_id), "the exception")
    await stop(pgq, task)
    assert runs == [job_id]


async def test_retry_requested(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    runs: list[tuple[int, float]] = []

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        runs.append((job.attempts, time.monotonic()))
        if job.attempts == 0:
            raise RetryRequested(delay=0.3, reason="not yet")

    (job_id,) = await Queries(db.conn).enqueue(ep, b"p")
    task = await start(pgq)
    await wait_until(lambda: db.one("SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'successful'",
                                    job_id), "the retried job to succeed")
    await stop(pgq, task)
    assert [a for a, _ in runs] == [0, 1]
    assert runs[1][1] - runs[0][1] >= 0.3 - 0.02
    rows = await log_rows(db, ep)
    assert [r[1] for r in rows] == ["queued", "picked", "queued", "picked", "successful"]
    tb = rows[2][2]
    assert sorted(tb) == sorted(TRACEBACK_KEYS) and tb["exception_type"] == "RetryRequested"
    ctx = tb["additional_context"]
    assert (ctx["attempt"], ctx["retry_delay"], ctx["reason"], ctx["entrypoint"]) == (0, "0:00:00.300000", "not yet", ep)
    assert pgq.qm.stats["retried"] == 1


async def test_cancellation_while_running(dsn, db, ep, caplog):
    caplog.set_level(logging.INFO, logger="pgqueuer_client")
    pgq = PgQueuer.from_dsn(dsn)
    started = asyncio.Event()
    after: list[str] = []

    @pgq.entrypoint(ep)
    async def handler(job: Job, context: Context) -> None:
        started.set()
        with context.cancellation:
            await asyncio.sleep(3600)
            after.append("not interrupted")
        after.append("left the scope" if context.cancellation.cancel_called else "no cancel")

    (job_id,) = await Queries(db.conn).enqueue(ep)
    task = await start(pgq)
    await asyncio.wait_for(started.wait(), 60)
    # a forged event is only a hint: the server did not cancel the job
    await db.conn.execute("SELECT pg_notify('ch_pgqueuer', %s)",
                          ('{"type": "cancellation_event", "channel": "ch_pgqueuer", "ids": [%d]}' % job_id,))
    await wait_until(lambda: any("not confirmed" in r.getMessage() for r in caplog.records), "the forged event to be seen")
    assert after == [] and not pgq.qm.get_context(job_id).cancellation.cancel_called
    assert [r[0] for r in await db.all("SELECT pgqueuer.cancel(%s)", [job_id])] == [job_id]
    await wait_until(lambda: after, "the handler to be interrupted")
    await wait_until(lambda: pgq.qm.stats["cancelled"] == 1, "the job to be counted cancelled")
    await stop(pgq, task)
    assert after == ["left the scope"]
    statuses = [r[1] for r in await log_rows(db, ep)]
    assert statuses == ["queued", "picked", "canceled"]


async def test_sync_handler_sees_cancellation(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    started = threading.Event()
    result: list[bool] = []

    @pgq.entrypoint(ep, accepts_context=True)
    def handler(job: Job, context: Context) -> None:
        started.set()
        result.append(context.cancellation.event.wait(120))

    (job_id,) = await Queries(db.conn).enqueue(ep)
    task = await start(pgq)
    await wait_until(started.is_set, "the sync handler to start")
    await db.all("SELECT pgqueuer.cancel(%s)", [job_id])
    await wait_until(lambda: result, "the sync handler to see the cancellation")
    await stop(pgq, task)
    assert result == [True]


async def test_heartbeats_keep_a_job_past_its_lease(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    release = asyncio.Event()
    runs = []

    @pgq.entrypoint(ep, lease_timeout=3.0)
    async def handler(job: Job) -> None:
        runs.append(job.attempts)
        await release.wait()

    (job_id,) = await Queries(db.conn).enqueue(ep)
    task = await start(pgq)
    # still picked, and heartbeated, more than two lease lengths after the claim
    await wait_until(lambda: db.one(
        "SELECT heartbeat - updated > interval '6.5 seconds' FROM pgqueuer.pgqueuer WHERE id = %s AND status = 'picked'",
        job_id), "heartbeats past the lease")
    release.set()
    await wait_until(lambda: db.one("SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'successful'",
                                    job_id), "the job to succeed")
    await stop(pgq, task)
    assert runs == [0]
    assert [r[1] for r in await log_rows(db, ep)] == ["queued", "picked", "successful"]


async def test_undecodable_job_is_reported(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    runs = []

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        runs.append(job.id)

    (job_id,) = await Queries(db.conn).enqueue(ep)
    # headers that are not a JSON object cannot become Job.headers
    await db.conn.execute("UPDATE pgqueuer.pgqueuer SET headers = '[1, 2]' WHERE id = %s", (job_id,))
    task = await start(pgq)
    await wait_until(lambda: db.one("SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'exception'",
                                    job_id), "the job to be reported")
    await stop(pgq, task)
    assert runs == []
    tb = (await log_rows(db, ep))[-1][2]
    assert tb["exception_type"] == "JobDecodeError" and "not a JSON object" in tb["exception_message"]


async def test_lost_connection_reconnects_and_reports(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    release = asyncio.Event()
    done = []

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        await release.wait()
        done.append(job.id)

    (first,) = await Queries(db.conn).enqueue(ep)
    task = await start(pgq)
    await wait_until(lambda: db.one("SELECT true FROM pgqueuer.pgqueuer WHERE id = %s AND status = 'picked'", first),
                     "the first job to be claimed")
    old = set(r[0] for r in await db.all(
        "SELECT pid FROM pg_stat_activity WHERE (application_name LIKE 'pgqueuer_client%%' OR application_name LIKE 'pgqueuer worker %%')"
        " AND NOT pid = pg_backend_pid()"))
    assert len(old) == 2
    await db.all("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", list(old))
    await wait_until(lambda: db.one(
        "SELECT count(*) = 2 FROM pg_stat_activity WHERE (application_name LIKE 'pgqueuer_client%%' OR application_name LIKE 'pgqueuer worker %%')"
        " AND NOT pid = ANY(%s)", list(old)), "the worker to reconnect")
    release.set()
    (second,) = await Queries(db.conn).enqueue(ep)
    await wait_until(lambda: db.one(
        "SELECT count(*) = 2 FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s AND status = 'successful'", ep),
        "both jobs to succeed")
    await stop(pgq, task)
    assert sorted(done) == [first, second]


async def test_requests_per_second_polls_for_capacity(dsn, db, ep):
    """A rate-limited entrypoint frees capacity without a notification:
    the worker polls at the rate's interval (not dequeue_timeout) and the
    server hands out at most that many jobs per second."""
    pgq = PgQueuer.from_dsn(dsn)
    started: list[float] = []

    @pgq.entrypoint(ep, requests_per_second=5)
    async def handler(job: Job) -> None:
        started.append(time.monotonic())

    await Queries(db.conn).enqueue([ep] * 12)
    task = await start(pgq, dequeue_timeout=600)
    await wait_until(lambda: len(started) == 12, "twelve rate-limited jobs")
    await stop(pgq, task)
    picks = [r[0] for r in await db.all(
        "SELECT extract(epoch FROM created)::float8 FROM pgqueuer.pgqueuer_log"
        " WHERE entrypoint = %s AND status = 'picked' ORDER BY created", ep)]
    assert len(picks) == 12
    for i, t in enumerate(picks):
        assert sum(1 for u in picks[i:] if u < t + 1.0) <= 5, "more than 5 picks within one second"
    assert started[-1] - started[0] < 60, "served by polling at the rate, not by the 600 s dequeue timeout"


async def test_entrypoint_names_with_quotes_commas_and_backslashes(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    odd = ep + ' "we,ird" \\ {x}'
    seen = []

    @pgq.entrypoint(odd)
    async def handler(job: Job) -> None:
        seen.append(job.entrypoint)

    @pgq.entrypoint(ep)
    async def plain(job: Job) -> None:
        seen.append(job.entrypoint)

    await Queries(db.conn).enqueue([odd, ep])
    task = await start(pgq)
    await wait_until(lambda: len(seen) == 2, "both jobs")
    await stop(pgq, task)
    assert sorted(seen) == sorted([odd, ep])
