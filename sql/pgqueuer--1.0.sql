/*
 * pgqueuer--1.0.sql
 *		Install script of the pgqueuer extension, version 1.0.
 *
 * The four tables, the status enum, the indexes and the notify trigger keep
 * PgQueuer's names, columns, types and defaults, so an unmodified PgQueuer
 * client whose schema is set to "pgqueuer" keeps working.  Everything else
 * (the entrypoint registry, the settings table, the rate-limit ledger and the
 * SQL job API) is ours.
 *
 * Hardening (PostgreSQL's guidance for extension scripts): every object and
 * operator is schema-qualified, nothing is created with CREATE OR REPLACE or
 * IF NOT EXISTS, functions are SECURITY DEFINER with a fixed search_path, and
 * EXECUTE is revoked from PUBLIC and granted to three NOLOGIN roles.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgqueuer" to load this file. \quit

-- Refuse a schema somebody else prepared for us.  CREATE EXTENSION creates
-- schema "pgqueuer" itself when it is missing (owned by the installing
-- superuser, empty, no grants); a schema that existed before (made by hand,
-- or by the CREATE SCHEMA of a dump being restored) is accepted only when it
-- is just as harmless: empty, owned by a superuser, and granting CREATE to
-- no other role.  Anything else could hold an operator, function or type
-- planted to be picked by the extension's SQL.  Everything here is
-- schema-qualified: while this script runs, "pgqueuer" is on search_path.
DO $$
DECLARE
	nsp pg_catalog.oid;
	ext pg_catalog.oid;
	problem pg_catalog.text;
BEGIN
	SELECT n.oid INTO nsp FROM pg_catalog.pg_namespace n
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'pgqueuer';
	SELECT e.oid INTO ext FROM pg_catalog.pg_extension e
	 WHERE e.extname OPERATOR(pg_catalog.=) 'pgqueuer';

	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
				   JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
				   WHERE n.oid OPERATOR(pg_catalog.=) nsp AND r.rolsuper) THEN
		problem := 'It is owned by a role that is not a superuser.';
	ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				  WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
					AND d.refobjid OPERATOR(pg_catalog.=) nsp
					AND (pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid)).schema
						OPERATOR(pg_catalog.=) 'pgqueuer'
					AND NOT (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
							 AND d.objid OPERATOR(pg_catalog.=) ext))
		  OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp)
		  OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp)
		  OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp)
		  OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp) THEN
		problem := 'It already contains objects.';
	ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
				  CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a
				  WHERE n.oid OPERATOR(pg_catalog.=) nsp
					AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
					AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner) THEN
		problem := 'It grants CREATE to a role other than its owner.';
	END IF;

	IF problem IS NOT NULL THEN
		RAISE EXCEPTION 'schema "pgqueuer" already exists and cannot be trusted'
			USING ERRCODE = '42501',
				  DETAIL = problem,
				  HINT = 'An existing schema "pgqueuer" is accepted only when it is empty, owned by a superuser and grants CREATE to no other role. Drop it (CREATE EXTENSION then creates it), or make it so, then run CREATE EXTENSION again.';
	END IF;
END
$$;

-- Roles for least privilege; cluster-wide, so created only when missing and
-- never dropped by the extension.  A role that already exists is adopted
-- with a WARNING naming whoever gets the queue through it: its members, and
-- the role itself if it can log in or has other attributes (someone may
-- have created it in advance to be granted the queue).  A WARNING, not a
-- NOTICE: CREATE EXTENSION runs its script with client_min_messages at
-- least WARNING, so a NOTICE would never be seen.
DO $$
DECLARE
	r pg_catalog.text;
	members pg_catalog.text;
	attributes pg_catalog.text;
BEGIN
	FOREACH r IN ARRAY ARRAY['pgqueuer_producer', 'pgqueuer_worker', 'pgqueuer_admin'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
		ELSE
			SELECT pg_catalog.string_agg(pg_catalog.quote_ident(m.rolname::pg_catalog.text), ', ' ORDER BY m.rolname)
			  INTO members
			  FROM pg_catalog.pg_auth_members a
			  JOIN pg_catalog.pg_roles m ON m.oid OPERATOR(pg_catalog.=) a.member
			  JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) a.roleid
			 WHERE g.rolname OPERATOR(pg_catalog.=) r;
			SELECT pg_catalog.concat_ws(' ',
					CASE WHEN rolsuper THEN 'SUPERUSER' END, CASE WHEN rolcanlogin THEN 'LOGIN' END,
					CASE WHEN rolcreaterole THEN 'CREATEROLE' END, CASE WHEN rolcreatedb THEN 'CREATEDB' END,
					CASE WHEN rolreplication THEN 'REPLICATION' END, CASE WHEN rolbypassrls THEN 'BYPASSRLS' END)
			  INTO attributes
			  FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r;
			IF members IS NOT NULL OR attributes OPERATOR(pg_catalog.<>) '' THEN
				RAISE WARNING 'existing role "%" is adopted: its members and its login get pgqueuer''s privileges', r
					USING DETAIL = pg_catalog.format('Members: %s. Attributes: %s.',
													 COALESCE(members, 'none'),
													 CASE WHEN attributes OPERATOR(pg_catalog.=) '' THEN 'none' ELSE attributes END),
						  HINT = pg_catalog.format('REVOKE %I FROM any member that should not use the queue, and ALTER ROLE %I NOLOGIN unless it should log in.', r, r);
			END IF;
		END IF;
	END LOOP;
END
$$;

------------------------------------------------------------------------
-- PgQueuer's objects
------------------------------------------------------------------------

CREATE TYPE pgqueuer.pgqueuer_status AS ENUM (
	'queued', 'picked', 'successful', 'exception', 'canceled', 'deleted', 'failed'
);
COMMENT ON TYPE pgqueuer.pgqueuer_status IS
	'Job state (PgQueuer''s labels and order): queued and picked are active, failed is held, the others appear only in the log and statistics.';

CREATE TABLE pgqueuer.pgqueuer (
	id bigserial PRIMARY KEY,
	priority integer NOT NULL,
	queue_manager_id uuid,
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated timestamptz NOT NULL DEFAULT pg_catalog.now(),
	heartbeat timestamptz NOT NULL DEFAULT pg_catalog.now(),
	execute_after timestamptz NOT NULL DEFAULT pg_catalog.now(),
	status pgqueuer.pgqueuer_status NOT NULL,
	entrypoint text NOT NULL,
	dedupe_key text,
	payload bytea,
	headers jsonb,
	attempts integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE pgqueuer.pgqueuer IS
	'Active jobs (queued, picked) and held failures; PgQueuer''s queue table.';

CREATE INDEX pgqueuer_priority_id_id1_idx ON pgqueuer.pgqueuer
	USING btree (priority ASC, id DESC) INCLUDE (id)
	WHERE status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status;
CREATE INDEX pgqueuer_updated_id_id1_idx ON pgqueuer.pgqueuer
	USING btree (updated ASC, id DESC) INCLUDE (id)
	WHERE status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status;
CREATE INDEX pgqueuer_heartbeat_id_id1_idx ON pgqueuer.pgqueuer
	USING btree (heartbeat ASC, id DESC) INCLUDE (id)
	WHERE status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status;
CREATE INDEX pgqueuer_queue_manager_id_idx ON pgqueuer.pgqueuer
	USING btree (queue_manager_id)
	WHERE queue_manager_id IS NOT NULL;
CREATE INDEX pgqueuer_ep_prio_id_idx ON pgqueuer.pgqueuer
	USING btree (entrypoint, priority DESC, id ASC)
	WHERE status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status;
CREATE INDEX pgqueuer_deferred_idx ON pgqueuer.pgqueuer
	USING btree (execute_after)
	WHERE status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status
	  AND execute_after OPERATOR(pg_catalog.>) created;
COMMENT ON INDEX pgqueuer.pgqueuer_ep_prio_id_idx IS
	'Dequeue order per entrypoint: due queued jobs by priority DESC, id ASC.';
COMMENT ON INDEX pgqueuer.pgqueuer_deferred_idx IS
	'Deferred queued jobs (execute_after later than created) for the background worker''s wake-ups; jobs due at once stay out of it.';
CREATE UNIQUE INDEX pgqueuer_unique_dedupe_key ON pgqueuer.pgqueuer
	USING btree (dedupe_key)
	WHERE ((status OPERATOR(pg_catalog.=) ANY (ARRAY['queued'::pgqueuer.pgqueuer_status, 'picked'::pgqueuer.pgqueuer_status]))
		   AND dedupe_key IS NOT NULL);

CREATE TABLE pgqueuer.pgqueuer_log (
	id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	job_id bigint NOT NULL,
	status pgqueuer.pgqueuer_status NOT NULL,
	priority integer NOT NULL,
	entrypoint text NOT NULL,
	traceback jsonb DEFAULT NULL,
	aggregated boolean DEFAULT false
);
COMMENT ON TABLE pgqueuer.pgqueuer_log IS
	'One row per job state transition (queued, picked, terminal), with the traceback JSON; PgQueuer''s log table.';

CREATE INDEX pgqueuer_log_not_aggregated ON pgqueuer.pgqueuer_log
	USING btree ((1)) WHERE (NOT aggregated);
CREATE INDEX pgqueuer_log_created ON pgqueuer.pgqueuer_log USING btree (created);
CREATE INDEX pgqueuer_log_status ON pgqueuer.pgqueuer_log USING btree (status);
CREATE INDEX pgqueuer_log_job_id_status ON pgqueuer.pgqueuer_log
	USING btree (job_id, created DESC);

CREATE TABLE pgqueuer.pgqueuer_statistics (
	id bigserial PRIMARY KEY,
	created timestamptz NOT NULL DEFAULT pg_catalog.date_trunc('sec'::text, pg_catalog.now()),
	count bigint NOT NULL,
	priority integer NOT NULL,
	status pgqueuer.pgqueuer_status NOT NULL,
	entrypoint text NOT NULL
);
COMMENT ON TABLE pgqueuer.pgqueuer_statistics IS
	'Per-second counts of log rows by entrypoint, priority and status; PgQueuer''s statistics table.';

CREATE UNIQUE INDEX pgqueuer_statistics_unique_count ON pgqueuer.pgqueuer_statistics
	USING btree (priority,
				 pg_catalog.date_trunc('sec'::text, pg_catalog.timezone('UTC'::text, created)),
				 status, entrypoint);

CREATE TABLE pgqueuer.pgqueuer_schedules (
	id bigserial PRIMARY KEY,
	expression text NOT NULL,
	entrypoint text NOT NULL,
	heartbeat timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated timestamptz NOT NULL DEFAULT pg_catalog.now(),
	next_run timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_run timestamptz,
	status pgqueuer.pgqueuer_status DEFAULT 'queued'::pgqueuer.pgqueuer_status,
	-- ours, with defaults, so that PgQueuer's inserts keep working
	payload bytea DEFAULT NULL,
	priority integer NOT NULL DEFAULT 0,
	server_fired boolean NOT NULL DEFAULT false,
	UNIQUE (expression, entrypoint)
);
COMMENT ON TABLE pgqueuer.pgqueuer_schedules IS
	'Cron schedules; PgQueuer''s table plus payload, priority and server_fired (true = the server enqueues a job when due).';

CREATE FUNCTION pgqueuer.fn_pgqueuer_changed() RETURNS trigger
	LANGUAGE c AS 'MODULE_PATHNAME', 'pgqueuer_fn_changed';
COMMENT ON FUNCTION pgqueuer.fn_pgqueuer_changed() IS
	'Statement-level trigger: NOTIFY ch_pgqueuer with PgQueuer''s table_changed_event for INSERT, DELETE and TRUNCATE done outside pgqueuer''s functions; skipped when the notification queue is over half full.';

CREATE TRIGGER tg_pgqueuer_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgqueuer.pgqueuer
	FOR EACH STATEMENT EXECUTE FUNCTION pgqueuer.fn_pgqueuer_changed();

------------------------------------------------------------------------
-- Server-side objects
------------------------------------------------------------------------

CREATE TABLE pgqueuer.pgqueuer_entrypoints (
	entrypoint text PRIMARY KEY CHECK (entrypoint OPERATOR(pg_catalog.<>) ''),
	concurrency_limit integer NOT NULL DEFAULT 0 CHECK (concurrency_limit OPERATOR(pg_catalog.>=) 0),
	requests_per_second double precision NOT NULL DEFAULT 0
		CHECK (requests_per_second OPERATOR(pg_catalog.>=) 0),
	lease_timeout interval DEFAULT NULL
		CHECK (lease_timeout OPERATOR(pg_catalog.>) '0'::interval),
	max_attempts integer DEFAULT NULL CHECK (max_attempts OPERATOR(pg_catalog.>=) 0),
	retry_backoff_base interval NOT NULL DEFAULT '1 second'
		CHECK (retry_backoff_base OPERATOR(pg_catalog.>=) '0'::interval),
	retry_backoff_max interval NOT NULL DEFAULT '5 minutes'
		CHECK (retry_backoff_max OPERATOR(pg_catalog.>=) '0'::interval),
	on_failure text NOT NULL DEFAULT 'delete'
		CHECK (on_failure OPERATOR(pg_catalog.=) ANY (ARRAY['delete'::text, 'hold'::text])),
	paused boolean NOT NULL DEFAULT false,
	registered boolean NOT NULL DEFAULT true,
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgqueuer.pgqueuer_entrypoints IS
	'Entrypoint registry enforced by the server for every worker: concurrency limit, rate limit, lease (NULL = pgqueuer.lease_timeout), attempts (NULL = pgqueuer.max_attempts), backoff, failure policy, paused flag. registered = false marks a row created only by pause(); such entrypoints, like unregistered ones, keep PgQueuer''s semantics (an exception is terminal).';

CREATE TABLE pgqueuer.pgqueuer_rate_grants (
	entrypoint text NOT NULL,
	granted_at timestamptz NOT NULL,
	jobs integer NOT NULL CHECK (jobs OPERATOR(pg_catalog.>) 0)
);
CREATE INDEX pgqueuer_rate_grants_ep_at_idx ON pgqueuer.pgqueuer_rate_grants
	USING btree (entrypoint, granted_at);
COMMENT ON TABLE pgqueuer.pgqueuer_rate_grants IS
	'Ledger of recent dequeue grants of rate-limited entrypoints (the sliding window behind requests_per_second); rows older than the window are pruned.';

CREATE TABLE pgqueuer.pgqueuer_settings (
	name text PRIMARY KEY
		CHECK (name OPERATOR(pg_catalog.=) ANY (ARRAY['durability'::text, 'autovac'::text, 'deferred_notified_until'::text])),
	value text NOT NULL,
	updated timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE pgqueuer.pgqueuer_settings IS
	'Persisted choices (durability level, autovacuum tuning) re-applied after dump/restore, plus the deferred wake-up watermark. No row = the default.';

CREATE FUNCTION pgqueuer.settings_apply() RETURNS trigger
	LANGUAGE c AS 'MODULE_PATHNAME', 'pgqueuer_settings_apply';
COMMENT ON FUNCTION pgqueuer.settings_apply() IS
	'Row trigger on pgqueuer_settings: applies a stored durability level or autovacuum choice to the tables (this is how pg_restore brings them back).';

CREATE TRIGGER settings_apply
	AFTER INSERT OR UPDATE ON pgqueuer.pgqueuer_settings
	FOR EACH ROW EXECUTE FUNCTION pgqueuer.settings_apply();

-- pg_dump keeps the jobs, the history, the schedules and the settings.
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_statistics', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_statistics_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_schedules', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_schedules_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_entrypoints', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_settings', '');

------------------------------------------------------------------------
-- The SQL job API (C)
------------------------------------------------------------------------

CREATE FUNCTION pgqueuer.enqueue(
	entrypoint text,
	payload bytea DEFAULT NULL,
	priority integer DEFAULT 0,
	execute_after interval DEFAULT '0',
	dedupe_key text DEFAULT NULL,
	headers jsonb DEFAULT NULL,
	on_conflict text DEFAULT 'raise')
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_enqueue';
COMMENT ON FUNCTION pgqueuer.enqueue(text, bytea, integer, interval, text, jsonb, text) IS
$$Queue one job; returns its id. entrypoint: handler name (not NULL or empty). payload: opaque bytes. priority: higher runs first. execute_after: delay from now (NULL or negative = due now). dedupe_key: at most one queued or picked job per key. headers: JSON object. on_conflict: 'raise' (23505 unique_violation on an active duplicate key) or 'skip' (returns NULL). Errors: 22004 for a NULL entrypoint or priority, 22023 for an empty entrypoint or unknown on_conflict. Notifies ch_pgqueuer once when the job is due now.$$;

CREATE FUNCTION pgqueuer.enqueue_batch(
	entrypoints text[],
	payloads bytea[] DEFAULT NULL,
	priorities integer[] DEFAULT NULL,
	execute_after interval[] DEFAULT NULL,
	dedupe_keys text[] DEFAULT NULL,
	headers jsonb[] DEFAULT NULL,
	on_conflict text DEFAULT 'raise')
RETURNS SETOF bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_enqueue_batch';
COMMENT ON FUNCTION pgqueuer.enqueue_batch(text[], bytea[], integer[], interval[], text[], jsonb[], text) IS
$$Queue many jobs in one statement; returns one row per input element, in input order: the new id, or NULL where on_conflict = 'skip' skipped a duplicate dedupe key (the first occurrence in the batch wins). Arrays other than entrypoints may be NULL (defaults: no payload, priority 0, due now, no key, no headers) and must otherwise have the same length as entrypoints (22023); NULL elements are refused in entrypoints, priorities and execute_after (22004). Under 'raise' the batch is all-or-nothing (23505). One notification per call.$$;

CREATE FUNCTION pgqueuer.dequeue(
	batch_size integer,
	entrypoints text[],
	queue_manager_id uuid,
	max_concurrent integer DEFAULT NULL)
RETURNS SETOF pgqueuer.pgqueuer
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_dequeue';
COMMENT ON FUNCTION pgqueuer.dequeue(integer, text[], uuid, integer) IS
$$Claim up to batch_size due jobs of the given entrypoints for worker queue_manager_id; returns the claimed rows (status picked, heartbeat now) ordered by priority DESC, id ASC. Skips paused entrypoints; honours each registered entrypoint's concurrency_limit and requests_per_second exactly across all concurrent workers, and max_concurrent (this worker's cap on picked jobs, all entrypoints together). First returns expired leases of these entrypoints to the queue (attempts + 1). Errors: 22023 for batch_size < 1 or max_concurrent < 0, 22004 for NULL arguments or elements, 0A000 under REPEATABLE READ or SERIALIZABLE. An empty entrypoints array returns nothing. Logs one picked row per job; notifies nobody.$$;

CREATE FUNCTION pgqueuer.complete(
	job_ids bigint[],
	statuses pgqueuer.pgqueuer_status[],
	tracebacks jsonb[] DEFAULT NULL,
	queue_manager_id uuid DEFAULT NULL)
RETURNS SETOF bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_complete';
COMMENT ON FUNCTION pgqueuer.complete(bigint[], pgqueuer.pgqueuer_status[], jsonb[], uuid) IS
$$Record job outcomes: successful, exception, canceled and deleted remove the job and log it; failed holds it (status failed). An exception on a registered entrypoint with attempts left (attempts < max_attempts) is retried instead: queued again after min(retry_backoff_base * 2^attempts, retry_backoff_max), attempts + 1; when attempts are exhausted on_failure = 'hold' holds it as failed. With queue_manager_id only jobs still picked by that worker change (fencing). Returns the ids that changed, in input order; unknown or fenced ids are left out. Errors: 22023 for arrays of different lengths, a duplicate id or a non-terminal status; 22004 for NULL elements.$$;

CREATE FUNCTION pgqueuer.retry(
	job_id bigint,
	delay interval DEFAULT '0',
	traceback jsonb DEFAULT NULL,
	queue_manager_id uuid DEFAULT NULL)
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_retry';
COMMENT ON FUNCTION pgqueuer.retry(bigint, interval, jsonb, uuid) IS
$$Put a picked job back to queued, due after delay, attempts + 1, logging a queued row with the traceback (PgQueuer's RetryRequested). With queue_manager_id only if that worker still holds it. Returns false when no such picked job exists. Errors: 22004 for a NULL job_id or delay, 22023 for a negative delay.$$;

CREATE FUNCTION pgqueuer.heartbeat(
	job_ids bigint[],
	queue_manager_id uuid DEFAULT NULL)
RETURNS integer
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_heartbeat';
COMMENT ON FUNCTION pgqueuer.heartbeat(bigint[], uuid) IS
$$Extend the leases of picked jobs (heartbeat = now()); with queue_manager_id only the jobs that worker still holds. Returns how many jobs were extended. Errors: 22004 for NULL arguments or elements. Notifies nobody.$$;

CREATE FUNCTION pgqueuer.requeue(job_ids bigint[])
RETURNS SETOF bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_requeue';
COMMENT ON FUNCTION pgqueuer.requeue(bigint[]) IS
$$Return held (failed) jobs to the queue: queued, due now, attempts 0. Jobs in other states are left alone; a job whose dedupe_key is now used by an active job is skipped with a NOTICE. Returns the ids requeued. Errors: 22004 for NULL arguments or elements.$$;

CREATE FUNCTION pgqueuer.cancel(job_ids bigint[])
RETURNS SETOF bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_cancel';
COMMENT ON FUNCTION pgqueuer.cancel(bigint[]) IS
$$Cancel jobs: queued, picked and held jobs are removed and logged canceled; the workers running picked ones are told by a cancellation_event on ch_pgqueuer (keys ids and queue_manager_id, split into payloads under 8000 bytes). Returns the ids canceled; unknown ids are left out. Errors: 22004 for NULL arguments or elements.$$;

CREATE FUNCTION pgqueuer.register_entrypoint(
	entrypoint text,
	concurrency_limit integer DEFAULT 0,
	lease_timeout interval DEFAULT NULL,
	max_attempts integer DEFAULT NULL,
	requests_per_second double precision DEFAULT 0,
	retry_backoff_base interval DEFAULT '1 second',
	retry_backoff_max interval DEFAULT '5 minutes',
	on_failure text DEFAULT 'delete')
RETURNS void
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_register_entrypoint';
COMMENT ON FUNCTION pgqueuer.register_entrypoint(text, integer, interval, integer, double precision, interval, interval, text) IS
$$Create or update an entrypoint's registry row (the paused flag is kept). concurrency_limit: most jobs picked at once across all workers (0 = no limit). lease_timeout: heartbeat timeout after which a picked job returns to the queue (NULL = pgqueuer.lease_timeout). max_attempts: retries of exceptions and lease expiries (NULL = pgqueuer.max_attempts). requests_per_second: most jobs handed out per second across all workers (0 = no limit; below 1, one job per 1/rate seconds). retry backoff: base * 2^attempts capped at max. on_failure: 'delete' or 'hold'. Errors: 22004 for NULL arguments, 22023 for out-of-range values.$$;

CREATE FUNCTION pgqueuer.pause(entrypoint text)
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_pause';
COMMENT ON FUNCTION pgqueuer.pause(text) IS
$$Stop dequeue from handing out jobs of this entrypoint (registering it with defaults if needed). Returns true if it was not paused before. Errors: 22004 for NULL, 22023 for an empty name.$$;

CREATE FUNCTION pgqueuer.resume(entrypoint text)
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_resume';
COMMENT ON FUNCTION pgqueuer.resume(text) IS
$$Let dequeue hand out jobs of a paused entrypoint again and wake the workers. Returns true if it was paused, false if it was not (nothing changed). Errors: 22004 for NULL.$$;

CREATE FUNCTION pgqueuer.queue_size()
RETURNS TABLE (count bigint, priority integer, entrypoint text, status pgqueuer.pgqueuer_status)
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_queue_size';
COMMENT ON FUNCTION pgqueuer.queue_size() IS
$$Jobs in the queue table grouped by priority, entrypoint and status (held failed jobs included), ordered by count, entrypoint, priority, status (PgQueuer's QueueStatistics).$$;

CREATE FUNCTION pgqueuer.job_status(job_ids bigint[])
RETURNS TABLE (job_id bigint, status pgqueuer.pgqueuer_status)
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_job_status';
COMMENT ON FUNCTION pgqueuer.job_status(bigint[]) IS
$$Latest logged status of each job id (by log time, then log id); ids never logged are absent. Errors: 22004 for NULL arguments or elements.$$;

CREATE FUNCTION pgqueuer.log_statistics(
	max_rows integer DEFAULT NULL,
	last interval DEFAULT NULL)
RETURNS TABLE (count bigint, created timestamptz, entrypoint text, priority integer, status pgqueuer.pgqueuer_status)
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_log_statistics';
COMMENT ON FUNCTION pgqueuer.log_statistics(integer, interval) IS
$$Fold new log rows into pgqueuer_statistics (each log row counted once, also under concurrency), then return the per-second buckets created within the last interval (NULL = all), newest first, at most max_rows (NULL = all) (PgQueuer's LogStatistics). Errors: 22023 for a negative max_rows or last.$$;

CREATE FUNCTION pgqueuer.cron_next(
	expression text,
	after timestamptz DEFAULT pg_catalog.now())
RETURNS timestamptz
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgqueuer_cron_next';
COMMENT ON FUNCTION pgqueuer.cron_next(text, timestamptz) IS
$$First instant strictly after "after" matching the cron expression, computed in UTC: 5 fields (minute hour day-of-month month day-of-week) or 6 with trailing seconds (PgQueuer's dialect), lists, ranges, steps, month and weekday names, @yearly @annually @monthly @weekly @daily @midnight @hourly; a restricted day-of-month and day-of-week match either. Errors: 22023 naming the field and position of a mistake, or when nothing matches within 8 years.$$;

CREATE FUNCTION pgqueuer.schedule(
	entrypoint text,
	expression text,
	payload bytea DEFAULT NULL,
	priority integer DEFAULT 0)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_schedule';
COMMENT ON FUNCTION pgqueuer.schedule(text, text, bytea, integer) IS
$$Register a cron schedule whose firing enqueues one job for entrypoint (with payload and priority); the expression is stored normalised. Re-registering the same (expression, entrypoint) updates payload and priority and keeps next_run. Returns the schedule id. Errors: 22023 for an invalid expression (field and position in the detail) or an empty entrypoint, 22004 for NULL arguments.$$;

CREATE FUNCTION pgqueuer.unschedule(schedule_id bigint)
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_unschedule_id';
COMMENT ON FUNCTION pgqueuer.unschedule(bigint) IS
$$Delete the schedule with this id. Returns false if there is none. Errors: 22004 for NULL.$$;

CREATE FUNCTION pgqueuer.unschedule(entrypoint text)
RETURNS integer
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_unschedule_entrypoint';
COMMENT ON FUNCTION pgqueuer.unschedule(text) IS
$$Delete every schedule of this entrypoint. Returns how many were deleted (0 if none). Errors: 22004 for NULL.$$;

CREATE FUNCTION pgqueuer.set_durability(level text, dry_run boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_set_durability';
COMMENT ON FUNCTION pgqueuer.set_durability(text, boolean) IS
$$Switch the tables between LOGGED and UNLOGGED without losing rows: volatile = all unlogged; balanced = queue and schedules logged, log and statistics unlogged; durable = all logged. Returns the ALTER TABLE statements (only those that change something), which dry_run returns without running. The level is stored in pgqueuer_settings and survives dump/restore. Errors: 22023 for an unknown level, 22004 for NULL.$$;

CREATE FUNCTION pgqueuer.autovac(rollback boolean DEFAULT false, dry_run boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_autovac';
COMMENT ON FUNCTION pgqueuer.autovac(boolean, boolean) IS
$$Apply PgQueuer's recommended autovacuum and fillfactor storage parameters (queue and schedules: aggressive vacuum, fillfactor 70; log and statistics: append-only), or RESET them with rollback. Returns the statements; dry_run only returns them. The choice is stored in pgqueuer_settings and survives dump/restore. Errors: 22004 for NULL.$$;

CREATE FUNCTION pgqueuer.verify()
RETURNS SETOF text
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_verify';
COMMENT ON FUNCTION pgqueuer.verify() IS
$$Check the installation: every table, column (type, nullability), enum label and order, index, trigger and function, the stored durability and autovacuum choices against the tables, and the notification queue usage. One line per problem; no rows means healthy.$$;

CREATE FUNCTION pgqueuer.run_maintenance()
RETURNS TABLE (duty text, rows bigint)
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pgqueuer, pg_temp
AS 'MODULE_PATHNAME', 'pgqueuer_run_maintenance';
COMMENT ON FUNCTION pgqueuer.run_maintenance() IS
$$One pass of every background-worker duty; returns one row per duty with the rows it touched: lease_expiry (expired picked jobs requeued with attempts + 1 or ended per on_failure), schedules (due server-fired schedules, one job each), deferred_wakeups (jobs that became due, announced by NOTIFY), statistics (log rows folded, in bounded chunks), retention (log and statistics rows older than pgqueuer.log_retention deleted).$$;

------------------------------------------------------------------------
-- Privileges: nothing for PUBLIC; three roles.
------------------------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA pgqueuer FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA pgqueuer FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA pgqueuer FROM PUBLIC;
-- The trigger functions run as part of the statements that fire them.
GRANT EXECUTE ON FUNCTION pgqueuer.fn_pgqueuer_changed() TO PUBLIC;
GRANT EXECUTE ON FUNCTION pgqueuer.settings_apply() TO PUBLIC;

GRANT USAGE ON SCHEMA pgqueuer TO pgqueuer_producer, pgqueuer_worker, pgqueuer_admin;

GRANT EXECUTE ON FUNCTION
	pgqueuer.enqueue(text, bytea, integer, interval, text, jsonb, text),
	pgqueuer.enqueue_batch(text[], bytea[], integer[], interval[], text[], jsonb[], text),
	pgqueuer.queue_size(),
	pgqueuer.job_status(bigint[]),
	pgqueuer.cron_next(text, timestamptz)
TO pgqueuer_producer, pgqueuer_worker, pgqueuer_admin;

GRANT EXECUTE ON FUNCTION
	pgqueuer.dequeue(integer, text[], uuid, integer),
	pgqueuer.complete(bigint[], pgqueuer.pgqueuer_status[], jsonb[], uuid),
	pgqueuer.retry(bigint, interval, jsonb, uuid),
	pgqueuer.heartbeat(bigint[], uuid),
	pgqueuer.register_entrypoint(text, integer, interval, integer, double precision, interval, interval, text),
	pgqueuer.log_statistics(integer, interval)
TO pgqueuer_worker, pgqueuer_admin;

-- PgQueuer's Python workers use the tables directly.
GRANT SELECT, INSERT, UPDATE, DELETE ON
	pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics,
	pgqueuer.pgqueuer_schedules
TO pgqueuer_worker, pgqueuer_admin;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA pgqueuer TO pgqueuer_worker, pgqueuer_admin;
GRANT SELECT ON pgqueuer.pgqueuer_entrypoints, pgqueuer.pgqueuer_settings
TO pgqueuer_worker, pgqueuer_admin;

GRANT EXECUTE ON FUNCTION
	pgqueuer.pause(text),
	pgqueuer.resume(text),
	pgqueuer.cancel(bigint[]),
	pgqueuer.requeue(bigint[]),
	pgqueuer.schedule(text, text, bytea, integer),
	pgqueuer.unschedule(bigint),
	pgqueuer.unschedule(text),
	pgqueuer.set_durability(text, boolean),
	pgqueuer.autovac(boolean, boolean),
	pgqueuer.verify(),
	pgqueuer.run_maintenance()
TO pgqueuer_admin;
