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




------------------------------------------------------------------------
-- Python and Node.js clients
------------------------------------------------------------------------


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
