"""Every SQL statement the Python client sends.

The client only calls ``pgqueuer.*`` functions (plus LISTEN, pg_notify and
two catalog reads at start); it names no pgqueuer table.  Everything is
schema-qualified and no statement uses an operator, so nothing that a role
planted in ``public`` (or any schema on the search path) is ever resolved.
"""

CHANNEL = "ch_pgqueuer"

EXTENSION_VERSION = (
    "SELECT pg_catalog.current_database(), (SELECT e.extversion FROM pg_catalog.pg_extension e"
    " WHERE e.extname OPERATOR(pg_catalog.=) 'pgqueuer')"
)

LEASE_GUC = (
    "SELECT EXTRACT(EPOCH FROM COALESCE("
    "pg_catalog.current_setting('pgqueuer.lease_timeout', true)::interval,"
    " interval '30 seconds'))::float8"
)

LISTEN = "LISTEN " + CHANNEL

NOTIFY = "SELECT pg_catalog.pg_notify(%s, %s)"

ENQUEUE = "SELECT pgqueuer.enqueue(%s, %s, %s, %s::interval, %s, %s::jsonb, %s)"

ENQUEUE_BATCH = (
    "SELECT pgqueuer.enqueue_batch(%s::text[], %s::bytea[], %s::integer[], %s::interval[],"
    " %s::text[], %s::jsonb[], %s)"
)

# A claimed batch comes back as ONE text value, a JSON array of rows
# [id, priority, created, updated, heartbeat, execute_after, entrypoint,
#  payload (hex), attempts, headers, dedupe_key], in dequeue's order: one
# value to fetch and one json.loads (in C) per batch instead of eleven
# values per job through psycopg's loaders.  status is always 'picked'.
_BATCH_JSON = (
    "SELECT pg_catalog.json_agg(pg_catalog.json_build_array(d.id, d.priority, d.created, d.updated,"
    " d.heartbeat, d.execute_after, d.entrypoint, pg_catalog.encode(d.payload, 'hex'), d.attempts,"
    " d.headers, d.dedupe_key))::text"
)

DEQUEUE = _BATCH_JSON + " FROM pgqueuer.dequeue(%s, %s::text[], %s::uuid, NULL) d"

# complete() then dequeue() in one statement: the LATERAL call depends on
# the count of completed jobs, so it runs after complete(), and (both being
# volatile SPI functions under READ COMMITTED) sees what complete() freed.
# One round trip and one commit per batch.
COMPLETE_DEQUEUE = (
    _BATCH_JSON
    + " FROM (SELECT pg_catalog.count(*) AS n FROM pgqueuer.complete(%s::bigint[],"
    " %s::text[]::pgqueuer.pgqueuer_status[], %s::jsonb[], %s::uuid)) c,"
    " LATERAL pgqueuer.dequeue(CASE WHEN c.n IS NOT NULL THEN %s::integer END, %s::text[], %s::uuid, NULL) d"
)

# The same statements for the worker's fast path (rawexec.py: prepared once,
# text parameters): $n placeholders, the worker's id given once, complete()
# without tracebacks (a batch with any goes through the statements above).
RAW_DEQUEUE = _BATCH_JSON + " FROM pgqueuer.dequeue($1::integer, $2::text[], $3::uuid, NULL) d"

RAW_COMPLETE_DEQUEUE = (
    _BATCH_JSON
    + " FROM (SELECT pg_catalog.count(*) AS n FROM pgqueuer.complete($1::bigint[],"
    " $2::text[]::pgqueuer.pgqueuer_status[], NULL::jsonb[], $3::uuid)) c,"
    " LATERAL pgqueuer.dequeue(CASE WHEN c.n IS NOT NULL THEN $4::integer END, $5::text[], $3::uuid, NULL) d"
)

RAW_COMPLETE = (
    "SELECT pg_catalog.count(*) FROM pgqueuer.complete($1::bigint[],"
    " $2::text[]::pgqueuer.pgqueuer_status[], NULL::jsonb[], $3::uuid)"
)

COMPLETE = (
    "SELECT pg_catalog.count(*) FROM pgqueuer.complete(%s::bigint[],"
    " %s::text[]::pgqueuer.pgqueuer_status[], %s::jsonb[], %s::uuid)"
)

RETRY = "SELECT pgqueuer.retry(%s, %s::interval, %s::jsonb, %s::uuid)"

HEARTBEAT = "SELECT pgqueuer.heartbeat(%s::bigint[], %s::uuid)"

JOB_STATUS = "SELECT job_id, status::text FROM pgqueuer.job_status(%s::bigint[])"

WAIT_FOR = "SELECT job_id, status::text FROM pgqueuer.wait_for(%s::bigint[], %s::interval)"

REGISTER_ENTRYPOINT = (
    "SELECT pgqueuer.register_entrypoint(%s, %s, %s::interval, %s, %s::float8,"
    " %s::interval, %s::interval, %s)"
)

QUEUE_SIZE = "SELECT count, entrypoint, priority, status::text FROM pgqueuer.queue_size()"

LOG_STATISTICS = (
    "SELECT count, created, entrypoint, priority, status::text"
    " FROM pgqueuer.log_statistics(%s, %s::interval)"
)

CANCEL = "SELECT pgqueuer.cancel(%s::bigint[])"

REQUEUE = "SELECT pgqueuer.requeue(%s::bigint[])"

PAUSE = "SELECT pgqueuer.pause(%s)"

RESUME = "SELECT pgqueuer.resume(%s)"

SCHEDULE = "SELECT pgqueuer.schedule(%s, %s, %s, %s)"

UNSCHEDULE_ENTRYPOINT = "SELECT pgqueuer.unschedule(%s::text)"

UNSCHEDULE_ID = "SELECT pgqueuer.unschedule(%s::bigint)"
