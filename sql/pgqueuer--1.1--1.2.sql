/*
 * pgqueuer--1.1--1.2.sql
 *		Upgrade script of the pgqueuer extension from version 1.1 to 1.2:
 *		pgqueuer_log becomes a table partitioned by day.
 *
 * Retention used to delete old log rows one by one (and VACUUM then
 * removed each of them and its index entries again).  Partitioned by
 * created, a whole day of history goes with one DROP TABLE, whatever it
 * holds (src/api/log_partitions.c).  PgQueuer's clients still read and
 * write pgqueuer_log by its name, with the same columns and the same index
 * names; the primary key becomes (id, created), since a key of a
 * partitioned table must contain the partition key.
 *
 * What is a member of the extension: the partitioned table, its identity
 * sequence and its DEFAULT partition (rows whose day has no partition of
 * its own, for example while no background worker runs).  The day
 * partitions are made and dropped at run time by the retention duty; like
 * any table made after CREATE EXTENSION they are not members, so pg_dump
 * keeps their definition and rows, and a restore attaches them to the
 * partitioned table that CREATE EXTENSION makes.  schema_guard.c accepts
 * them as long as a superuser owns them.
 *
 * The 1.1 table keeps its rows: it becomes the partition of everything
 * before the start of the next day (UTC), "pgqueuer_log_until_YYYYMMDD",
 * which retention drops once that day is older than log_retention.  The
 * ATTACH reads the whole table once, to check the range, and builds the
 * index of the new primary key.  An empty 1.1 table (every fresh install
 * passes here) is dropped instead.
 *
 * The same rules as the install script hold: every object and operator is
 * schema-qualified, and functions run with search_path = pg_catalog,
 * pg_temp.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgqueuer UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------
-- The 1.1 log steps aside
------------------------------------------------------------------------

-- Its name, index names and primary key go to the partitioned table; it
-- leaves the extension (so that pg_dump keeps it as a partition), and its
-- identity sequence moves to the partitioned table below.
ALTER TABLE pgqueuer.pgqueuer_log RENAME TO pgqueuer_log_1_1;
ALTER INDEX pgqueuer.pgqueuer_log_not_aggregated RENAME TO pgqueuer_log_1_1_not_aggregated;
ALTER INDEX pgqueuer.pgqueuer_log_created RENAME TO pgqueuer_log_1_1_created;
ALTER INDEX pgqueuer.pgqueuer_log_status RENAME TO pgqueuer_log_1_1_status;
ALTER INDEX pgqueuer.pgqueuer_log_job_id_status RENAME TO pgqueuer_log_1_1_job_id_status;
ALTER INDEX pgqueuer.pgqueuer_log_traceback_idx RENAME TO pgqueuer_log_1_1_traceback;
ALTER TABLE pgqueuer.pgqueuer_log_1_1 DROP CONSTRAINT pgqueuer_log_pkey;
ALTER EXTENSION pgqueuer DROP TABLE pgqueuer.pgqueuer_log_1_1;
ALTER EXTENSION pgqueuer DROP SEQUENCE pgqueuer.pgqueuer_log_id_seq;

------------------------------------------------------------------------
-- The partitioned log
------------------------------------------------------------------------

CREATE TABLE pgqueuer.pgqueuer_log (
	id bigint NOT NULL,
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	job_id bigint NOT NULL,
	status pgqueuer.pgqueuer_status NOT NULL,
	priority integer NOT NULL,
	entrypoint text NOT NULL,
	traceback jsonb DEFAULT NULL,
	aggregated boolean DEFAULT false,
	CONSTRAINT pgqueuer_log_pkey PRIMARY KEY (id, created)
) PARTITION BY RANGE (created);
COMMENT ON TABLE pgqueuer.pgqueuer_log IS
	'One row per job state transition (queued, picked, terminal), with the traceback JSON; PgQueuer''s log table. Partitioned by created: one partition per day (UTC), made ahead and dropped after log_retention by the retention duty, and pgqueuer_log_default for rows of a day without one.';
COMMENT ON COLUMN pgqueuer.pgqueuer_log.aggregated IS
	$$false: not yet counted in pgqueuer_statistics (PgQueuer's clients write this; the fold sets true). true: counted. NULL: written by pgqueuer's functions, counted by time once created is before the statistics_folded_until watermark in pgqueuer_settings, without being updated.$$;
COMMENT ON CONSTRAINT pgqueuer_log_pkey ON pgqueuer.pgqueuer_log IS
	'Log rows by id; created is part of the key because the table is partitioned by it.';

CREATE INDEX pgqueuer_log_not_aggregated ON pgqueuer.pgqueuer_log
	USING btree ((1)) WHERE (NOT aggregated);
COMMENT ON INDEX pgqueuer.pgqueuer_log_not_aggregated IS
	'Log rows not yet counted that PgQueuer''s clients wrote (aggregated = false), for the statistics fold.';
CREATE INDEX pgqueuer_log_created ON pgqueuer.pgqueuer_log USING btree (created);
COMMENT ON INDEX pgqueuer.pgqueuer_log_created IS
	'Log rows by time, for the statistics fold and for retention of the default partition.';
CREATE INDEX pgqueuer_log_status ON pgqueuer.pgqueuer_log USING btree (status);
COMMENT ON INDEX pgqueuer.pgqueuer_log_status IS
	'Log rows by status; PgQueuer''s index.';
CREATE INDEX pgqueuer_log_job_id_status ON pgqueuer.pgqueuer_log
	USING btree (job_id, created DESC);
COMMENT ON INDEX pgqueuer.pgqueuer_log_job_id_status IS
	'A job''s history, newest first (job_history(), wait_for()).';
CREATE INDEX pgqueuer_log_traceback_idx ON pgqueuer.pgqueuer_log
	USING btree (entrypoint, status) WHERE traceback IS NOT NULL;
COMMENT ON INDEX pgqueuer.pgqueuer_log_traceback_idx IS
	'Log rows with a traceback (exceptions, retries, lease expiries), for metrics().';

CREATE TABLE pgqueuer.pgqueuer_log_default
	PARTITION OF pgqueuer.pgqueuer_log DEFAULT;
COMMENT ON TABLE pgqueuer.pgqueuer_log_default IS
	'Log rows of a day that has no partition of its own (no background worker ran the retention duty ahead of it, or a row written with an old created); retention deletes them row by row.';

-- The ids go on from where the 1.1 sequence stopped, under its name.
DO $$
DECLARE
	last pg_catalog.int8;
	called pg_catalog.bool;
BEGIN
	SELECT s.last_value, s.is_called INTO last, called FROM pgqueuer.pgqueuer_log_id_seq s;
	ALTER TABLE pgqueuer.pgqueuer_log_1_1 ALTER COLUMN id DROP IDENTITY;
	ALTER TABLE pgqueuer.pgqueuer_log ALTER COLUMN id
		ADD GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME pgqueuer.pgqueuer_log_id_seq);
	PERFORM pg_catalog.setval('pgqueuer.pgqueuer_log_id_seq'::pg_catalog.regclass, last, called);
END
$$;

-- The grants of the 1.1 table, table-wide and per column, carried over:
-- the three roles' and those of grant_pgqueuer_client_access().
DO $$
DECLARE
	g record;
BEGIN
	FOR g IN
		SELECT NULL::pg_catalog.name AS col, a.grantee, a.privilege_type, a.is_grantable
		FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
		WHERE c.oid OPERATOR(pg_catalog.=) 'pgqueuer.pgqueuer_log_1_1'::pg_catalog.regclass
		  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
		UNION ALL
		SELECT at.attname, a.grantee, a.privilege_type, a.is_grantable
		FROM pg_catalog.pg_attribute at, pg_catalog.aclexplode(at.attacl) a
		WHERE at.attrelid OPERATOR(pg_catalog.=) 'pgqueuer.pgqueuer_log_1_1'::pg_catalog.regclass
		  AND at.attnum OPERATOR(pg_catalog.>) 0 AND NOT at.attisdropped
	LOOP
		EXECUTE pg_catalog.format('GRANT %s%s ON pgqueuer.pgqueuer_log TO %s%s',
			g.privilege_type,
			CASE WHEN g.col IS NULL THEN '' ELSE pg_catalog.format(' (%I)', g.col) END,
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
				 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)::pg_catalog.text) END,
			CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
END
$$;

-- The rows of 1.1: a partition up to the start of the next day (UTC), or
-- nothing if there are none.  Its grants are revoked: the partitioned
-- table's decide, and a partition read directly would bypass them.
DO $$
DECLARE
	upper timestamptz := pg_catalog.timezone('UTC'::pg_catalog.text,
		pg_catalog.date_trunc('day'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, pg_catalog.now())))
		OPERATOR(pg_catalog.+) '1 day'::pg_catalog.interval;
	part pg_catalog.text;
	g record;
BEGIN
	IF NOT EXISTS (SELECT FROM pgqueuer.pgqueuer_log_1_1) THEN
		DROP TABLE pgqueuer.pgqueuer_log_1_1;
		RETURN;
	END IF;
	part := 'pgqueuer_log_until_' OPERATOR(pg_catalog.||)
		pg_catalog.to_char(pg_catalog.timezone('UTC'::pg_catalog.text, upper), 'YYYYMMDD');
	EXECUTE pg_catalog.format('ALTER TABLE pgqueuer.pgqueuer_log_1_1 RENAME TO %I', part);
	FOR g IN
		SELECT DISTINCT a.grantee
		FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
		WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('pgqueuer.%I', part)::pg_catalog.regclass
		  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
		UNION
		SELECT a.grantee
		FROM pg_catalog.pg_attribute at, pg_catalog.aclexplode(at.attacl) a
		WHERE at.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('pgqueuer.%I', part)::pg_catalog.regclass
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON pgqueuer.%I FROM %s', part,
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
				 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)::pg_catalog.text) END);
	END LOOP;
	EXECUTE pg_catalog.format('ALTER TABLE pgqueuer.pgqueuer_log ATTACH PARTITION pgqueuer.%I'
		' FOR VALUES FROM (MINVALUE) TO (%L)', part, upper);
END
$$;

-- pg_dump keeps the rows of the default partition and the id sequence;
-- the day partitions are ordinary tables to it.
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log_id_seq', '');

-- A stored durability level or autovac choice applies to the partitions
-- (the settings trigger, durability.c): the 1.1 rows keep their table's
-- persistence and parameters, the default partition gets them now.
UPDATE pgqueuer.pgqueuer_settings SET value = value
WHERE name OPERATOR(pg_catalog.=) ANY (ARRAY['durability', 'autovac']::pg_catalog.text[]);

------------------------------------------------------------------------
-- Catalog snapshot
------------------------------------------------------------------------

-- The snapshot: keep this the last statement of every update script.
DELETE FROM pgqueuer.pgqueuer_catalog;
INSERT INTO pgqueuer.pgqueuer_catalog
SELECT * FROM pgqueuer.catalog_definitions();
