"""``python3 -m pgqueuer_client run MODULE:FACTORY``: a worker process.

The same command line as ``pgq run`` (docs/pgq-run.md) with a Python
factory in place of a shared object, and PgQueuer's factory forms: a
function (sync or async) returning a PgQueuer or QueueManager, or an async
or sync context manager yielding one (code after ``yield`` runs after the
graceful stop).  The factory is called again on each restart.

Exit status: 0 stopped by SIGINT/SIGTERM or drained; 1 failure; 2 usage
error; 130 a second SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import signal
import sys
import time
from typing import Any, Optional

from .connect import resolve_dsn
from .execmode import exec_handler, parse_exec
from .qm import PgQueuer, QueueManager

log = logging.getLogger("pgqueuer_client")

LEVELS = {
    "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "WARN": logging.WARNING,
    "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL, "FATAL": logging.CRITICAL, "NOTSET": logging.NOTSET,
}


class _Formatter(logging.Formatter):
    """``<local time> [pgqueuer] LEVEL: message``, as ``pgq run`` logs."""

    def format(self, record: logging.LogRecord) -> str:
        """One log line, with the traceback when there is one."""
        t = time.localtime(record.created)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", t) + ".%03d" % int(record.msecs) + time.strftime("%z", t)
        text = f"{stamp} [pgqueuer] {record.levelname}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _level(text: str) -> int:
    """A --log-level value (case-insensitive) as a logging level."""
    try:
        return LEVELS[text.upper()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"invalid log level {text!r} (DEBUG, INFO, WARNING, ERROR)") from None


def _positive_int(text: str) -> int:
    """An argument that must be an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    """An argument that must be a number of seconds >= 0."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: global connection options, then ``run``."""
    parser = argparse.ArgumentParser(
        prog="python3 -m pgqueuer_client",
        description="Python workers for the pgqueuer extension (PgQueuer's API on the SQL API).")
    conn = parser.add_argument_group("connection (else $PGQUEUER_DSN, $PGDSN, libpq's PG* variables)")
    conn.add_argument("--pg-dsn", help="libpq connection string or URI")
    conn.add_argument("--pg-host", help="sets PGHOST")
    conn.add_argument("--pg-port", help="sets PGPORT")
    conn.add_argument("--pg-user", help="sets PGUSER")
    conn.add_argument("--pg-database", help="sets PGDATABASE")
    conn.add_argument("--pg-password", help="sets PGPASSWORD (visible to other local users; prefer PGPASSWORD or ~/.pgpass)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run", help="run a worker", description="Run a worker built by FACTORY (module:attribute), like pgq run.")
    run.add_argument("factory", metavar="FACTORY", nargs="?",
                     help="module:attribute of a function or context manager returning a PgQueuer or QueueManager")
    run.add_argument("--exec", dest="exec_specs", action="append", default=[], metavar="ENTRYPOINT=COMMAND",
                     help="serve ENTRYPOINT by running /bin/sh -c COMMAND per job (repeatable)")
    run.add_argument("--exec-retry-delay", type=_seconds, default=0.0, metavar="SECONDS",
                     help="delay of a retry requested by exit status 75 (default 0)")
    run.add_argument("--dequeue-timeout", type=_seconds, default=30.0, metavar="SECONDS",
                     help="longest wait for work without a notification (default 30.0)")
    run.add_argument("--batch-size", type=_positive_int, default=10, metavar="N",
                     help="jobs claimed per dequeue (default 10)")
    run.add_argument("--restart-delay", type=_seconds, default=5.0, metavar="SECONDS",
                     help="pause before a restart under --restart-on-failure (default 5.0)")
    run.add_argument("--restart-on-failure", action="store_true",
                     help="restart the worker (calling the factory again) after a failure")
    run.add_argument("--log-level", type=_level, default=logging.INFO, metavar="LEVEL",
                     help="DEBUG, INFO, WARNING or ERROR (default INFO)")
    run.add_argument("--mode", choices=("continuous", "drain"), default="continuous",
                     help="continuous: until stopped; drain: stop once no job is left")
    run.add_argument("--max-concurrent-tasks", type=_positive_int, default=None, metavar="N",
                     help="most jobs run at once, also the thread pool size (default: no cap)")
    run.add_argument("--shutdown-on-listener-failure", action="store_true",
                     help="stop with a failure when the LISTEN health check fails (continuous mode)")
    run.add_argument("--progress", action="store_true", help="print the counters to stderr once a second")
    return parser


