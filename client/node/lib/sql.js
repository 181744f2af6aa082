/*
 * sql.js -- every statement the Node.js client sends.
 *
 * The client is thin: it calls pgqueuer.* functions and LISTENs on
 * ch_pgqueuer, nothing else.  It reads no table (the pgqueuer_* roles may
 * have no table privileges at all; the one catalog read is pg_extension).
 * Every function and type is schema-qualified and the one operator is
 * written OPERATOR(pg_catalog.=), so objects another role planted in a
 * schema on the session's search_path (public, say) are never reached,
 * whatever search_path the application's connection has.
 */
'use strict';

/** The notification channel of PgQueuer and the extension. */
const CHANNEL = 'ch_pgqueuer';

/** pgqueuer.enqueue(); execute_after from seconds ($4). */
const ENQUEUE =
	'SELECT pgqueuer.enqueue($1::pg_catalog.text, $2::pg_catalog.bytea, $3::pg_catalog.int4,' +
	' pg_catalog.make_interval(secs => $4::pg_catalog.float8), $5::pg_catalog.text,' +
	' $6::pg_catalog.jsonb, $7::pg_catalog.text) AS id';

/*
 * pgqueuer.enqueue_batch(); execute_after from an array of seconds, turned
 * into intervals element by element in input order.  The ids come back in
 * input order (WITH ORDINALITY makes the order explicit).
 */
const ENQUEUE_BATCH =
	'SELECT e.id FROM pgqueuer.enqueue_batch($1::pg_catalog.text[], $2::pg_catalog.bytea[],' +
	' $3::pg_catalog.int4[],' +
	' (SELECT pg_catalog.array_agg(pg_catalog.make_interval(secs => u.s) ORDER BY u.n)' +
	'  FROM pg_catalog.unnest($4::pg_catalog.float8[]) WITH ORDINALITY AS u(s, n)),' +
	' $5::pg_catalog.text[], $6::pg_catalog.jsonb[], $7::pg_catalog.text)' +
	' WITH ORDINALITY AS e(id, n) ORDER BY e.n';

/*
 * pgqueuer.dequeue(): no per-worker cap ($4) is passed, the worker asks only
 * for as many jobs as it has free slots.
 */
const DEQUEUE =
	'SELECT d.id, d.priority, d.queue_manager_id, d.created, d.updated, d.heartbeat,' +
	' d.execute_after, d.status, d.entrypoint, d.dedupe_key, d.payload, d.headers, d.attempts' +
	' FROM pgqueuer.dequeue($1::pg_catalog.int4, $2::pg_catalog.text[], $3::pg_catalog.uuid, NULL) AS d';

/* pgqueuer.complete(): the ids that changed. */
const COMPLETE =
	'SELECT c.id FROM pgqueuer.complete($1::pg_catalog.int8[], $2::pgqueuer.pgqueuer_status[],' +
	' $3::pg_catalog.jsonb[], $4::pg_catalog.uuid) AS c(id)';

/* pgqueuer.retry(): delay in seconds ($2). */
const RETRY =
	'SELECT pgqueuer.retry($1::pg_catalog.int8, pg_catalog.make_interval(secs => $2::pg_catalog.float8),' +
	' $3::pg_catalog.jsonb, $4::pg_catalog.uuid) AS retried';

/* pgqueuer.heartbeat(): how many leases were extended. */
const HEARTBEAT =
	'SELECT pgqueuer.heartbeat($1::pg_catalog.int8[], $2::pg_catalog.uuid) AS extended';

/* pgqueuer.job_status(): latest logged status per job. */
const JOB_STATUS =
	'SELECT s.job_id, s.status::pg_catalog.text AS status' +
	' FROM pgqueuer.job_status($1::pg_catalog.int8[]) AS s';

/* pgqueuer.cancel(): the ids canceled. */
const CANCEL = 'SELECT c.id FROM pgqueuer.cancel($1::pg_catalog.int8[]) AS c(id)';

/* pgqueuer.queue_size(). */
const QUEUE_SIZE =
	'SELECT q.count, q.priority, q.entrypoint, q.status::pg_catalog.text AS status' +
	' FROM pgqueuer.queue_size() AS q';

/* pgqueuer.register_entrypoint(); intervals from seconds, NULL kept. */
const REGISTER_ENTRYPOINT =
	'SELECT pgqueuer.register_entrypoint($1::pg_catalog.text, $2::pg_catalog.int4,' +
	' pg_catalog.make_interval(secs => $3::pg_catalog.float8), $4::pg_catalog.int4,' +
	' $5::pg_catalog.float8, pg_catalog.make_interval(secs => $6::pg_catalog.float8),' +
	' pg_catalog.make_interval(secs => $7::pg_catalog.float8), $8::pg_catalog.text)';

/*
 * The extension's version in this database (NULL when not installed), and
 * the server's default lease in seconds (pgqueuer.lease_timeout; 30 s when
 * the setting is unknown to this session).
 */
const SETUP_PROBE =
	'SELECT (SELECT x.extversion FROM pg_catalog.pg_extension AS x' +
	'        WHERE x.extname OPERATOR(pg_catalog.=) \'pgqueuer\') AS version,' +
	' pg_catalog.date_part(\'epoch\', COALESCE(' +
	'   pg_catalog.current_setting(\'pgqueuer.lease_timeout\', true), \'30s\')::pg_catalog.interval)' +
	'   AS lease_seconds';

/* LISTEN; the channel name is a constant, not user input. */
const LISTEN = `LISTEN ${CHANNEL}`;

module.exports = {
	CHANNEL,
	ENQUEUE,
	ENQUEUE_BATCH,
	DEQUEUE,
	COMPLETE,
	RETRY,
	HEARTBEAT,
	JOB_STATUS,
	CANCEL,
	QUEUE_SIZE,
	REGISTER_ENTRYPOINT,
	SETUP_PROBE,
	LISTEN,
};
