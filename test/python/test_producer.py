"""Producers (Queries, SyncQueries), drain mode, argument errors, and a
worker that trips none of the operators a role planted in ``public``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest


from pgqueuer_client import DuplicateJobError, Job, PgQueuer, Queries, QueueExecutionMode, RetryRequested, SyncQueries


async def test_enqueue_batch_dedupe_and_deferral(db, ep):
    q = Queries(db.conn)
    ids = await q.enqueue([ep, ep, ep], [b"1", b"2", b"3"], priority=[0, 1, 2], dedupe_key=["a", "b", None])
    assert len(ids) == 3 and ids == sorted(ids)
    with pytest.raises(DuplicateJobError) as err:
        await q.enqueue(ep, b"again", dedupe_key="a")
    assert err.value.dedupe_key == ["a"]
    skipped, new = await q.enqueue([ep, ep], dedupe_key=["a", "c"], on_conflict="skip")
    assert skipped is None and new > ids[-1]
    (later,) = await q.enqueue(ep, execute_after=timedelta(hours=1), headers={"h": 1})
    row = await db.all("SELECT execute_after - created > interval '59 minutes', headers FROM pgqueuer.pgqueuer"
                       " WHERE id = %s", later)
    assert row == [(True, {"h": 1})]
    sizes = {(s.entrypoint, s.priority, s.status): s.count for s in await q.queue_size()}
    assert sizes[(ep, 0, "queued")] == 3 and sizes[(ep, 2, "queued")] == 1
    with pytest.raises(ValueError):
        await q.enqueue([ep, ep], priority=[1])
    with pytest.raises(ValueError):
        await q.enqueue(ep, on_conflict="ignore")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        await q.enqueue("")
    assert [s for _, s in await q.job_status([ids[0]])] == ["queued"]


def test_sync_queries(dsn, ep):
    with psycopg.connect(dsn, autocommit=True) as conn:
        q = SyncQueries(conn)
        ids = q.enqueue([ep] * 64, None)
        assert len(ids) == 64
        assert sum(s.count for s in q.queue_size() if s.entrypoint == ep) == 64
        assert q.job_status(ids[:1]) == [(ids[0], "queued")]


async def test_drain_mode_returns_when_done(dsn, db, ep):
    pgq = PgQueuer.from_dsn(dsn)
    done = []

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        done.append(job.id)

    q = Queries(db.conn)
    await q.enqueue([ep] * 25)
    await q.enqueue(ep, execute_after=0.5)
    await asyncio.wait_for(pgq.run(mode=QueueExecutionMode.drain, batch_size=4), 120)
    assert len(done) == 26 and pgq.qm.drained
    assert await db.one("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = %s", ep) == 0


async def test_run_argument_errors(dsn, ep):
    pgq = PgQueuer.from_dsn(dsn)

    @pgq.entrypoint(ep)
    async def handler(job: Job) -> None:
        pass

    with pytest.raises(RuntimeError):
        pgq.entrypoint(ep)(handler)
    with pytest.raises(ValueError):
        pgq.entrypoint(ep + "x", concurrency_limit=-1)
    with pytest.raises(ValueError):
        pgq.entrypoint(ep + "y", on_failure="keep")
    with pytest.raises(ValueError):
        await pgq.run(batch_size=0)
    with pytest.raises(ValueError):
        await pgq.run(mode="sometimes")


async def test_server_refuses_bad_registration(dsn, ep):
    from pgqueuer_client import SetupError

    pgq = PgQueuer.from_dsn(dsn)

    @pgq.entrypoint(ep, lease_timeout=0)
    async def handler(job: Job) -> None:
        pass

    with pytest.raises(SetupError, match="could not register entrypoint"):
        await pgq.run()


async def test_planted_operators_are_never_used(server, ep):
    """A worker role with CREATE on public plants operators and functions that
    raise; a producer and a worker whose search path starts with public
    run a job without tripping any of them."""
    types = ["bigint", "integer", "text", "name", "uuid", "pgqueuer.pgqueuer_status", "boolean", "interval",
             "timestamptz", "jsonb"]
    async with await psycopg.AsyncConnection.connect(server.dsn, autocommit=True) as admin:
        await admin.execute("DROP ROLE IF EXISTS planter")
        await admin.execute("CREATE ROLE planter")
        await admin.execute("GRANT CREATE ON SCHEMA public TO planter")
        await admin.execute("GRANT pgqueuer_worker TO planter")
        await admin.execute("SET ROLE planter")
        for i, t in enumerate(types):
            await admin.execute(f"CREATE FUNCTION public.trap{i}({t}, {t}) RETURNS boolean LANGUAGE plpgsql"
                                " AS $$BEGIN RAISE EXCEPTION 'planted operator called'; END$$")
            for op in ("=", "<>", "<", ">", "<=", ">="):
                await admin.execute(f"CREATE OPERATOR public.{op} (LEFTARG = {t}, RIGHTARG = {t},"
                                    f" FUNCTION = public.trap{i})")
        await admin.execute("RESET ROLE")
    try:
        dsn = server.dsn + " options='-c search_path=public,pg_catalog'"
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        pgq = PgQueuer.from_psycopg_connection(conn)
        done = []

        @pgq.entrypoint(ep, concurrency_limit=1, lease_timeout=30)
        async def handler(job: Job) -> None:
            done.append(job.id)

        ids = await Queries(conn).enqueue([ep, ep], [b"a", b"b"], dedupe_key=["k1", None], headers=[{"a": 1}, None])
        await asyncio.wait_for(pgq.run(mode="drain"), 120)
        assert sorted(done) == ids
        assert [s for _, s in await Queries(conn).job_status(ids)] == ["successful", "successful"]
        await conn.close()
    finally:
        async with await psycopg.AsyncConnection.connect(server.dsn, autocommit=True) as admin:
            await admin.execute("DROP OWNED BY planter")
            await admin.execute("DROP ROLE planter")


async def test_ported_example_worker(server, db, monkeypatch, capsys):
    """client/examples/python/consumer.py (the port shown in
    docs/coming-from-pgqueuer-python.md) runs: a job, a retry request."""
    import importlib.util

    from conftest import TOP

    for var, value in (("PGHOST", str(server.base)), ("PGPORT", str(server.port)), ("PGUSER", "postgres"),
                       ("PGDATABASE", "pyq")):
        monkeypatch.setenv(var, value)
    spec = importlib.util.spec_from_file_location("consumer", TOP / "client" / "examples" / "python" / "consumer.py")
    consumer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(consumer)
    q = Queries(db.conn)
    (fetch,) = await q.enqueue("fetch", b"hello")
    (flaky,) = await q.enqueue("flaky", b"good")
    try:
        async with consumer.main() as pgq:
            await asyncio.wait_for(pgq.run(mode="drain"), 120)
    finally:
        await db.all("SELECT pgqueuer.unschedule('cleanup'::text)")
    assert "Processed: b'hello'" in capsys.readouterr().out
    assert dict(await q.job_status([fetch, flaky])) == {fetch: "successful", flaky: "successful"}
    # the retry request ran the job a second time
    assert await db.one("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'picked'",
                        flaky) == 2


def test_client_names_no_table():
    """The client only calls pgqueuer.* functions: no file of the package
    names one of the extension's tables."""
    import re

    from conftest import TOP

    table = re.compile(r"pgqueuer\.(pgqueuer|pgqueuer_log|pgqueuer_statistics|pgqueuer_schedules"
                       r"|pgqueuer_entrypoints|pgqueuer_settings|pgqueuer_rate_grants)\b")
    files = sorted((TOP / "client" / "python" / "pgqueuer_client").glob("*.py"))
    assert len(files) > 5
    for f in files:
        assert not table.search(f.read_text()), f"{f.name} names a pgqueuer table"