def load_factory(spec: str) -> Any:
    """The object named by ``module:attribute``, with the current directory
    first on the import path (as PgQueuer).  Raises ValueError for a
    malformed spec, ImportError/AttributeError when it is not found."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"factory must be module:attribute, not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _manager(obj: Any) -> QueueManager:
    """The QueueManager of what a factory produced."""
    if isinstance(obj, PgQueuer):
        return obj.qm
    if isinstance(obj, QueueManager):
        return obj
    raise TypeError(f"the factory must produce a PgQueuer or QueueManager, not {type(obj).__name__}")


@contextlib.asynccontextmanager
async def _enter_factory(factory: Any):
    """Call the factory and yield its manager, running a context manager's
    exit after the run."""
    produced = factory()
    if inspect.isawaitable(produced):
        produced = await produced
    if hasattr(produced, "__aenter__"):
        async with produced as obj:
            yield _manager(obj)
    elif hasattr(produced, "__enter__") and not isinstance(produced, (PgQueuer, QueueManager)):
        with produced as obj:
            yield _manager(obj)
    else:
        yield _manager(produced)


class _Supervisor:
    """Signals, restarts and progress around the runs of one command."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop_requested = asyncio.Event()
        self.signal_name: Optional[str] = None
        self.manager: Optional[QueueManager] = None
        self.interrupts = 0
        self.execs = [parse_exec(s) for s in args.exec_specs]

    def on_signal(self, signum: int) -> None:
        """First SIGINT/SIGTERM: graceful stop; a second SIGINT: exit 130."""
        if signum == signal.SIGINT:
            self.interrupts += 1
            if self.interrupts > 1:
                log.warning("interrupted twice: exiting, running jobs return to the queue when their leases expire")
                logging.shutdown()
                os._exit(130)
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
        self.stop_requested.set()
        if self.manager is not None:
            self.manager.stop()

    async def progress(self) -> None:
        """--progress: the counters of the current manager once a second."""
        last_done, last_t = 0, time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            m = self.manager
            if m is None:
                continue
            s = m.stats
            done = s["successful"] + s["exception"] + s["retried"] + s["held"] + s["cancelled"]
            now = time.monotonic()
            rate = (done - last_done) / (now - last_t) if now > last_t else 0.0
            last_done, last_t = done, now
            running = len(m._run.running) if m._run is not None else 0
            print(f"progress: dequeued {s['dequeued']} | successful {s['successful']} | exception {s['exception']}"
                  f" | retried {s['retried']} | held {s['held']} | cancelled {s['cancelled']} | running {running}"
                  f" | {rate:.1f} jobs/s", file=sys.stderr, flush=True)

    def _add_exec(self, manager: QueueManager) -> None:
        """Add the --exec entrypoints to a fresh manager."""
        for name, command in self.execs:
            manager.entrypoint(name, accepts_context=True)(exec_handler(command, self.args.exec_retry_delay))

    async def run(self, factory: Any) -> int:
        """The supervisor loop: a fresh manager from the factory per cycle;
        exit status as documented in the module comment."""
        a = self.args
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.on_signal, sig)
        progress = loop.create_task(self.progress()) if a.progress else None
        try:
            while True:
                try:
                    async with _enter_factory(factory) as manager:
                        self._add_exec(manager)
                        if manager.connection is None and not manager.dsn:
                            manager.dsn = resolve_dsn(a.pg_dsn)
                        self.manager = manager
                        if self.stop_requested.is_set():
                            manager.stop()
                        await manager.run(dequeue_timeout=a.dequeue_timeout, batch_size=a.batch_size,
                                          mode=a.mode, max_concurrent_tasks=a.max_concurrent_tasks,
                                          shutdown_on_listener_failure=a.shutdown_on_listener_failure)
                    if self.signal_name:
                        log.info("stopped by %s", self.signal_name)
                    return 0
                except Exception as exc:
                    log.error("%s", str(exc).strip() or type(exc).__name__)
                    print(f"python3 -m pgqueuer_client run: error: {str(exc).strip() or type(exc).__name__}",
                          file=sys.stderr)
                    if not a.restart_on_failure:
                        return 1
                    if self.stop_requested.is_set():
                        return 0
                finally:
                    self.manager = None
                log.info("restarting in %.1f s", a.restart_delay)
                try:
                    await asyncio.wait_for(self.stop_requested.wait(), timeout=a.restart_delay)
                    return 0
                except asyncio.TimeoutError:
                    pass
        finally:
            if progress is not None:
                progress.cancel()


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``python3 -m pgqueuer_client``; returns the exit
    status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.factory is None and not args.exec_specs:
        parser.error("run needs FACTORY or --exec ENTRYPOINT=COMMAND")
    for spec in args.exec_specs:
        try:
            parse_exec(spec)
        except ValueError as exc:
            parser.error(str(exc))
    for flag, var in (("pg_host", "PGHOST"), ("pg_port", "PGPORT"), ("pg_user", "PGUSER"),
                      ("pg_database", "PGDATABASE"), ("pg_password", "PGPASSWORD")):
        if getattr(args, flag):
            os.environ[var] = getattr(args, flag)
    if args.pg_password:
        print("warning: --pg-password is visible to other local users; prefer PGPASSWORD or ~/.pgpass",
              file=sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.addHandler(handler)
    log.setLevel(args.log_level)
    log.propagate = False
    try:
        factory = load_factory(args.factory) if args.factory else PgQueuer.from_dsn
    except (ValueError, ImportError, AttributeError) as exc:
        print(f"python3 -m pgqueuer_client run: error: cannot load factory {args.factory!r}: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(_Supervisor(args).run(factory))
