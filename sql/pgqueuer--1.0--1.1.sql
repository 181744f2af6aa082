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




------------------------------------------------------------------------
-- New SQL functions
------------------------------------------------------------------------




------------------------------------------------------------------------
-- Python and Node.js clients
------------------------------------------------------------------------