async def test_worker_role_needs_no_table_privilege(server, db, ep):
    """A login role with only pgqueuer_worker produces, registers, runs,
    retries and completes jobs: the client uses the functions only."""
    await db.conn.execute("DROP ROLE IF EXISTS py_worker_role")
    await db.conn.execute("CREATE ROLE py_worker_role LOGIN IN ROLE pgqueuer_worker")
    try:
        dsn = server.dsn.replace("user=postgres", "user=py_worker_role")
        pgq = PgQueuer.from_dsn(dsn)
        runs = []

        @pgq.entrypoint(ep, concurrency_limit=2, max_attempts=1, retry_backoff_base=0.1, lease_timeout=10)
        async def handler(job: Job) -> None:
            runs.append((job.payload, job.attempts))
            if job.payload == b"retry" and job.attempts == 0:
                raise RetryRequested(0.1)
            if job.payload == b"fail":
                raise ValueError("always")

        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            ids = await Queries(conn).enqueue([ep] * 3, [b"ok", b"retry", b"fail"])
            await asyncio.wait_for(pgq.run(mode="drain"), 120)
            assert dict(await Queries(conn).job_status(ids)) == dict(zip(ids, ["successful", "successful",
                                                                               "exception"]))
        assert sorted(runs) == sorted([(b"ok", 0), (b"retry", 0), (b"retry", 1), (b"fail", 0), (b"fail", 1)])
    finally:
        await db.conn.execute("DROP ROLE py_worker_role")
