"""Fixtures of the Python client's tests: a throwaway PostgreSQL server.

The session starts one server from the private installation of
``make test`` ($PGQ_INSTALL_BINDIR, else the bindir of $PG_CONFIG or of
pg_config on PATH): initdb in a temporary directory, a unix socket there
and no TCP, test/pgqueuer.conf (the library preloaded) with the background
worker switched on (schedules, lease expiry and deferred wake-ups are the
server's), and the extension created in database ``pyq``.  Each test uses
its own entrypoint names, so tests never see each other's jobs.

Nothing here sleeps a guessed time: ``wait_until`` polls for an effect and
fails after a generous deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "client" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEADLINE = 90.0


def _bindir() -> str:
    if os.environ.get("PGQ_INSTALL_BINDIR"):
        return os.environ["PGQ_INSTALL_BINDIR"]
    pg_config = os.environ.get("PG_CONFIG") or shutil.which("pg_config") or "/usr/lib/postgresql/15/bin/pg_config"
    return subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip()


class Server:
    """The running test server: ``dsn`` of database ``pyq`` (superuser
    ``postgres`` over the unix socket), ``bindir``, ``log`` (server log)."""

    def __init__(self, bindir: str, base: Path, port: int) -> None:
        self.bindir = bindir
        self.base = base
        self.port = port
        self.log = base / "server.log"
        self.dsn = f"host={base} port={port} user=postgres dbname=pyq"


@pytest.fixture(scope="session")
def server():
    """Start the throwaway server (see the module comment); stop it at the
    end of the session."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="pgqueuer-pytest."))
    data = base / "data"
    port = 20000 + os.getpid() % 20000
    try:
        # the directory goes even when initdb fails (as root, for example)
        subprocess.run([f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                       check=True, capture_output=True)
        conf = (TOP / "test" / "pgqueuer.conf").read_text()
        with open(data / "postgresql.conf", "a") as f:
            f.write(conf)
            f.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{base}'\nport = {port}\n"
                    "pgqueuer.enabled = on\npgqueuer.naptime = 100ms\nmax_connections = 100\n"
                    "fsync = off\nlog_min_messages = warning\n")
        subprocess.run([f"{bindir}/pg_ctl", "-D", str(data), "-l", str(base / "server.log"), "-w", "start"],
                       check=True, capture_output=True)
        srv = Server(bindir, base, port)
        with psycopg.connect(f"host={base} port={port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE pyq")
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            c.execute("CREATE EXTENSION pgqueuer")
        yield srv
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def dsn(server) -> str:
    """The connection string of the test database."""
    return server.dsn


class Db:
    """An async autocommit superuser connection for setting up and
    checking a test (reads tables directly, which the client never does)."""

    def __init__(self, conn: psycopg.AsyncConnection) -> None:
        self.conn = conn

    async def all(self, query: str, *params):
        cur = await self.conn.execute(query, params)
        return await cur.fetchall()

    async def one(self, query: str, *params):
        rows = await self.all(query, *params)
        return rows[0][0] if rows else None


@pytest.fixture
async def db(dsn):
    """A :class:`Db` for the test."""
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    try:
        yield Db(conn)
    finally:
        await conn.close()


async def wait_until(predicate, what: str, timeout: float = DEADLINE):
    """Poll the (sync or async) ``predicate`` until it returns something
    true, and return that; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def ep(request) -> str:
    """An entrypoint name unique to the test."""
    name = request.node.name
    return "t_" + name.replace("[", "_").replace("]", "").replace("-", "_")[:40] + "_" + hashlib.md5(name.encode()).hexdigest()[:6]


@pytest.fixture
def spawn(dsn, tmp_path):
    """Start worker processes: ``spawn(args, env)`` runs ``python3 -m
    pgqueuer_client <args>`` (``python=False``: ``args`` is the whole
    argv) with the test database in $PGQUEUER_DSN and the test helpers on
    the import path; its output goes to ``proc.log_path``.  Every process
    still alive is killed at the end."""
    procs: list[subprocess.Popen] = []

    def start(args, env=None, python=True):
        full = dict(os.environ)
        full["PGQUEUER_DSN"] = dsn
        full["PYTHONPATH"] = os.pathsep.join([str(TOP / "client" / "python"), str(Path(__file__).resolve().parent)])
        full.update(env or {})
        argv = [sys.executable, "-m", "pgqueuer_client", *args] if python else list(args)
        out = tmp_path / f"process-{len(procs)}.log"
        with open(out, "w") as f:
            p = subprocess.Popen(argv, env=full, cwd=str(tmp_path), stdout=f, stderr=subprocess.STDOUT)
        p.log_path = out
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
