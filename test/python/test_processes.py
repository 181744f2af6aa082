"""Worker processes (``python3 -m pgqueuer_client run``) and ``pgq run``:
SIGKILL and the server's lease rescue, a concurrency limit held by three
processes, a Python and a C worker on one limited entrypoint, a
server-run schedule, graceful SIGTERM, the command line's exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


from conftest import TOP, wait_until
from pgqueuer_client import Queries


def lines(path: Path) -> list[list[str]]:
    """The handlers' lines of ``path``, split into words."""
    try:
        return [l.split() for l in path.read_text().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def max_overlap(rows: list[list[str]]) -> int:
    """Most handlers running at once, from S/E lines ``S job tag time``
    (an end at the same instant as a start counts first)."""
    events = sorted((float(r[3]), 0 if r[0] == "E" else 1) for r in rows if r[0] in ("S", "E"))
    running = peak = 0
    for _, kind in events:
        running += 1 if kind else -1
        peak = max(peak, running)
    return peak


async def stop_all(procs, sig=signal.SIGTERM) -> list[int]:
    """Send ``sig`` to every process and wait for their exit codes."""
    for p in procs:
        p.send_signal(sig)
    await wait_until(lambda: all(p.poll() is not None for p in procs), "the workers to exit")
    return [p.returncode for p in procs]


def output(p) -> str:
    return Path(p.log_path).read_text()


async def test_sigkill_lease_expiry_rescued_by_server(db, ep, spawn, tmp_path):
    out = tmp_path / "lines"
    env = {"PGQ_TEST_EP": ep, "PGQ_TEST_OUT": str(out), "PGQ_TEST_LEASE": "1"}
    (job_id,) = await Queries(db.conn).enqueue(ep, b"survives")
    first = spawn(["run", "workers:blocking"], env)
    await wait_until(lambda: any(r[0] == "start" for r in lines(out)), "the first worker to start the job")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    second = spawn(["run", "workers:blocking"], env)
    await wait_until(lambda: db.one(
        "SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'successful'", job_id),
        "the rescued job to succeed")
    assert await stop_all([second]) == [0], output(second)
    starts = [r for r in lines(out) if r[0] == "start"]
    assert [(int(r[1]), int(r[2])) for r in starts] == [(job_id, 0), (job_id, 1)]
    assert starts[0][3] != starts[1][3], "run by two different processes"
    statuses = [r[0] for r in await db.all(
        "SELECT status::text FROM pgqueuer.pgqueuer_log WHERE job_id = %s ORDER BY id", job_id)]
    # the expired lease went back to the queue with attempts + 1
    assert statuses == ["queued", "picked", "queued", "picked", "successful"]


async def test_concurrency_limit_three_processes(db, ep, spawn, tmp_path):
    out = tmp_path / "lines"
    limit = 2
    env = {"PGQ_TEST_EP": ep, "PGQ_TEST_OUT": str(out), "PGQ_TEST_LIMIT": str(limit)}
    # one job at a time per process: three processes could run three jobs
    # at once, so only the server's limit keeps the peak at two
    procs = [spawn(["run", "workers:limited", "--max-concurrent-tasks", "1"], {**env, "PGQ_TEST_TAG": f"w{i}"})
             for i in range(3)]
    await wait_until(lambda: db.one(
        "SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name = 'pgqueuer_client listener'"),
        "three workers to listen")
    await Queries(db.conn).enqueue([ep] * 24)
    await wait_until(lambda: db.one(
        "SELECT count(*) = 24 FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s AND status = 'successful'", ep),
        "24 jobs to succeed")
    assert await stop_all(procs) == [0, 0, 0], [output(p) for p in procs]
    rows = lines(out)
    assert len([r for r in rows if r[0] == "S"]) == 24
    peak = max_overlap(rows)
    assert 1 < peak <= limit, f"peak concurrency {peak} with limit {limit}"
    assert len({r[2] for r in rows}) >= 2, "more than one process took part"
    # every claim of the limited entrypoint shows in the log once
    assert await db.one(
        "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s AND status = 'picked'", ep) == 24


async def test_python_and_pgq_run_share_the_limit(db, ep, spawn, tmp_path):
    pgq_bin = os.environ.get("PGQ_BIN") or str(TOP / "build" / "pgq")
    assert os.access(pgq_bin, os.X_OK), f"pgq not built: {pgq_bin}"
    # each worker runs at most two jobs at once: together they could run
    # four, the limit is three, and neither can take all three slots
    out = tmp_path / "lines"
    limit = 3
    await db.all("SELECT pgqueuer.register_entrypoint(%s, %s)", ep, limit)
    env = {"PGQ_TEST_EP": ep, "PGQ_TEST_OUT": str(out), "PGQ_TEST_LIMIT": str(limit), "PGQ_TEST_TAG": "py"}
    py = spawn(["run", "workers:limited", "--max-concurrent-tasks", "2"], env)
    command = (f'echo "S $PGQ_JOB_ID c $(date +%s.%N)" >> {out}; sleep 0.2; '
               f'echo "E $PGQ_JOB_ID c $(date +%s.%N)" >> {out}')
    c = spawn([pgq_bin, "--pg-dsn", db.conn.info.dsn, "run", "--exec", f"{ep}={command}",
               "--max-concurrent-tasks", "2"], python=False)
    await wait_until(lambda: db.one(
        "SELECT count(*) >= 1 FROM pg_stat_activity WHERE application_name = 'pgqueuer_client listener'"),
        "the Python worker to listen")
    await Queries(db.conn).enqueue([ep] * 30)
    await wait_until(lambda: db.one(
        "SELECT count(*) = 30 FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s AND status = 'successful'", ep),
        "30 jobs to succeed")
    assert await stop_all([py, c]) == [0, 0], output(py) + output(c)
    rows = lines(out)
    assert {r[2] for r in rows} == {"py", "c"}, "both workers ran jobs"
    peak = max_overlap(rows)
    assert 1 < peak <= limit, f"peak concurrency {peak} with limit {limit}"


async def test_schedule_fires_once_per_due_time(db, ep, spawn, tmp_path):
    out = tmp_path / "lines"
    env = {"PGQ_TEST_EP": ep, "PGQ_TEST_OUT": str(out), "PGQ_TEST_EXPR": "* * * * * *"}
    procs = [spawn(["run", "workers:scheduled"], env) for _ in range(2)]
    await wait_until(lambda: [r for r in lines(out) if r[0] == "fired"], "the schedule to fire")
    assert await stop_all(procs) == [0, 0], [output(p) for p in procs]
    assert await db.one("SELECT pgqueuer.unschedule(%s::text)", ep) == 1, "one schedule for two workers"
    fired = [r for r in lines(out) if r[0] == "fired"]
    assert all(r[2:8] == ["*"] * 6 for r in fired)
    per_second = await db.all(
        "SELECT date_trunc('second', created), count(*) FROM pgqueuer.pgqueuer_log"
        " WHERE entrypoint = %s AND status = 'queued' GROUP BY 1", ep)
    assert per_second and all(n == 1 for _, n in per_second), per_second
    ran = [int(r[1]) for r in fired]
    assert len(ran) == len(set(ran)), "no firing ran twice"


async def test_sigterm_finishes_running_job(db, ep, spawn, tmp_path):
    out = tmp_path / "lines"
    (job_id,) = await Queries(db.conn).enqueue(ep)
    p = spawn(["run", "workers:releasable"], {"PGQ_TEST_EP": ep, "PGQ_TEST_OUT": str(out)})
    await wait_until(lambda: any(r[0] == "start" for r in lines(out)), "the job to start")
    p.send_signal(signal.SIGTERM)
    await wait_until(lambda: "stopping: waiting for 1 job to finish" in output(p), "the graceful stop to begin")
    assert p.poll() is None
    (Path(str(out) + ".release")).touch()
    await wait_until(lambda: p.poll() is not None, "the worker to exit")
    assert p.returncode == 0, output(p)
    assert "stopped by SIGTERM" in output(p)
    assert await db.one("SELECT status::text FROM pgqueuer.pgqueuer_log WHERE job_id = %s ORDER BY id DESC LIMIT 1",
                        job_id) == "successful"


async def test_exec_outcomes(db, ep, spawn, tmp_path):
    out = tmp_path / "lines"
    command = ('read p; case "$p" in '
               f'ok) echo "ok $PGQ_JOB_ID $PGQ_ATTEMPTS $PGQ_ENTRYPOINT" >> {out};; '
               'retry) if [ "$PGQ_ATTEMPTS" = 0 ]; then echo "try later" >&2; exit 75; fi; '
               f'echo "retried $PGQ_JOB_ID" >> {out};; '
               '*) echo "broken input" >&2; exit 3;; esac')
    ok, retry, bad = await Queries(db.conn).enqueue([ep] * 3, [b"ok", b"retry", b"bad"])
    p = spawn(["run", "--exec", f"{ep}={command}", "--exec-retry-delay", "0.2"])
    await wait_until(lambda: db.one(
        "SELECT count(*) = 3 FROM pgqueuer.pgqueuer_log WHERE entrypoint = %s"
        " AND status IN ('successful', 'exception')", ep), "three outcomes")
    assert await stop_all([p]) == [0], output(p)
    assert dict(await Queries(db.conn).job_status([ok, retry, bad])) == {
        ok: "successful", retry: "successful", bad: "exception"}
    assert sorted(lines(out)) == sorted([["ok", str(ok), "0", ep], ["retried", str(retry)]])
    tb = await db.one("SELECT traceback FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'queued'"
                      " AND traceback IS NOT NULL", retry)
    assert tb["exception_type"] == "ExecRetry" and "try later" in tb["traceback"]
    tb = await db.one("SELECT traceback FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'exception'", bad)
    assert tb["exception_type"] == "ExecError" and tb["exception_message"] == "command exited with status 3"
    assert "broken input" in tb["traceback"]


async def test_exec_cancellation_terminates_the_command(db, ep, spawn, tmp_path):
    pidfile = tmp_path / "pid"
    (job_id,) = await Queries(db.conn).enqueue(ep)
    p = spawn(["run", "--exec", f"{ep}=echo $$ > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; exec sleep 600"])
    await wait_until(pidfile.exists, "the command to start")
    pid = int(pidfile.read_text())
    await db.all("SELECT pgqueuer.cancel(%s)", [job_id])

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    await wait_until(gone, "the cancelled command to be terminated")
    await wait_until(lambda: "cancelled" in output(p), "the worker to log the cancellation")
    assert await stop_all([p]) == [0], output(p)
    statuses = [r[0] for r in await db.all(
        "SELECT status::text FROM pgqueuer.pgqueuer_log WHERE job_id = %s ORDER BY id", job_id)]
    assert statuses == ["queued", "picked", "canceled"]


async def test_restart_on_failure_calls_the_factory_again(db, ep, spawn, tmp_path):
    marker = tmp_path / "ready"
    env = {"PGQ_TEST_EP": ep, "PGQ_TEST_OUT": str(marker)}
    once = spawn(["run", "workers:needs_file"], env)
    await wait_until(lambda: once.poll() is not None, "the worker without restarts to exit")
    assert once.returncode == 1 and "the resource is not there yet" in output(once)
    p = spawn(["run", "workers:needs_file", "--restart-on-failure", "--restart-delay", "0.2"], env)
    await wait_until(lambda: output(p).count("restarting in 0.2 s") >= 2, "two restarts")
    marker.touch()
    (job_id,) = await Queries(db.conn).enqueue(ep)
    await wait_until(lambda: db.one(
        "SELECT true FROM pgqueuer.pgqueuer_log WHERE job_id = %s AND status = 'successful'", job_id),
        "the restarted worker to run the job")
    assert await stop_all([p]) == [0], output(p)


def test_command_line_exit_codes(dsn, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(TOP / "client" / "python"), PGQUEUER_DSN=dsn)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "pgqueuer_client", *args], env=env, cwd=str(tmp_path),
                              capture_output=True, text=True, timeout=120)

    r = run("run", "--help")
    assert r.returncode == 0 and "--max-concurrent-tasks" in r.stdout and "--dequeue-timeout" in r.stdout
    r = run("run", "no_such_module:factory")
    assert r.returncode == 1 and "cannot load factory" in r.stderr
    r = run("run", "x:y", "--batch-size", "0")
    assert r.returncode == 2
    r = run("run", "x:y", "--mode", "sometimes")
    assert r.returncode == 2
    r = run("run")
    assert r.returncode == 2 and "FACTORY or --exec" in r.stderr
    r = run("run", "--exec", "no-command")
    assert r.returncode == 2 and "ENTRYPOINT=COMMAND" in r.stderr
    (tmp_path / "empty_factory.py").write_text(
        "from pgqueuer_client import PgQueuer\ndef main():\n    return PgQueuer.from_dsn()\n")
    r = run("run", "empty_factory:main")
    assert r.returncode == 1 and "no entrypoint registered" in r.stderr
