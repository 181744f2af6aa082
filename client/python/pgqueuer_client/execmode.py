"""``--exec ENTRYPOINT=COMMAND``: a program per job, as ``pgq run --exec``.

For each job the handler runs ``/bin/sh -c COMMAND`` in its own session
(process group) with the payload on stdin and ``PGQ_JOB_ID``,
``PGQ_ENTRYPOINT``, ``PGQ_ATTEMPTS``, ``PGQ_PRIORITY``,
``PGQ_QUEUE_MANAGER_ID`` (plus ``PGQ_HEADERS`` as JSON and
``PGQ_DEDUPE_KEY`` when the job has them) in the environment.  Its stdout is
the worker's; its stderr is copied to the worker's stderr when it ends, and
the last 2 KB are kept for the traceback.  Exit 0 = successful; 75
(EX_TEMPFAIL) = retry after ``--exec-retry-delay`` (``ExecRetry``);
anything else, or a signal = exception (``ExecError``).  A cancelled job's
command gets SIGTERM, then SIGKILL after 10 s.  The contract is that of
docs/pgq-run.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import timedelta
from typing import Any, Callable

from .errors import PgqError, RetryRequested
from .models import Context, Job

TAIL_BYTES = 2048
KILL_AFTER = 10.0
EX_TEMPFAIL = 75


class ExecRetry(RetryRequested):
    """An ``--exec`` command exited 75: run the job again later.
    ``traceback_text`` is the tail of the command's stderr."""

    def __init__(self, delay: timedelta, traceback_text: str) -> None:
        super().__init__(delay, "command exited with status 75 (retry)")
        self.traceback_text = traceback_text


class ExecError(PgqError):
    """An ``--exec`` command failed (non-zero status other than 75, or a
    signal).  ``traceback_text`` is the tail of its stderr."""

    def __init__(self, message: str, traceback_text: str) -> None:
        super().__init__(message)
        self.traceback_text = traceback_text


def parse_exec(spec: str) -> tuple[str, str]:
    """``ENTRYPOINT=COMMAND`` as a pair; ValueError when malformed."""
    name, sep, command = spec.partition("=")
    if not sep or not name or not command:
        raise ValueError(f"--exec needs ENTRYPOINT=COMMAND, not {spec!r}")
    return name, command


def _environment(job: Job) -> dict[str, str]:
    """The command's environment: ours plus the job's PGQ_* variables."""
    env = dict(os.environ)
    env.update(PGQ_JOB_ID=str(job.id), PGQ_ENTRYPOINT=job.entrypoint, PGQ_ATTEMPTS=str(job.attempts),
               PGQ_PRIORITY=str(job.priority), PGQ_QUEUE_MANAGER_ID=str(job.queue_manager_id))
    if job.headers is not None:
        env["PGQ_HEADERS"] = json.dumps(job.headers)
    if job.dedupe_key is not None:
        env["PGQ_DEDUPE_KEY"] = job.dedupe_key
    return env


def _killpg(pid: int, sig: int) -> None:
    """Signal the command's process group (gone already: nothing)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def exec_handler(command: str, retry_delay: float) -> Callable[[Job, Context], Any]:
    """An async entrypoint handler ``f(job, context)`` running ``command``
    per job (see the module comment).  ``retry_delay``: seconds before a
    job whose command exited 75 is due again."""
    delay = timedelta(seconds=retry_delay)

    async def run_command(job: Job, context: Context) -> None:
        """Run the command for one job; see exec_handler."""
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", command, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env=_environment(job), start_new_session=True)
        except OSError as exc:
            raise ExecError(f"could not start the command: {exc}", "") from exc
        talk = asyncio.ensure_future(proc.communicate(job.payload or b""))
        with context.cancellation:
            await asyncio.shield(talk)
        if not talk.done():
            _killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(talk), KILL_AFTER)
            except asyncio.TimeoutError:
                _killpg(proc.pid, signal.SIGKILL)
        _, err = await talk
        if err:
            sys.stderr.buffer.write(err)
            sys.stderr.flush()
        tail = err[-TAIL_BYTES:].decode("utf-8", "replace")
        status = proc.returncode
        if context.cancellation.cancel_called or status == 0:
            return
        if status == EX_TEMPFAIL:
            raise ExecRetry(delay, tail)
        if status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = "unknown signal"
            raise ExecError(f"command was terminated by signal {-status} ({name})", tail)
        raise ExecError(f"command exited with status {status}", tail)

    return run_command
