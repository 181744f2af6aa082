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

-- Objects planted in schema "pgqueuer" (SECURITY.md, section 1).  Operator
-- and function resolution picks the most exact signature anywhere on
-- search_path, so "pgqueuer" must not be on it: an operator planted there
-- with a more exact signature than pg_catalog's would run as superuser.
-- Every function runs with pg_catalog and pg_temp only (pg_temp is never
-- searched for functions and operators); the C code qualifies every name.
ALTER FUNCTION pgqueuer.fn_pgqueuer_changed() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.settings_apply() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.enqueue(text, bytea, integer, interval, text, jsonb, text)
	SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.enqueue_batch(text[], bytea[], integer[], interval[], text[], jsonb[], text)
	SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.dequeue(integer, text[], uuid, integer)
	SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.complete(bigint[], pgqueuer.pgqueuer_status[], jsonb[], uuid)
	SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.retry(bigint, interval, jsonb, uuid)
	SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.heartbeat(bigint[], uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.requeue(bigint[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.cancel(bigint[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.register_entrypoint(text, integer, interval, integer, double precision, interval, interval, text)
	SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.pause(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.resume(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.queue_size() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.job_status(bigint[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.log_statistics(integer, interval) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.cron_next(text, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.schedule(text, text, bytea, integer) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.unschedule(bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.unschedule(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.set_durability(text, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.autovac(boolean, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.verify() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION pgqueuer.run_maintenance() SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION pgqueuer.verify() IS
$$Check the installation: every table, column (type, nullability), enum label and order, index, trigger and function, the stored durability and autovacuum choices against the tables, the notification queue usage, and the schema itself: objects in schema pgqueuer that are not members of the extension (with their owner), CREATE granted on it to a role that is not a superuser, an owner that is not a superuser (SECURITY.md, section 1); and rows the maintenance sweeps skip (registry values out of range, an unusable deferred wake-up watermark, server-fired schedules whose expression does not parse or never fires; SECURITY.md, section 5). One line per problem; no rows means healthy.$$;

-- Table privileges (SECURITY.md, section 3).  Every write goes through a
-- function that checks it; the roles keep reading what their clients read.
-- pgqueuer_worker and pgqueuer_admin: SELECT on PgQueuer's four tables, the
-- registry and the settings (as in 1.0), no INSERT, UPDATE, DELETE or
-- sequence.  pgqueuer_producer had and has no table privilege.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON
	pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics,
	pgqueuer.pgqueuer_schedules, pgqueuer.pgqueuer_entrypoints,
	pgqueuer.pgqueuer_settings, pgqueuer.pgqueuer_rate_grants
FROM pgqueuer_producer, pgqueuer_worker, pgqueuer_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pgqueuer
FROM pgqueuer_producer, pgqueuer_worker, pgqueuer_admin;

-- The opt-in for unmodified PgQueuer clients, which write the tables with
-- their own SQL: an admin grants exactly those writes to a named role.
CREATE FUNCTION pgqueuer.grant_pgqueuer_client_access(role pg_catalog.regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'argument "role" must not be NULL'
			USING ERRCODE = '22004';
	END IF;
	IF role::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN
		RAISE EXCEPTION 'PgQueuer client access cannot be granted to PUBLIC'
			USING ERRCODE = '22023',
				  HINT = 'Name a role, for example one that your PgQueuer workers log in as.';
	END IF;
	-- a regrole holding the OID of no role (a dropped one, or any number)
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) role::pg_catalog.oid) THEN
		RAISE EXCEPTION 'role with OID % does not exist', role::pg_catalog.oid
			USING ERRCODE = '42704';
	END IF;
	EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA pgqueuer TO %s', role);
	-- the queue: enqueue, dequeue, heartbeat, retry, complete (log_jobs), requeue
	EXECUTE pg_catalog.format('GRANT SELECT, INSERT, DELETE, UPDATE ON pgqueuer.pgqueuer TO %s', role);
	EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE pgqueuer.pgqueuer_id_seq TO %s', role);
	-- the log: one row per transition; aggregate_logs marks rows aggregated
	EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE (aggregated) ON pgqueuer.pgqueuer_log TO %s', role);
	-- the statistics: aggregate_logs upserts counts
	EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE (count) ON pgqueuer.pgqueuer_statistics TO %s', role);
	EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE pgqueuer.pgqueuer_statistics_id_seq TO %s', role);
	-- the schedules: PgQueuer's columns only, so a client can neither make
	-- a schedule that the server fires nor change what one enqueues
	EXECUTE pg_catalog.format('GRANT SELECT, DELETE, INSERT (expression, entrypoint, heartbeat, created, updated, next_run, last_run, status), UPDATE (heartbeat, updated, next_run, last_run, status) ON pgqueuer.pgqueuer_schedules TO %s', role);
	EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE pgqueuer.pgqueuer_schedules_id_seq TO %s', role);
END
$$;
COMMENT ON FUNCTION pgqueuer.grant_pgqueuer_client_access(pg_catalog.regrole) IS
$$Opt-in for unmodified PgQueuer (Python) clients, which write the tables with their own SQL instead of calling pgqueuer's functions: grants role exactly those writes, and USAGE on the schema. pgqueuer.pgqueuer: SELECT, INSERT, UPDATE, DELETE; pgqueuer_log: SELECT, INSERT, UPDATE (aggregated); pgqueuer_statistics: SELECT, INSERT, UPDATE (count); pgqueuer_schedules: SELECT, DELETE, INSERT and UPDATE of PgQueuer's columns (not payload, priority, server_fired; not entrypoint or expression on UPDATE); USAGE on their sequences. Such a role can change and delete any job; the background worker validates what it wrote before acting on it. Undo with revoke_pgqueuer_client_access(). Errors: 22004 for NULL, 22023 for PUBLIC. See SECURITY.md.$$;

CREATE FUNCTION pgqueuer.revoke_pgqueuer_client_access(role pg_catalog.regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	reader boolean;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'argument "role" must not be NULL'
			USING ERRCODE = '22004';
	END IF;
	IF role::pg_catalog.oid OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN
		RAISE EXCEPTION 'PgQueuer client access cannot be revoked from PUBLIC'
			USING ERRCODE = '22023',
				  HINT = 'Name the role that grant_pgqueuer_client_access() was given.';
	END IF;
	-- a regrole holding the OID of no role (a dropped one, or any number)
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) role::pg_catalog.oid) THEN
		RAISE EXCEPTION 'role with OID % does not exist', role::pg_catalog.oid
			USING ERRCODE = '42704';
	END IF;
	-- pgqueuer's own roles keep the schema and the SELECT they have anyway
	reader := role::pg_catalog.text OPERATOR(pg_catalog.=)
		ANY (ARRAY['pgqueuer_producer', 'pgqueuer_worker', 'pgqueuer_admin']);
	EXECUTE pg_catalog.format('REVOKE INSERT, UPDATE, DELETE ON pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics, pgqueuer.pgqueuer_schedules FROM %s', role);
	EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE pgqueuer.pgqueuer_id_seq, pgqueuer.pgqueuer_statistics_id_seq, pgqueuer.pgqueuer_schedules_id_seq FROM %s', role);
	IF NOT reader THEN
		EXECUTE pg_catalog.format('REVOKE SELECT ON pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics, pgqueuer.pgqueuer_schedules FROM %s', role);
		EXECUTE pg_catalog.format('REVOKE USAGE ON SCHEMA pgqueuer FROM %s', role);
	END IF;
END
$$;
COMMENT ON FUNCTION pgqueuer.revoke_pgqueuer_client_access(pg_catalog.regrole) IS
$$Undo grant_pgqueuer_client_access(role): revokes its table writes, sequence usage and (except from pgqueuer_producer, pgqueuer_worker and pgqueuer_admin, which keep what they had) its SELECT and schema USAGE. Errors: 22004 for NULL, 22023 for PUBLIC. See SECURITY.md.$$;

REVOKE ALL ON FUNCTION pgqueuer.grant_pgqueuer_client_access(pg_catalog.regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgqueuer.revoke_pgqueuer_client_access(pg_catalog.regrole) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	pgqueuer.grant_pgqueuer_client_access(pg_catalog.regrole),
	pgqueuer.revoke_pgqueuer_client_access(pg_catalog.regrole)
TO pgqueuer_admin;


------------------------------------------------------------------------
-- Supported majors and extension versions
------------------------------------------------------------------------

-- Whether the background worker runs the duties in this server.  The library
-- itself serves schema 1.1, and 1.0 until this script has run (see
-- src/common/schema_version.c); that needs no SQL object.
CREATE FUNCTION pgqueuer.check_background()
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_check_background';
COMMENT ON FUNCTION pgqueuer.check_background() IS
	$$Whether pgqueuer is in shared_preload_libraries, so that its background worker runs lease expiry, cron schedules, deferred wake-ups, statistics and retention. Returns false, with a WARNING whose hint names pgqueuer.run_maintenance() (to be called every few seconds, for example from pg_cron or a client timer), when it is not. CREATE EXTENSION and verify() give the same warning.$$;
REVOKE ALL ON FUNCTION pgqueuer.check_background() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.check_background() TO pgqueuer_admin;

-- pg_dump keeps the settings that pg_restore re-applies (durability,
-- autovac), not the deferred wake-up watermark: that is the state of the
-- server whose worker sent the wake-ups.  A restored database announces its
-- due deferred jobs once.
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_settings',
	$$WHERE name OPERATOR(pg_catalog.<>) 'deferred_notified_until'$$);

-- CREATE EXTENSION and ALTER EXTENSION pgqueuer UPDATE warn when no
-- background worker will run the duties.
SELECT pgqueuer.check_background();


------------------------------------------------------------------------
-- PgQueuer compatibility
------------------------------------------------------------------------

-- PgQueuer's own workers find the next deferred job of their entrypoints
-- with "status = 'queued' AND execute_after > now() AND entrypoint =
-- ANY(...) ORDER BY execute_after LIMIT 1", and PgQueuer's schema has this
-- index (same name, columns and predicate) for it; its planner test and its
-- upgrade check look for it by name.  pgqueuer's own claim keeps reading
-- pgqueuer_ep_prio_id_idx (priority order), guarded by the plans test; a
-- claimed row leaves the predicate, so the claim adds no entry here.
CREATE INDEX pgqueuer_ep_ea_idx ON pgqueuer.pgqueuer
	USING btree (entrypoint, execute_after)
	WHERE status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status;
COMMENT ON INDEX pgqueuer.pgqueuer_ep_ea_idx IS
	'PgQueuer''s index for its workers'' next-deferred-job query: queued jobs by entrypoint and execute_after.';




------------------------------------------------------------------------
-- New SQL functions
------------------------------------------------------------------------

-- wait_for(): sleep on the server until jobs reached their outcome
CREATE FUNCTION pgqueuer.wait_for(job_ids bigint[], timeout interval)
RETURNS TABLE (job_id bigint, status pgqueuer.pgqueuer_status)
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_wait_for';
COMMENT ON FUNCTION pgqueuer.wait_for(bigint[], interval) IS
$$Wait until every job has an outcome or timeout (>= 0; 0 reads once) has passed, sleeping on the server: woken by the commit of every transaction that ends jobs (with pgqueuer in shared_preload_libraries; otherwise it re-reads every 100 ms). Returns one row per known job in input order: its status in the queue (queued, picked, or failed = held) or else its last logged outcome (successful, exception, canceled, deleted); queued or picked rows mean the timeout passed first. Unknown ids are left out and not waited for. Like PgQueuer's CompletionWatcher, plus failed (held) counted as an outcome. Requires READ COMMITTED (0A000). Errors: 22004 for NULL arguments or elements, 22023 for a negative timeout, a duplicate id or more than 10000 ids, 2202E for a multi-dimensional array.$$;
REVOKE ALL ON FUNCTION pgqueuer.wait_for(bigint[], interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.wait_for(bigint[], interval)
TO pgqueuer_producer, pgqueuer_worker, pgqueuer_admin;

-- Lookups for the clients (libpgqueuer, pgq): with these and the listings of
-- the dashboard section below (list_jobs, list_schedules, workers), the
-- clients read and write nothing but pgqueuer.* functions.  SQL functions,
-- SECURITY DEFINER because a role that holds only pgqueuer_worker need not
-- be able to read the tables themselves; every name and operator
-- qualified, as the rules above say.

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
LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
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
$$Of the given job ids, those that worker queue_manager_id no longer holds as picked, with the job's status now (NULL: the job is gone -- canceled, completed or deleted; queued or picked: its lease expired and it went back to the queue or to another worker). A notification on ch_pgqueuer is only a hint (any role that can connect may send one): workers call this to confirm a cancellation_event before they stop a running job. NULL elements are skipped; a NULL argument returns no rows (STRICT).$$;

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
	pgqueuer.entrypoint_leases(text[]),
	pgqueuer.next_due(text[]),
	pgqueuer.jobs_not_held(bigint[], uuid),
	pgqueuer.current_durability()
FROM PUBLIC;
-- the worker's own lookups (it could read the tables in 1.0)
GRANT EXECUTE ON FUNCTION
	pgqueuer.entrypoint_leases(text[]),
	pgqueuer.next_due(text[]),
	pgqueuer.jobs_not_held(bigint[], uuid),
	pgqueuer.current_durability()
TO pgqueuer_worker, pgqueuer_admin;




------------------------------------------------------------------------
-- Python and Node.js clients
------------------------------------------------------------------------


------------------------------------------------------------------------
-- Dashboard and metrics (pgq web, Prometheus)
------------------------------------------------------------------------

-- Schedules can be switched off without losing them; the server fires only
-- enabled ones.  PgQueuer's own scheduler does not read the column.
ALTER TABLE pgqueuer.pgqueuer_schedules
	ADD COLUMN enabled boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN pgqueuer.pgqueuer_schedules.enabled IS
	'false: the server does not fire this schedule (set_schedule_enabled()); PgQueuer''s own scheduler ignores the column.';

-- Log rows that carry a traceback (exceptions, retries, lease expiries) are
-- few; metrics() counts them through this index instead of the whole log.
CREATE INDEX pgqueuer_log_traceback_idx ON pgqueuer.pgqueuer_log
	USING btree (entrypoint, status) WHERE traceback IS NOT NULL;
COMMENT ON INDEX pgqueuer.pgqueuer_log_traceback_idx IS
	'Log rows with a traceback (exceptions, retries, lease expiries), for metrics().';

CREATE FUNCTION pgqueuer.entrypoint_summary()
RETURNS TABLE (
	entrypoint text,
	queued bigint,
	deferred bigint,
	picked bigint,
	failed bigint,
	oldest_queued_age double precision,
	concurrency_limit integer,
	requests_per_second double precision,
	lease_timeout interval,
	max_attempts integer,
	retry_backoff_base interval,
	retry_backoff_max interval,
	on_failure text,
	paused boolean,
	registered boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	WITH q AS (
		SELECT j.entrypoint,
			pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
				AND j.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now()) AS queued,
			pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
				AND j.execute_after OPERATOR(pg_catalog.>) pg_catalog.now()) AS deferred,
			pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status) AS picked,
			pg_catalog.count(*) FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'failed'::pgqueuer.pgqueuer_status) AS failed,
			pg_catalog.date_part('epoch', pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.min(j.execute_after)
				FILTER (WHERE j.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
					AND j.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now())) AS oldest
		FROM pgqueuer.pgqueuer j
		GROUP BY j.entrypoint)
	SELECT COALESCE(q.entrypoint, e.entrypoint),
		COALESCE(q.queued, 0), COALESCE(q.deferred, 0), COALESCE(q.picked, 0), COALESCE(q.failed, 0),
		q.oldest,
		COALESCE(e.concurrency_limit, 0), COALESCE(e.requests_per_second, 0),
		e.lease_timeout, e.max_attempts, e.retry_backoff_base, e.retry_backoff_max, e.on_failure,
		COALESCE(e.paused, false), COALESCE(e.registered, false)
	FROM q FULL JOIN pgqueuer.pgqueuer_entrypoints e ON e.entrypoint OPERATOR(pg_catalog.=) q.entrypoint
	ORDER BY 1
$$;
COMMENT ON FUNCTION pgqueuer.entrypoint_summary() IS
$$One row per entrypoint that has jobs or a registry row, ordered by name: jobs queued and due now, deferred (queued, due later), picked and held as failed; oldest_queued_age: seconds since the oldest due queued job became due (NULL: none); and the registry values (NULL or the defaults when the entrypoint is not registered; registered = false also for rows created only by pause()). Reads the whole queue table, like queue_size().$$;

CREATE FUNCTION pgqueuer.list_jobs(
	entrypoints text[] DEFAULT NULL,
	statuses pgqueuer.pgqueuer_status[] DEFAULT NULL,
	job_ids bigint[] DEFAULT NULL,
	dedupe_keys text[] DEFAULT NULL,
	max_rows integer DEFAULT 100)
RETURNS TABLE (
	id bigint,
	priority integer,
	status pgqueuer.pgqueuer_status,
	due boolean,
	entrypoint text,
	dedupe_key text,
	attempts integer,
	created timestamptz,
	updated timestamptz,
	execute_after timestamptz,
	heartbeat timestamptz,
	queue_manager_id uuid,
	payload_size integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_rows IS NULL THEN
		RAISE EXCEPTION 'max_rows must not be NULL' USING ERRCODE = '22004';
	END IF;
	IF max_rows OPERATOR(pg_catalog.<) 1 OR max_rows OPERATOR(pg_catalog.>) 10000 THEN
		RAISE EXCEPTION 'max_rows must be between 1 and 10000'
			USING ERRCODE = '22023', DETAIL = pg_catalog.format('max_rows is %s.', max_rows);
	END IF;
	RETURN QUERY
		SELECT j.id, j.priority, j.status,
			j.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now(),
			j.entrypoint, j.dedupe_key, j.attempts,
			j.created, j.updated, j.execute_after, j.heartbeat, j.queue_manager_id,
			pg_catalog.octet_length(j.payload)
		FROM pgqueuer.pgqueuer j
		WHERE (list_jobs.entrypoints IS NULL OR j.entrypoint OPERATOR(pg_catalog.=) ANY (list_jobs.entrypoints))
		  AND (list_jobs.statuses IS NULL OR j.status OPERATOR(pg_catalog.=) ANY (list_jobs.statuses))
		  AND (list_jobs.job_ids IS NULL OR j.id OPERATOR(pg_catalog.=) ANY (list_jobs.job_ids))
		  AND (list_jobs.dedupe_keys IS NULL OR j.dedupe_key OPERATOR(pg_catalog.=) ANY (list_jobs.dedupe_keys))
		ORDER BY j.id DESC
		LIMIT list_jobs.max_rows;
END
$$;
COMMENT ON FUNCTION pgqueuer.list_jobs(text[], pgqueuer.pgqueuer_status[], bigint[], text[], integer) IS
$$Jobs in the queue table (queued, picked, held failed), newest id first, at most max_rows (1 to 10000, else 22023; NULL: 22004). Each filter is an array; NULL matches everything, an empty array nothing: entrypoints, statuses, job_ids, dedupe_keys (exact). due: whether execute_after has passed (a queued job that is not due is deferred). payload_size in bytes (NULL payload: NULL). Finished jobs are only in the log: see job_history().$$;

CREATE FUNCTION pgqueuer.job_detail(job_id bigint, max_payload integer DEFAULT 4096)
RETURNS TABLE (
	id bigint,
	priority integer,
	status pgqueuer.pgqueuer_status,
	entrypoint text,
	dedupe_key text,
	attempts integer,
	created timestamptz,
	updated timestamptz,
	execute_after timestamptz,
	heartbeat timestamptz,
	queue_manager_id uuid,
	headers jsonb,
	payload bytea,
	payload_size integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF job_id IS NULL THEN
		RAISE EXCEPTION 'job_id must not be NULL' USING ERRCODE = '22004';
	END IF;
	IF max_payload IS NULL OR max_payload OPERATOR(pg_catalog.<) 0 OR max_payload OPERATOR(pg_catalog.>) 1048576 THEN
		RAISE EXCEPTION 'max_payload must be between 0 and 1048576 bytes'
			USING ERRCODE = '22023';
	END IF;
	RETURN QUERY
		SELECT j.id, j.priority, j.status, j.entrypoint, j.dedupe_key, j.attempts,
			j.created, j.updated, j.execute_after, j.heartbeat, j.queue_manager_id, j.headers,
			pg_catalog.substring(j.payload, 1, max_payload),
			pg_catalog.octet_length(j.payload)
		FROM pgqueuer.pgqueuer j
		WHERE j.id OPERATOR(pg_catalog.=) job_detail.job_id;
END
$$;
COMMENT ON FUNCTION pgqueuer.job_detail(bigint, integer) IS
$$One job of the queue table with its headers and the first max_payload bytes of its payload (0 to 1048576, default 4096; payload_size is the whole size); no row when the job is not in the queue table (finished, or never existed). Errors: 22004 for a NULL job_id, 22023 for max_payload out of range.$$;

CREATE FUNCTION pgqueuer.job_history(job_id bigint)
RETURNS TABLE (
	log_id bigint,
	created timestamptz,
	status pgqueuer.pgqueuer_status,
	priority integer,
	entrypoint text,
	traceback jsonb)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT l.id, l.created, l.status, l.priority, l.entrypoint, l.traceback
	FROM pgqueuer.pgqueuer_log l
	WHERE l.job_id OPERATOR(pg_catalog.=) job_history.job_id
	ORDER BY l.created, l.id
$$;
COMMENT ON FUNCTION pgqueuer.job_history(bigint) IS
$$The log rows of one job, oldest first: each state it went through (queued, picked, retries with their traceback, the final status) while within pgqueuer.log_retention.$$;

CREATE FUNCTION pgqueuer.workers()
RETURNS TABLE (
	queue_manager_id uuid,
	picked bigint,
	entrypoints text[],
	last_heartbeat timestamptz,
	oldest_heartbeat timestamptz,
	pid integer,
	client_addr inet,
	client_hostname text,
	backend_start timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	WITH w AS (
		SELECT j.queue_manager_id AS qm, pg_catalog.count(*) AS picked,
			pg_catalog.array_agg(DISTINCT j.entrypoint ORDER BY j.entrypoint) AS entrypoints,
			pg_catalog.max(j.heartbeat) AS last_hb, pg_catalog.min(j.heartbeat) AS oldest_hb
		FROM pgqueuer.pgqueuer j
		WHERE j.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status
		  AND j.queue_manager_id IS NOT NULL
		GROUP BY j.queue_manager_id),
	a AS (
		SELECT pg_catalog.substr(s.application_name, 17)::uuid AS qm, s.pid, s.client_addr,
			s.client_hostname, s.backend_start
		FROM pg_catalog.pg_stat_activity s
		WHERE s.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
		  AND s.application_name OPERATOR(pg_catalog.~) '^pgqueuer worker [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
	SELECT COALESCE(w.qm, a.qm), COALESCE(w.picked, 0), COALESCE(w.entrypoints, '{}'::text[]),
		w.last_hb, w.oldest_hb, a.pid, a.client_addr, a.client_hostname, a.backend_start
	FROM w FULL JOIN a ON a.qm OPERATOR(pg_catalog.=) w.qm
	ORDER BY 1
$$;
COMMENT ON FUNCTION pgqueuer.workers() IS
$$Workers known to the server: every queue_manager_id holding picked jobs (how many, of which entrypoints, newest and oldest heartbeat), joined with the connections whose application_name is 'pgqueuer worker <queue_manager_id>' (what libpgqueuer sets unless the connection string names another application): pid, client address and host name, connection start. A connected worker holding no job has picked = 0; a worker known only from its jobs has NULL connection columns.$$;

CREATE FUNCTION pgqueuer.list_schedules()
RETURNS TABLE (
	id bigint,
	expression text,
	entrypoint text,
	next_run timestamptz,
	last_run timestamptz,
	priority integer,
	server_fired boolean,
	enabled boolean,
	heartbeat timestamptz,
	created timestamptz,
	updated timestamptz,
	status pgqueuer.pgqueuer_status,
	payload_size integer)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.id, s.expression, s.entrypoint, s.next_run, s.last_run, s.priority,
		s.server_fired, s.enabled, s.heartbeat, s.created, s.updated, s.status,
		pg_catalog.octet_length(s.payload)
	FROM pgqueuer.pgqueuer_schedules s
	ORDER BY s.next_run, s.id
$$;
COMMENT ON FUNCTION pgqueuer.list_schedules() IS
$$Every cron schedule, next to run first: expression, entrypoint, next and last run, the priority of the jobs it enqueues, server_fired (true: made by schedule() and fired by the server; false: PgQueuer's scheduler owns it) and enabled; then PgQueuer's heartbeat, created, updated and status (what pgq schedules shows) and payload_size in bytes (NULL payload: NULL).$$;

CREATE FUNCTION pgqueuer.set_schedule_enabled(schedule_id bigint, enabled boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	changed boolean;
BEGIN
	IF schedule_id IS NULL OR enabled IS NULL THEN
		RAISE EXCEPTION 'schedule_id and enabled must not be NULL' USING ERRCODE = '22004';
	END IF;
	UPDATE pgqueuer.pgqueuer_schedules s
		SET enabled = set_schedule_enabled.enabled, updated = pg_catalog.now()
		WHERE s.id OPERATOR(pg_catalog.=) set_schedule_enabled.schedule_id
		  AND s.enabled OPERATOR(pg_catalog.<>) set_schedule_enabled.enabled;
	GET DIAGNOSTICS changed = ROW_COUNT;
	RETURN changed;
END
$$;
COMMENT ON FUNCTION pgqueuer.set_schedule_enabled(bigint, boolean) IS
$$Switch a schedule on or off; the server fires only enabled schedules (a disabled one keeps its next_run; enabled again, a run missed meanwhile fires once). Returns whether the state changed (false also for an unknown id). Errors: 22004 for NULL arguments.$$;

CREATE FUNCTION pgqueuer.metrics()
RETURNS TABLE (
	name text,
	type text,
	help text,
	labels jsonb,
	value double precision)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	WITH s AS (SELECT * FROM pgqueuer.entrypoint_summary()),
	jobs AS (
		SELECT 'pgqueuer_jobs'::text AS name, 'gauge'::text AS type,
			'Jobs in the queue table by entrypoint and state (queued = due now, deferred = due later, picked, failed = held).'::text AS help,
			pg_catalog.jsonb_build_object('entrypoint', s.entrypoint, 'status', v.status) AS labels,
			v.n::double precision AS value
		FROM s CROSS JOIN LATERAL (VALUES ('queued', s.queued), ('deferred', s.deferred),
			('picked', s.picked), ('failed', s.failed)) AS v(status, n)),
	oldest AS (
		SELECT 'pgqueuer_oldest_queued_age_seconds', 'gauge',
			'Seconds since the oldest due queued job of the entrypoint became due (0: none waiting).',
			pg_catalog.jsonb_build_object('entrypoint', s.entrypoint), COALESCE(s.oldest_queued_age, 0)
		FROM s),
	waits AS (
		SELECT 'pgqueuer_jobs_waiting', 'gauge',
			'Due queued jobs held back: the entrypoint is paused, at its concurrency limit, or at its rate limit.',
			pg_catalog.jsonb_build_object('entrypoint', s.entrypoint, 'reason', v.reason),
			(CASE WHEN v.held THEN s.queued ELSE 0 END)::double precision
		FROM s CROSS JOIN LATERAL (VALUES
			('paused', s.paused),
			('concurrency_limit', s.concurrency_limit OPERATOR(pg_catalog.>) 0
				AND s.picked OPERATOR(pg_catalog.>=) s.concurrency_limit),
			('rate_limit', s.requests_per_second OPERATOR(pg_catalog.>) 0
				AND (SELECT COALESCE(pg_catalog.sum(g.jobs), 0) FROM pgqueuer.pgqueuer_rate_grants g
					 WHERE g.entrypoint OPERATOR(pg_catalog.=) s.entrypoint
					   AND g.granted_at OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-)
						   pg_catalog.make_interval(secs => GREATEST(1.0, 1.0 OPERATOR(pg_catalog./) s.requests_per_second))))
					OPERATOR(pg_catalog.>=) GREATEST(1, pg_catalog.floor(s.requests_per_second))))
			AS v(reason, held)),
	finished AS (
		SELECT 'pgqueuer_jobs_finished_total', 'counter',
			'Jobs that reached a final state, by entrypoint and status, from the statistics (within pgqueuer.log_retention; a drop is a counter reset).',
			pg_catalog.jsonb_build_object('entrypoint', st.entrypoint, 'status', st.status::text),
			pg_catalog.sum(st.count)::double precision
		FROM pgqueuer.pgqueuer_statistics st
		WHERE st.status OPERATOR(pg_catalog.<>) ALL (ARRAY['queued', 'picked']::pgqueuer.pgqueuer_status[])
		GROUP BY st.entrypoint, st.status),
	retried AS (
		SELECT 'pgqueuer_jobs_retried_total', 'counter',
			'Jobs put back in the queue with a traceback (exception retried, retry requested, lease expired), by entrypoint, from the log (within pgqueuer.log_retention).',
			pg_catalog.jsonb_build_object('entrypoint', l.entrypoint),
			pg_catalog.count(*)::double precision
		FROM pgqueuer.pgqueuer_log l
		WHERE l.traceback IS NOT NULL
		  AND l.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
		GROUP BY l.entrypoint),
	expired AS (
		SELECT 'pgqueuer_lease_expiries_total', 'counter',
			'Leases that expired (the worker stopped heartbeating), by entrypoint, from the log (within pgqueuer.log_retention).',
			pg_catalog.jsonb_build_object('entrypoint', l.entrypoint),
			pg_catalog.count(*)::double precision
		FROM pgqueuer.pgqueuer_log l
		WHERE l.traceback IS NOT NULL
		  AND (l.traceback OPERATOR(pg_catalog.->>) 'exception_type') OPERATOR(pg_catalog.=) 'LeaseExpired'
		GROUP BY l.entrypoint),
	workers AS (
		SELECT 'pgqueuer_workers', 'gauge',
			'Workers (queue_manager_id) holding picked jobs.',
			'{}'::jsonb,
			pg_catalog.count(DISTINCT j.queue_manager_id)::double precision
		FROM pgqueuer.pgqueuer j
		WHERE j.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status)
	SELECT * FROM jobs
	UNION ALL SELECT * FROM oldest
	UNION ALL SELECT * FROM waits
	UNION ALL SELECT * FROM finished
	UNION ALL SELECT * FROM retried
	UNION ALL SELECT * FROM expired
	UNION ALL SELECT * FROM workers
$$;
COMMENT ON FUNCTION pgqueuer.metrics() IS
$$The queue's figures for monitoring, one row per sample: name and type (gauge or counter) and help as in Prometheus's text format, labels as a JSON object of strings, value. pgqueuer_jobs{entrypoint,status}, pgqueuer_oldest_queued_age_seconds{entrypoint}, pgqueuer_jobs_waiting{entrypoint,reason}, pgqueuer_jobs_finished_total{entrypoint,status}, pgqueuer_jobs_retried_total{entrypoint}, pgqueuer_lease_expiries_total{entrypoint}, pgqueuer_workers. Counters come from the statistics and the log, so they count within pgqueuer.log_retention (a drop is a counter reset). `pgq web` serves them at /metrics; postgres_exporter or any SQL client can read them here.$$;

REVOKE ALL ON FUNCTION
	pgqueuer.entrypoint_summary(),
	pgqueuer.list_jobs(text[], pgqueuer.pgqueuer_status[], bigint[], text[], integer),
	pgqueuer.job_detail(bigint, integer),
	pgqueuer.job_history(bigint),
	pgqueuer.workers(),
	pgqueuer.list_schedules(),
	pgqueuer.set_schedule_enabled(bigint, boolean),
	pgqueuer.metrics()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	pgqueuer.entrypoint_summary(),
	pgqueuer.list_jobs(text[], pgqueuer.pgqueuer_status[], bigint[], text[], integer),
	pgqueuer.job_detail(bigint, integer),
	pgqueuer.job_history(bigint),
	pgqueuer.workers(),
	pgqueuer.list_schedules(),
	pgqueuer.set_schedule_enabled(bigint, boolean),
	pgqueuer.metrics()
TO pgqueuer_admin;
GRANT USAGE ON SCHEMA pgqueuer TO pg_monitor;
GRANT EXECUTE ON FUNCTION pgqueuer.metrics() TO pg_monitor;

------------------------------------------------------------------------
-- Values that break everyone; smaller holes (server side)
------------------------------------------------------------------------

-- Job ids stay unique across crashes at durability level volatile: the job
-- id sequence stays LOGGED when the queue table is unlogged (an unlogged
-- sequence starts over after a crash).  set_durability() keeps it so from
-- now on; this repairs an installation made volatile before.  A no-op when
-- the sequence is logged already.
ALTER SEQUENCE pgqueuer.pgqueuer_id_seq SET LOGGED;

-- The functions whose accepted values changed (src/common/bounds.h).
COMMENT ON FUNCTION pgqueuer.enqueue(text, bytea, integer, interval, text, jsonb, text) IS
$$Queue one job; returns its id. entrypoint: handler name (not NULL or empty). payload: opaque bytes. priority: higher runs first. execute_after: delay from now, -36500 to 36500 days (NULL or negative = due now). dedupe_key: at most one queued or picked job per key. headers: a JSON object or NULL. on_conflict: 'raise' (23505 unique_violation on an active duplicate key) or 'skip' (returns NULL). Errors: 22004 for a NULL entrypoint or priority, 22023 for an empty entrypoint, an execute_after out of range, headers that are not an object or an unknown on_conflict. Notifies ch_pgqueuer once when the job is due now.$$;

COMMENT ON FUNCTION pgqueuer.enqueue_batch(text[], bytea[], integer[], interval[], text[], jsonb[], text) IS
$$Queue many jobs in one statement; returns one row per input element, in input order: the new id, or NULL where on_conflict = 'skip' skipped a duplicate dedupe key (the first occurrence in the batch wins). Arrays other than entrypoints may be NULL (defaults: no payload, priority 0, due now, no key, no headers) and must otherwise have the same length as entrypoints (22023); NULL elements are refused in entrypoints, priorities and execute_after (22004). execute_after elements: -36500 to 36500 days; headers elements: JSON objects or NULL (22023 otherwise). Under 'raise' the batch is all-or-nothing (23505). One notification per call.$$;

COMMENT ON FUNCTION pgqueuer.dequeue(integer, text[], uuid, integer) IS
$$Claim up to batch_size due jobs of the given entrypoints (each counted once, however often it is named) for worker queue_manager_id; returns the claimed rows (status picked, heartbeat now) ordered by priority DESC, id ASC. Skips paused entrypoints, and entrypoints whose registry row holds values out of range (written directly; a WARNING says so once per session); honours each registered entrypoint's concurrency_limit and requests_per_second exactly across all concurrent workers, and max_concurrent (this worker's cap on picked jobs, all entrypoints together). First returns expired leases of these entrypoints to the queue (attempts + 1). Errors: 22023 for batch_size < 1 or max_concurrent < 0, 22004 for NULL arguments or elements, 0A000 under REPEATABLE READ or SERIALIZABLE. An empty entrypoints array returns nothing. Logs one picked row per job; notifies nobody.$$;

COMMENT ON FUNCTION pgqueuer.complete(bigint[], pgqueuer.pgqueuer_status[], jsonb[], uuid) IS
$$Record outcomes of picked jobs: successful, exception, canceled and deleted remove the job and log it; failed holds it (status failed). An exception on a registered entrypoint with attempts left (attempts < max_attempts) is retried instead: queued again after min(retry_backoff_base * 2^attempts, retry_backoff_max), attempts + 1; when attempts are exhausted on_failure = 'hold' holds it as failed. Only picked jobs change (a queued or held job is left alone and nothing is logged), and with queue_manager_id only those still picked by that worker (fencing). Returns the ids that changed, in input order; unknown, unpicked or fenced ids are left out. Errors: 22023 for arrays of different lengths, a duplicate id or a non-terminal status; 22004 for NULL elements.$$;

COMMENT ON FUNCTION pgqueuer.retry(bigint, interval, jsonb, uuid) IS
$$Put a picked job back to queued, due after delay (0 to 36500 days), attempts + 1, logging a queued row with the traceback (PgQueuer's RetryRequested). With queue_manager_id only if that worker still holds it. Returns false when no such picked job exists. Errors: 22004 for a NULL job_id or delay, 22023 for a delay out of range.$$;

COMMENT ON FUNCTION pgqueuer.register_entrypoint(text, integer, interval, integer, double precision, interval, interval, text) IS
$$Create or update an entrypoint's registry row (the paused flag is kept). concurrency_limit: most jobs picked at once across all workers (0 = no limit). lease_timeout: heartbeat timeout after which a picked job returns to the queue, 1 second to 365 days (NULL = pgqueuer.lease_timeout). max_attempts: retries of exceptions and lease expiries, 0 to 1000000 (NULL = pgqueuer.max_attempts). requests_per_second: most jobs handed out per second across all workers, 0 (no limit) or 0.000001 to 1000000000 (below 1, one job per 1/rate seconds). retry backoff: base * 2^attempts capped at max, each 0 to 365 days. on_failure: 'delete' or 'hold'. Errors: 22004 for NULL arguments, 22023 for values out of range (the message gives the range).$$;

COMMENT ON FUNCTION pgqueuer.log_statistics(integer, interval) IS
$$Fold new log rows into pgqueuer_statistics (each log row counted once, also under concurrency), then return the per-second buckets created within the last interval (NULL = all), newest first, at most max_rows (NULL = all) (PgQueuer's LogStatistics). Errors: 22023 for a negative max_rows or a last outside 0 to 36500 days.$$;


------------------------------------------------------------------------
-- Schedules in time zones
------------------------------------------------------------------------

-- PgQueuer's rows keep UTC, the zone its scheduler computes in.
ALTER TABLE pgqueuer.pgqueuer_schedules
	ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';
COMMENT ON COLUMN pgqueuer.pgqueuer_schedules.timezone IS
	'Time zone (IANA name) on whose wall clock the cron expression is read; UTC for PgQueuer''s own rows.';

DROP FUNCTION pgqueuer.cron_next(text, timestamptz);
CREATE FUNCTION pgqueuer.cron_next(
	expression text,
	after timestamptz DEFAULT pg_catalog.now(),
	timezone text DEFAULT 'UTC')
RETURNS timestamptz
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_cron_next';
COMMENT ON FUNCTION pgqueuer.cron_next(text, timestamptz, text) IS
$$First instant strictly after "after" matching the cron expression read on the wall clock of timezone (an IANA name such as Europe/Oslo; default UTC): 5 fields (minute hour day-of-month month day-of-week) or 6 with trailing seconds (PgQueuer's dialect), lists, ranges, steps, month and weekday names, @yearly @annually @monthly @weekly @daily @midnight @hourly; a restricted day-of-month and day-of-week match either. Daylight saving: with fixed hours a skipped wall time fires once at the end of the gap and a repeated one once, at its first occurrence; schedules matching every hour follow real time (both passes of a repeated hour, nothing in a skipped one). Errors: 22023 naming the field and position of a mistake, for an unknown time zone, or when nothing matches within 8 years.$$;
REVOKE ALL ON FUNCTION pgqueuer.cron_next(text, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.cron_next(text, timestamptz, text)
TO pgqueuer_producer, pgqueuer_worker, pgqueuer_admin;

DROP FUNCTION pgqueuer.schedule(text, text, bytea, integer);
CREATE FUNCTION pgqueuer.schedule(
	entrypoint text,
	expression text,
	payload bytea DEFAULT NULL,
	priority integer DEFAULT 0,
	timezone text DEFAULT NULL)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_schedule';
COMMENT ON FUNCTION pgqueuer.schedule(text, text, bytea, integer, text) IS
$$Register a cron schedule whose firing enqueues one job for entrypoint (with payload and priority), read on the wall clock of timezone (an IANA name; NULL = the setting pgqueuer.schedule_timezone, default UTC; stored as the tz database spells it). The expression is stored normalised. Re-registering the same (expression, entrypoint) updates payload, priority and time zone and keeps next_run unless the time zone changed. Returns the schedule id. Errors: 22023 for an invalid expression (field and position in the detail), an unknown time zone or an empty entrypoint, 22004 for NULL entrypoint, expression or priority.$$;
REVOKE ALL ON FUNCTION pgqueuer.schedule(text, text, bytea, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.schedule(text, text, bytea, integer, text)
TO pgqueuer_admin;

------------------------------------------------------------------------
-- Migration from an existing PgQueuer installation
------------------------------------------------------------------------

CREATE FUNCTION pgqueuer.migrate(
	source_schema text DEFAULT 'public',
	dry_run boolean DEFAULT true,
	drop_old boolean DEFAULT false,
	requeue_picked boolean DEFAULT false)
RETURNS TABLE (step text, rows bigint)
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_migrate';
COMMENT ON FUNCTION pgqueuer.migrate(text, boolean, boolean, boolean) IS
$$Adopt the PgQueuer installation (0.x or 1.x table layout) in source_schema: in the calling transaction, lock its tables, move every job (queued, deferred, held as failed; picked ones back to queued) with ids, priority, execute_after, attempts, dedupe keys, headers and payload unchanged, the schedules (with last_run; still PgQueuer's, not server-fired), the log and the statistics into the extension's empty tables, compare the counts, and rename the old tables to <name>_migrated (drop_old: drop them, PgQueuer's trigger function and status types). Returns one row per step with its row count. dry_run (the default) only counts. Refuses (55006) while picked jobs belong to running workers (heartbeat within pgqueuer.lease_timeout), naming them, unless requeue_picked. Errors: 22023 for the schema pgqueuer, 3F000 for a missing schema, 42P01 without a queue table, 55000 when the extension's tables are not empty, 22004 for NULL arguments.$$;
REVOKE ALL ON FUNCTION pgqueuer.migrate(text, boolean, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.migrate(text, boolean, boolean, boolean) TO pgqueuer_admin;


------------------------------------------------------------------------
-- A claim that does not read deferred jobs before their time
------------------------------------------------------------------------

-- The claim walked every queued job of an entrypoint in priority order and
-- filtered on execute_after, so a million jobs deferred to tomorrow (or
-- retries waiting for their back-off) were read by every dequeue of today.
-- Jobs due when they were made (execute_after <= created: enqueue without
-- a delay) are claimed through an index of only those; deferred ones
-- through one by entrypoint and execute_after, which yields only those
-- whose time has come.  A job is in exactly one of the two.  PgQueuer's
-- pgqueuer_ep_prio_id_idx keeps its definition (its "pgq upgrade" creates
-- it by that name) for PgQueuer's own clients.
CREATE INDEX pgqueuer_ep_due_idx ON pgqueuer.pgqueuer
	USING btree (entrypoint, priority DESC, id ASC)
	WHERE status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
	  AND execute_after OPERATOR(pg_catalog.<=) created;
COMMENT ON INDEX pgqueuer.pgqueuer_ep_due_idx IS
	'Dequeue order per entrypoint of the jobs due when they were made: priority DESC, id ASC.';
CREATE INDEX pgqueuer_ep_deferred_idx ON pgqueuer.pgqueuer
	USING btree (entrypoint, execute_after)
	WHERE status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
	  AND execute_after OPERATOR(pg_catalog.>) created;
COMMENT ON INDEX pgqueuer.pgqueuer_ep_deferred_idx IS
	'Deferred queued jobs per entrypoint by execute_after: the claim reads those whose time has come.';

-- A concurrency-limited entrypoint's dequeue counts its picked jobs; with
-- no index on them by entrypoint it read every picked job of every
-- entrypoint.  One more index entry per claim.
CREATE INDEX pgqueuer_picked_ep_idx ON pgqueuer.pgqueuer
	USING btree (entrypoint)
	WHERE status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status;
COMMENT ON INDEX pgqueuer.pgqueuer_picked_ep_idx IS
	'Picked jobs per entrypoint: what a concurrency limit counts.';

------------------------------------------------------------------------
-- History without rewrites: the statistics fold by time
------------------------------------------------------------------------

-- The log rows pgqueuer writes carry aggregated = NULL and are counted by
-- time, up to this watermark (statistics.c), never updated; rows written
-- with aggregated = false (PgQueuer's clients) are flipped as before.
-- The library writes aggregated = false while the schema is 1.0; a NULL
-- row from before this update would predate the watermark: hand any such
-- row to the flipping fold.
ALTER TABLE pgqueuer.pgqueuer_settings
	DROP CONSTRAINT pgqueuer_settings_name_check,
	ADD CONSTRAINT pgqueuer_settings_name_check
	CHECK (name OPERATOR(pg_catalog.=) ANY (ARRAY['durability'::text, 'autovac'::text,
		'deferred_notified_until'::text, 'statistics_folded_until'::text]));
UPDATE pgqueuer.pgqueuer_log SET aggregated = false WHERE aggregated IS NULL;
INSERT INTO pgqueuer.pgqueuer_settings (name, value)
VALUES ('statistics_folded_until', EXTRACT(epoch FROM pg_catalog.now())::pg_catalog.text);
COMMENT ON COLUMN pgqueuer.pgqueuer_log.aggregated IS
	$$false: not yet counted in pgqueuer_statistics (PgQueuer's clients write this; the fold sets true). true: counted. NULL: written by pgqueuer's functions, counted by time once created is before the statistics_folded_until watermark in pgqueuer_settings, without being updated.$$;

-- pg_dump keeps neither watermark: a restore starts the time fold at the
-- restore (its CREATE EXTENSION), so restored rows are not counted again.
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_settings',
	$$WHERE name OPERATOR(pg_catalog.<>) ALL (ARRAY['deferred_notified_until'::text, 'statistics_folded_until'::text])$$);


------------------------------------------------------------------------
-- Catalog snapshot: what this script defined, for verify() and repair().
-- Its last statement (recording the snapshot) must stay the last
-- statement of every update script; add new sections above this one.
------------------------------------------------------------------------

-- One row per object the scripts define: each member of the extension
-- (tables, sequences, types, functions) and each part of a member table
-- (columns, constraints, indexes, triggers; relation names their table).
-- definition holds the properties that verify() compares, one key each;
-- create_sql re-creates the object when it is missing and replace_sql
-- restores it when it differs (NULL: not automatically; a table's rows
-- cannot be re-created).
-- Not a configuration table, so pg_dump leaves its rows out and the CREATE
-- EXTENSION of a restore records them anew; pg_upgrade carries them over.
-- A later update script (1.1--1.2) ends the same way, after its changes:
--   DELETE FROM pgqueuer.pgqueuer_catalog;
--   INSERT INTO pgqueuer.pgqueuer_catalog SELECT * FROM pgqueuer.catalog_definitions();
-- (it may first run pgqueuer.repair(), so that drift is not recorded).
CREATE TABLE pgqueuer.pgqueuer_catalog (
	object_type pg_catalog.text NOT NULL,
	identity pg_catalog.text NOT NULL,
	relation pg_catalog.text,
	definition pg_catalog.jsonb NOT NULL,
	create_sql pg_catalog.text[],
	replace_sql pg_catalog.text[],
	PRIMARY KEY (object_type, identity)
);
COMMENT ON TABLE pgqueuer.pgqueuer_catalog IS
	'The definition of every object of the extension as the install and update scripts left it (recorded as their last statement); verify() compares the live catalog with it and repair() restores from it. Written only by the scripts.';

CREATE FUNCTION pgqueuer.catalog_definitions()
RETURNS TABLE (object_type pg_catalog.text, identity pg_catalog.text,
			   relation pg_catalog.text, definition pg_catalog.jsonb,
			   create_sql pg_catalog.text[], replace_sql pg_catalog.text[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH member AS (
	SELECT d.classid, d.objid
	FROM pg_catalog.pg_depend d
	JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
	WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	  AND e.extname OPERATOR(pg_catalog.=) 'pgqueuer'
	  AND d.deptype OPERATOR(pg_catalog.=) 'e'
), rel AS (
	SELECT c.oid, c.relkind, c.relrowsecurity,
		   c.oid::pg_catalog.regclass::pg_catalog.text AS name
	FROM member m JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) m.objid
	WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
), col AS (
	SELECT r.name AS tab, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ,
		   a.attnotnull, a.attidentity,
		   pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS dflt
	FROM rel r
	JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid
	LEFT JOIN pg_catalog.pg_attrdef ad
		ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
	WHERE r.relkind OPERATOR(pg_catalog.=) 'r' AND a.attnum OPERATOR(pg_catalog.>) 0
	  AND NOT a.attisdropped
)
-- tables and sequences: their rows cannot be restored
SELECT CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'r' THEN 'table' WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'sequence' ELSE 'relation' END,
	   r.name, NULL::pg_catalog.text,
	   pg_catalog.jsonb_build_object('kind', CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'r' THEN 'table'
			WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'sequence' ELSE 'relation ' OPERATOR(pg_catalog.||) r.relkind::pg_catalog.text END,
			'row level security', CASE WHEN r.relrowsecurity THEN 'on' ELSE 'off' END,
			'data type', COALESCE((SELECT pg_catalog.format_type(s.seqtypid, NULL)
				FROM pg_catalog.pg_sequence s WHERE s.seqrelid OPERATOR(pg_catalog.=) r.oid), 'none')),
	   NULL::pg_catalog.text[],
	   CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN ARRAY[pg_catalog.format('ALTER SEQUENCE %s AS %s', r.name,
			(SELECT pg_catalog.format_type(s.seqtypid, NULL) FROM pg_catalog.pg_sequence s
			 WHERE s.seqrelid OPERATOR(pg_catalog.=) r.oid))]
			WHEN r.relkind OPERATOR(pg_catalog.=) 'r' THEN ARRAY[pg_catalog.format('ALTER TABLE %s %s ROW LEVEL SECURITY',
			r.name, CASE WHEN r.relrowsecurity THEN 'ENABLE' ELSE 'DISABLE' END)] END
FROM rel r
UNION ALL
-- columns of the tables
SELECT 'column', c.tab OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.attname), c.tab,
	   pg_catalog.jsonb_build_object('type', c.typ,
			'nullability', CASE WHEN c.attnotnull THEN 'NOT NULL' ELSE 'nullable' END,
			'default', COALESCE(c.dflt, 'none'),
			'identity', CASE WHEN c.attidentity OPERATOR(pg_catalog.=) 'a' THEN 'ALWAYS' WHEN c.attidentity OPERATOR(pg_catalog.=) 'd' THEN 'BY DEFAULT' ELSE 'none' END),
	   ARRAY[pg_catalog.format('ALTER TABLE %s ADD COLUMN %I %s%s%s%s', c.tab, c.attname, c.typ,
			CASE WHEN c.attidentity OPERATOR(pg_catalog.=) 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
				 WHEN c.attidentity OPERATOR(pg_catalog.=) 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END,
			COALESCE(' DEFAULT ' OPERATOR(pg_catalog.||) c.dflt, ''),
			CASE WHEN c.attnotnull THEN ' NOT NULL' ELSE '' END)],
	   ARRAY[pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s USING %I::%s, ALTER COLUMN %I %s NOT NULL%s',
			c.tab, c.attname, c.typ, c.attname, c.typ, c.attname,
			CASE WHEN c.attnotnull THEN 'SET' ELSE 'DROP' END,
			CASE WHEN c.attidentity OPERATOR(pg_catalog.<>) '' THEN ''
				 WHEN c.dflt IS NULL THEN pg_catalog.format(', ALTER COLUMN %I DROP DEFAULT', c.attname)
				 ELSE pg_catalog.format(', ALTER COLUMN %I SET DEFAULT %s', c.attname, c.dflt) END)]
FROM col c
UNION ALL
-- constraints of the tables (primary keys, unique, check, foreign keys)
SELECT 'constraint', pg_catalog.format('%I on %s', co.conname, r.name), r.name,
	   pg_catalog.jsonb_build_object('definition', pg_catalog.pg_get_constraintdef(co.oid)),
	   ARRAY[pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.name, co.conname,
			pg_catalog.pg_get_constraintdef(co.oid))],
	   ARRAY[pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s', r.name,
			co.conname, co.conname, pg_catalog.pg_get_constraintdef(co.oid))]
FROM rel r
JOIN pg_catalog.pg_constraint co ON co.conrelid OPERATOR(pg_catalog.=) r.oid
WHERE co.contype OPERATOR(pg_catalog.=) ANY (ARRAY['p', 'u', 'c', 'f', 'x']::pg_catalog."char"[])
UNION ALL
-- indexes of the tables, except those of a constraint
SELECT 'index', i.indexrelid::pg_catalog.regclass::pg_catalog.text, r.name,
	   pg_catalog.jsonb_build_object('definition', pg_catalog.pg_get_indexdef(i.indexrelid),
			'validity', CASE WHEN i.indisvalid THEN 'valid' ELSE 'not valid' END),
	   ARRAY[pg_catalog.pg_get_indexdef(i.indexrelid)],
	   ARRAY[pg_catalog.format('DROP INDEX %s', i.indexrelid::pg_catalog.regclass),
			 pg_catalog.pg_get_indexdef(i.indexrelid)]
FROM rel r
JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) r.oid
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_constraint co
				  WHERE co.conindid OPERATOR(pg_catalog.=) i.indexrelid
					AND co.conrelid OPERATOR(pg_catalog.=) r.oid)
UNION ALL
-- triggers of the tables
SELECT 'trigger', pg_catalog.format('%I on %s', t.tgname, r.name), r.name,
	   pg_catalog.jsonb_build_object('definition', pg_catalog.pg_get_triggerdef(t.oid),
			'state', CASE WHEN t.tgenabled OPERATOR(pg_catalog.=) 'O' THEN 'enabled' WHEN t.tgenabled OPERATOR(pg_catalog.=) 'D' THEN 'disabled'
				WHEN t.tgenabled OPERATOR(pg_catalog.=) 'R' THEN 'enabled in replica sessions only' ELSE 'enabled always' END),
	   ARRAY[pg_catalog.pg_get_triggerdef(t.oid)],
	   ARRAY[pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, r.name),
			 pg_catalog.pg_get_triggerdef(t.oid)]
FROM rel r
JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) r.oid
WHERE NOT t.tgisinternal
UNION ALL
-- functions: CREATE OR REPLACE restores language, body, settings and
-- security; a missing one is also given back to the extension, with its
-- grants and comment
SELECT 'function', p.oid::pg_catalog.regprocedure::pg_catalog.text, NULL,
	   pg_catalog.jsonb_build_object('language', l.lanname,
			'security', CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' ELSE 'SECURITY INVOKER' END,
			'settings', COALESCE(pg_catalog.array_to_string(p.proconfig, ', '), 'none'),
			'volatility', CASE WHEN p.provolatile OPERATOR(pg_catalog.=) 'i' THEN 'IMMUTABLE' WHEN p.provolatile OPERATOR(pg_catalog.=) 's' THEN 'STABLE' ELSE 'VOLATILE' END,
			'parallel safety', CASE WHEN p.proparallel OPERATOR(pg_catalog.=) 's' THEN 'SAFE' WHEN p.proparallel OPERATOR(pg_catalog.=) 'r' THEN 'RESTRICTED' ELSE 'UNSAFE' END,
			'strictness', CASE WHEN p.proisstrict THEN 'STRICT' ELSE 'CALLED ON NULL INPUT' END,
			'result', pg_catalog.pg_get_function_result(p.oid),
			'body', CASE WHEN l.lanname OPERATOR(pg_catalog.=) 'c'
				THEN pg_catalog.format('%s, symbol %s', p.probin, p.prosrc)
				ELSE 'md5 ' OPERATOR(pg_catalog.||) pg_catalog.md5(p.prosrc) END),
	   ARRAY[pg_catalog.pg_get_functiondef(p.oid),
			 pg_catalog.format('ALTER EXTENSION pgqueuer ADD FUNCTION %s', p.oid::pg_catalog.regprocedure),
			 pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', p.oid::pg_catalog.regprocedure)]
		 OPERATOR(pg_catalog.||) ARRAY(
			SELECT pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', p.oid::pg_catalog.regprocedure,
				   CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
						ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)::pg_catalog.text) END)
			FROM pg_catalog.aclexplode(p.proacl) g
			WHERE g.grantee OPERATOR(pg_catalog.<>) p.proowner
			ORDER BY 1)
		 OPERATOR(pg_catalog.||) ARRAY(
			SELECT pg_catalog.format('COMMENT ON FUNCTION %s IS %L', p.oid::pg_catalog.regprocedure, ds.description)
			FROM pg_catalog.pg_description ds
			WHERE ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
			  AND ds.objoid OPERATOR(pg_catalog.=) p.oid AND ds.objsubid OPERATOR(pg_catalog.=) 0),
	   ARRAY[pg_catalog.pg_get_functiondef(p.oid)]
FROM member m
JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) m.objid
JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
UNION ALL
-- types: an enum's labels in order (labels cannot be removed or moved)
SELECT 'type', ty.oid::pg_catalog.regtype::pg_catalog.text, NULL,
	   pg_catalog.jsonb_build_object('kind', ty.typtype::pg_catalog.text,
			'labels', COALESCE((SELECT pg_catalog.string_agg(en.enumlabel::pg_catalog.text, ', ' ORDER BY en.enumsortorder)
				FROM pg_catalog.pg_enum en WHERE en.enumtypid OPERATOR(pg_catalog.=) ty.oid), 'none')),
	   NULL, NULL
FROM member m
JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) m.objid
WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
  -- a table's row type and array types come with their table or element;
  -- PostgreSQL 18 records them as members too, 15 does not
  AND ty.typrelid OPERATOR(pg_catalog.=) 0
  AND ty.typelem OPERATOR(pg_catalog.=) 0
$$;
COMMENT ON FUNCTION pgqueuer.catalog_definitions() IS
$$The live definition of every object of the extension, in the shape of pgqueuer_catalog: members (tables, sequences, types, functions) found through pg_depend, and the columns, constraints, indexes and triggers of its tables (relation: their table). definition: one key per compared property (an index's pg_get_indexdef and validity, a function's language, security, settings, volatility, body...); create_sql and replace_sql: the statements that re-create or restore the object as it is now.$$;

CREATE FUNCTION pgqueuer.catalog_drift()
RETURNS TABLE (object_type pg_catalog.text, identity pg_catalog.text,
			   problem pg_catalog.text, repair pg_catalog.text[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH live AS (
	SELECT * FROM pgqueuer.catalog_definitions()
), kind(object_type, rank) AS (
	VALUES ('table', 1), ('sequence', 2), ('type', 3), ('column', 4), ('constraint', 5),
		   ('index', 6), ('function', 7), ('trigger', 8)
), drift AS (
	-- missing
	SELECT s.object_type, s.identity, ''::pg_catalog.text AS prop,
		   pg_catalog.format('missing %s %s', s.object_type, s.identity) AS problem,
		   s.create_sql AS repair
	FROM pgqueuer.pgqueuer_catalog s
	WHERE NOT EXISTS (SELECT FROM live l WHERE l.object_type OPERATOR(pg_catalog.=) s.object_type
					  AND l.identity OPERATOR(pg_catalog.=) s.identity)
	  -- the parts of a missing table are not reported one by one
	  AND NOT (s.relation IS NOT NULL
			   AND NOT EXISTS (SELECT FROM live l WHERE l.object_type OPERATOR(pg_catalog.=) 'table'
							   AND l.identity OPERATOR(pg_catalog.=) s.relation))
	UNION ALL
	-- changed, one line per property
	SELECT s.object_type, s.identity, e.key,
		   pg_catalog.format('%s %s has %s %s, expected %s', s.object_type, s.identity, e.key,
							 COALESCE(l.definition OPERATOR(pg_catalog.->>) e.key, 'none'), e.value),
		   s.replace_sql
	FROM pgqueuer.pgqueuer_catalog s
	JOIN live l ON l.object_type OPERATOR(pg_catalog.=) s.object_type
			   AND l.identity OPERATOR(pg_catalog.=) s.identity
	CROSS JOIN LATERAL pg_catalog.jsonb_each_text(s.definition) AS e(key, value)
	WHERE NOT COALESCE((l.definition OPERATOR(pg_catalog.->>) e.key) OPERATOR(pg_catalog.=) e.value, false)
	UNION ALL
	-- added behind the extension's back; repair() leaves these alone
	SELECT l.object_type, l.identity, '',
		   pg_catalog.format('%s %s is not defined by the extension', l.object_type, l.identity),
		   ARRAY[]::pg_catalog.text[]
	FROM live l
	WHERE NOT EXISTS (SELECT FROM pgqueuer.pgqueuer_catalog s
					  WHERE s.object_type OPERATOR(pg_catalog.=) l.object_type
						AND s.identity OPERATOR(pg_catalog.=) l.identity)
)
SELECT d.object_type, d.identity, d.problem, d.repair
FROM drift d LEFT JOIN kind k ON k.object_type OPERATOR(pg_catalog.=) d.object_type
ORDER BY k.rank, d.identity, d.prop
$$;
COMMENT ON FUNCTION pgqueuer.catalog_drift() IS
$$Objects of the extension whose live definition differs from pgqueuer_catalog (what the install and update scripts created): one row per problem, in repair order (tables, sequences, types, columns, constraints, indexes, functions, triggers). problem: "missing <type> <identity>", "<type> <identity> has <property> <live value>, expected <value>", or "<type> <identity> is not defined by the extension"; repair: the statements that restore the object (NULL: cannot be restored automatically; empty: left alone). verify() prints the problems; repair() runs the statements.$$;

CREATE FUNCTION pgqueuer.repair(dry_run pg_catalog.bool DEFAULT false)
RETURNS SETOF pg_catalog.text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d record;
	stmt pg_catalog.text;
	msg pg_catalog.text;
	state pg_catalog.text;
	done pg_catalog.text[] := ARRAY[]::pg_catalog.text[];
BEGIN
	IF dry_run IS NULL THEN
		RAISE EXCEPTION 'argument "dry_run" must not be NULL'
			USING ERRCODE = '22004';
	END IF;
	-- one row per changed property: restore each object once, in order
	FOR d IN SELECT x.object_type, x.identity, x.repair FROM pgqueuer.catalog_drift() x
	LOOP
		CONTINUE WHEN (d.object_type OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) d.identity)
			OPERATOR(pg_catalog.=) ANY (done);
		done := done OPERATOR(pg_catalog.||) (d.object_type OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) d.identity);
		IF d.repair IS NULL THEN
			RETURN NEXT pg_catalog.format('-- %s %s cannot be restored automatically: restore it from a backup, or recreate the extension (which loses its rows)',
										  d.object_type, d.identity);
			CONTINUE;
		END IF;
		IF pg_catalog.cardinality(d.repair) OPERATOR(pg_catalog.=) 0 THEN
			RETURN NEXT pg_catalog.format('-- %s %s is not defined by the extension: left alone',
										  d.object_type, d.identity);
			CONTINUE;
		END IF;
		IF NOT dry_run THEN
			-- an object that cannot be restored (a NOT NULL column added
			-- back to a table with rows) is left as it was; the rest go on
			BEGIN
				FOREACH stmt IN ARRAY d.repair LOOP
					EXECUTE stmt;
				END LOOP;
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
				RETURN NEXT pg_catalog.format('-- %s %s could not be restored (SQLSTATE %s): %s',
											  d.object_type, d.identity, state, msg);
				CONTINUE;
			END;
		END IF;
		RETURN QUERY SELECT pg_catalog.unnest(d.repair);
	END LOOP;
END
$$;
COMMENT ON FUNCTION pgqueuer.repair(boolean) IS
$$Restore every object of the extension that differs from what the install and update scripts created (see verify() and catalog_drift()): re-creates missing columns, constraints, indexes, triggers and functions from their recorded definitions, drops and re-creates changed indexes, constraints and triggers, and CREATE OR REPLACEs changed functions (language, body, settings, security). Returns the statements it ran, in order, and a comment line for each object it cannot restore (a missing table, changed enum labels) or leaves alone (one the extension does not define); dry_run returns them without running anything. An object whose statements fail (a NOT NULL column added back to a table with rows) is left as it was, in a comment line with the SQLSTATE and the error, and the others are still restored. Errors: 22004 for NULL.$$;

REVOKE ALL ON FUNCTION pgqueuer.catalog_definitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgqueuer.catalog_drift() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgqueuer.repair(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.repair(boolean) TO pgqueuer_admin;
REVOKE ALL ON pgqueuer.pgqueuer_catalog FROM PUBLIC;

-- The snapshot: keep this the last statement of every update script.
INSERT INTO pgqueuer.pgqueuer_catalog
SELECT * FROM pgqueuer.catalog_definitions();
