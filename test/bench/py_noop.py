"""The Python worker of `make bench`: entrypoint "noop" with a no-op async
handler, run as ``python3 -m pgqueuer_client run py_noop:main``."""

from pgqueuer_client import Job, PgQueuer


def main() -> PgQueuer:
    """A PgQueuer serving "noop" (connection from $PGQUEUER_DSN)."""
    pgq = PgQueuer.from_dsn()

    @pgq.entrypoint("noop")
    async def noop(job: Job) -> None:
        pass

    return pgq
