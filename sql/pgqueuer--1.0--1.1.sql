/*
 * pgqueuer--1.0--1.1.sql
 *		Upgrade script of the pgqueuer extension from version 1.0 to 1.1.
 *
 * A fresh CREATE EXTENSION pgqueuer (version 1.1) runs pgqueuer--1.0.sql and
 * then this script, as PostgreSQL's contrib modules do with their base
 * script and update chain; an installed 1.0 gets the same objects with
 * ALTER EXTENSION pgqueuer UPDATE.  So the schema of 1.1 is defined here
 * exactly once, whichever way it was reached.
 *
 * The same rules as the install script hold: every object and operator is
 * schema-qualified (pg_catalog.x, pgqueuer.x, OPERATOR(pg_catalog.=)),
 * nothing is created with CREATE OR REPLACE or IF NOT EXISTS, and functions
 * run with search_path = pg_catalog, pg_temp.
 *
 * Sections, in order: security hardening; supported majors and versions;
 * PgQueuer compatibility; new SQL functions.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgqueuer UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------
-- Security hardening
------------------------------------------------------------------------




------------------------------------------------------------------------
-- Supported majors and extension versions
------------------------------------------------------------------------




------------------------------------------------------------------------
-- PgQueuer compatibility
------------------------------------------------------------------------




------------------------------------------------------------------------
-- New SQL functions
------------------------------------------------------------------------

-- Listing and lookups for the clients (libpgqueuer, pgq): with these, the
-- clients read and write nothing but pgqueuer.* functions.  SQL functions,
-- SECURITY DEFINER because a role that holds only pgqueuer_worker or
-- pgqueuer_admin need not be able to read the tables themselves; every
-- name and operator qualified, as the rules above say.

CREATE FUNCTION pgqueuer.list_jobs(
	statuses pgqueuer.pgqueuer_status[] DEFAULT NULL,
	entrypoints text[] DEFAULT NULL,
	max_rows integer DEFAULT NULL)
RETURNS TABLE (id bigint, priority integer, entrypoint text,
			   status pgqueuer.pgqueuer_status, attempts integer,
			   queue_manager_id uuid, created timestamptz, updated timestamptz,
			   heartbeat timestamptz, execute_after timestamptz,
			   dedupe_key text, payload_bytes integer)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT q.id, q.priority, q.entrypoint, q.status, q.attempts,
	   q.queue_manager_id, q.created, q.updated, q.heartbeat, q.execute_after,
	   q.dedupe_key, COALESCE(pg_catalog.octet_length(q.payload), 0)
FROM pgqueuer.pgqueuer AS q
WHERE (statuses IS NULL OR q.status OPERATOR(pg_catalog.=) ANY (statuses))
  AND (entrypoints IS NULL OR q.entrypoint OPERATOR(pg_catalog.=) ANY (entrypoints))
ORDER BY q.id
LIMIT max_rows
$$;
COMMENT ON FUNCTION pgqueuer.list_jobs(pgqueuer.pgqueuer_status[], text[], integer) IS
$$The jobs in the queue table (queued, picked and held failed jobs), oldest id first, without their payloads (payload_bytes: its length, 0 for none). statuses and entrypoints filter (NULL = any; an empty array matches nothing); max_rows caps the rows (NULL = all). The failed-job listing is list_jobs(ARRAY['failed']). Errors: 2201W for a negative max_rows.$$;

CREATE FUNCTION pgqueuer.list_schedules()
RETURNS TABLE (id bigint, expression text, entrypoint text,
			   heartbeat timestamptz, created timestamptz, updated timestamptz,
			   next_run timestamptz, last_run timestamptz,
			   status pgqueuer.pgqueuer_status, priority integer,
			   payload_bytes integer, server_fired boolean)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT s.id, s.expression, s.entrypoint, s.heartbeat, s.created, s.updated,
	   s.next_run, s.last_run, s.status, s.priority,
	   COALESCE(pg_catalog.octet_length(s.payload), 0), s.server_fired
FROM pgqueuer.pgqueuer_schedules AS s
ORDER BY s.id
$$;
COMMENT ON FUNCTION pgqueuer.list_schedules() IS
$$Every cron schedule, by id: expression (normalised), entrypoint, heartbeat, created, updated, next_run, last_run (NULL before the first run), status, priority, payload_bytes (length of the payload, 0 for none) and server_fired (true: the background worker enqueues a job when it is due; false: a PgQueuer client runs it).$$;

CREATE FUNCTION pgqueuer.list_workers()
RETURNS TABLE (queue_manager_id uuid, jobs bigint, entrypoints text[],
			   oldest_heartbeat timestamptz, last_heartbeat timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT q.queue_manager_id, pg_catalog.count(*),
	   pg_catalog.array_agg(DISTINCT q.entrypoint ORDER BY q.entrypoint),
	   pg_catalog.min(q.heartbeat), pg_catalog.max(q.heartbeat)
FROM pgqueuer.pgqueuer AS q
WHERE q.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status
  AND q.queue_manager_id IS NOT NULL
GROUP BY q.queue_manager_id
ORDER BY q.queue_manager_id
$$;
COMMENT ON FUNCTION pgqueuer.list_workers() IS
$$The workers that hold jobs now: one row per queue_manager_id of picked jobs, with the number of jobs it holds, their entrypoints (sorted) and the oldest and newest heartbeat among them (a worker whose oldest heartbeat is older than the lease is about to lose that job). Idle workers hold no job and are not listed.$$;

CREATE FUNCTION pgqueuer.entrypoint_leases(entrypoints text[])
RETURNS TABLE (entrypoint text, lease_timeout interval)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT n.name,
	   COALESCE(e.lease_timeout,
		   pg_catalog.current_setting('pgqueuer.lease_timeout', true)::pg_catalog.interval,
		   '30 seconds'::pg_catalog.interval)
FROM pg_catalog.unnest(entrypoints) WITH ORDINALITY AS n(name, ord)
LEFT JOIN pgqueuer.pgqueuer_entrypoints AS e
	   ON e.entrypoint OPERATOR(pg_catalog.=) n.name
WHERE n.name IS NOT NULL
ORDER BY n.ord
$$;
COMMENT ON FUNCTION pgqueuer.entrypoint_leases(text[]) IS
$$The lease (heartbeat timeout) that applies to each named entrypoint, in input order: its registry lease_timeout, else the GUC pgqueuer.lease_timeout, else 30 seconds. Workers heartbeat at half of it. NULL elements are skipped; an unregistered name gets the default.$$;

CREATE FUNCTION pgqueuer.next_due(entrypoints text[])
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT EXTRACT(EPOCH FROM pg_catalog.min(q.execute_after) OPERATOR(pg_catalog.-) pg_catalog.now())::pg_catalog.float8
FROM pgqueuer.pgqueuer AS q
WHERE q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
  AND q.entrypoint OPERATOR(pg_catalog.=) ANY (entrypoints)
  AND NOT EXISTS (SELECT 1 FROM pgqueuer.pgqueuer_entrypoints AS e
				  WHERE e.entrypoint OPERATOR(pg_catalog.=) q.entrypoint AND e.paused)
$$;
COMMENT ON FUNCTION pgqueuer.next_due(text[]) IS
$$Seconds until the first queued job of these entrypoints that is not paused becomes due (zero or negative: one is due now but dequeue did not hand it out, for example because of a concurrency or rate limit), or NULL when none is queued. Workers use it to sleep until deferred or retried work is due and to decide when drain mode is done.$$;

CREATE FUNCTION pgqueuer.jobs_not_held(job_ids bigint[], queue_manager_id uuid)
RETURNS TABLE (job_id bigint, status pgqueuer.pgqueuer_status)
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT DISTINCT i.id, q.status
FROM pg_catalog.unnest(job_ids) AS i(id)
LEFT JOIN pgqueuer.pgqueuer AS q ON q.id OPERATOR(pg_catalog.=) i.id
WHERE i.id IS NOT NULL
  AND (q.id IS NULL
	   OR q.status OPERATOR(pg_catalog.<>) 'picked'::pgqueuer.pgqueuer_status
	   OR q.queue_manager_id IS NULL
	   OR q.queue_manager_id OPERATOR(pg_catalog.<>) jobs_not_held.queue_manager_id)
ORDER BY i.id
$$;
COMMENT ON FUNCTION pgqueuer.jobs_not_held(bigint[], uuid) IS
$$Of the given job ids, those that worker queue_manager_id no longer holds as picked, with the job's status now (NULL: the job is gone -- canceled, completed or deleted; queued or picked: its lease expired and it went back to the queue or to another worker). A notification on ch_pgqueuer is only a hint (any role that can connect may send one): workers call this to confirm a cancellation_event before they stop a running job. NULL elements are skipped; NULL arguments return no rows.$$;

CREATE FUNCTION pgqueuer.current_durability()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
SELECT COALESCE(
	(SELECT s.value FROM pgqueuer.pgqueuer_settings AS s
	 WHERE s.name OPERATOR(pg_catalog.=) 'durability'::pg_catalog.text),
	'durable'::pg_catalog.text)
$$;
COMMENT ON FUNCTION pgqueuer.current_durability() IS
$$The durability level stored by set_durability() (volatile, balanced or durable); durable when none was ever set.$$;

REVOKE ALL ON FUNCTION
	pgqueuer.list_jobs(pgqueuer.pgqueuer_status[], text[], integer),
	pgqueuer.list_schedules(),
	pgqueuer.list_workers(),
	pgqueuer.entrypoint_leases(text[]),
	pgqueuer.next_due(text[]),
	pgqueuer.jobs_not_held(bigint[], uuid),
	pgqueuer.current_durability()
FROM PUBLIC;
-- what the worker role could read from the tables before: its own
-- lookups and the listings of pgq failed, pgq schedules and pgq workers
GRANT EXECUTE ON FUNCTION
	pgqueuer.list_jobs(pgqueuer.pgqueuer_status[], text[], integer),
	pgqueuer.list_schedules(),
	pgqueuer.list_workers(),
	pgqueuer.entrypoint_leases(text[]),
	pgqueuer.next_due(text[]),
	pgqueuer.jobs_not_held(bigint[], uuid),
	pgqueuer.current_durability()
TO pgqueuer_worker, pgqueuer_admin;




------------------------------------------------------------------------
-- Python and Node.js clients
------------------------------------------------------------------------

