/*
 * pgqueuer--1.1--1.2.sql
 *		Upgrade script of the pgqueuer extension from version 1.1 to 1.2:
 *		pgqueuer_log becomes a table partitioned by day, in sixteen slots.
 *
 * Retention used to delete old log rows one by one (and VACUUM then
 * removed each of them and its index entries again).  Now a day's rows go
 * to one of sixteen partitions, pgqueuer_log_s00 to pgqueuer_log_s15, by
 * the number of days (UTC) since 2000-01-01 modulo 16; the retention duty
 * empties a slot with one TRUNCATE once all its rows are older than
 * log_retention and counted (src/api/log_partitions.c), whatever it holds.
 * With the default retention of 7 days a slot is emptied about eight days
 * before its next day begins.  PgQueuer's clients still read and write
 * pgqueuer_log by its name, with the same columns and the same index names;
 * the primary key on id becomes a plain index, since a table partitioned
 * by an expression can have no unique index (ids still come from the
 * identity sequence).
 *
 * The slots are fixed members of the extension, made here: nothing is
 * created or dropped at run time, so pg_dump keeps their rows as it keeps
 * every configuration table's, a restore finds them made by CREATE
 * EXTENSION, and pg_upgrade carries them over.  (Partitions made at run
 * time would not be members; a restore attaches such a partition to a
 * partitioned table whose indexes already exist, which creates the
 * partition's indexes before pg_dump's own CREATE INDEX statements for
 * them fail.)  pgqueuer_log_default takes rows dated before 2000.
 *
 * The 1.1 table's rows are copied into the partitioned table, once, so the
 * update takes time in proportion to the log; prune it first (lower
 * pgqueuer.log_retention and let the worker or run_maintenance() catch up)
 * if it is large.
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

-- Its name, index names and primary key go to the partitioned table; its
-- identity sequence moves there below, and it is dropped once its rows are
-- copied.
ALTER TABLE pgqueuer.pgqueuer_log RENAME TO pgqueuer_log_1_1;
ALTER INDEX pgqueuer.pgqueuer_log_not_aggregated RENAME TO pgqueuer_log_1_1_not_aggregated;
ALTER INDEX pgqueuer.pgqueuer_log_created RENAME TO pgqueuer_log_1_1_created;
ALTER INDEX pgqueuer.pgqueuer_log_status RENAME TO pgqueuer_log_1_1_status;
ALTER INDEX pgqueuer.pgqueuer_log_job_id_status RENAME TO pgqueuer_log_1_1_job_id_status;
ALTER INDEX pgqueuer.pgqueuer_log_traceback_idx RENAME TO pgqueuer_log_1_1_traceback;
ALTER EXTENSION pgqueuer DROP SEQUENCE pgqueuer.pgqueuer_log_id_seq;

------------------------------------------------------------------------
-- The partitioned log
------------------------------------------------------------------------

-- The slot of a row: days (UTC) since 2000-01-01, modulo 16 (rows dated
-- before 2000 give a negative number and go to the default partition).
-- log_partitions.c computes the same.
CREATE TABLE pgqueuer.pgqueuer_log (
	id bigint NOT NULL,
	created timestamptz NOT NULL DEFAULT pg_catalog.now(),
	job_id bigint NOT NULL,
	status pgqueuer.pgqueuer_status NOT NULL,
	priority integer NOT NULL,
	entrypoint text NOT NULL,
	traceback jsonb DEFAULT NULL,
	aggregated boolean DEFAULT false
) PARTITION BY LIST (((pg_catalog.date_part('day'::pg_catalog.text,
	created OPERATOR(pg_catalog.-) '2000-01-01 00:00:00+00'::pg_catalog.timestamptz))::pg_catalog.int4
	OPERATOR(pg_catalog.%) 16));
COMMENT ON TABLE pgqueuer.pgqueuer_log IS
	'One row per job state transition (queued, picked, terminal), with the traceback JSON; PgQueuer''s log table. Partitioned by day: the rows of day n (days since 2000-01-01, UTC) are in pgqueuer_log_s<n mod 16>, which the retention duty empties with TRUNCATE once they are all older than log_retention and counted.';
COMMENT ON COLUMN pgqueuer.pgqueuer_log.aggregated IS
	$$false: not yet counted in pgqueuer_statistics (PgQueuer's clients write this; the fold sets true). true: counted. NULL: written by pgqueuer's functions, counted by time once created is before the statistics_folded_until watermark in pgqueuer_settings, without being updated.$$;

-- A table partitioned by an expression can have no primary key or unique
-- index: ids come from the identity sequence, and this index finds them.
CREATE INDEX pgqueuer_log_id_idx ON pgqueuer.pgqueuer_log USING btree (id);
COMMENT ON INDEX pgqueuer.pgqueuer_log_id_idx IS
	'Log rows by id (the statistics fold and retention delete and update by id); not unique, since a table partitioned by an expression cannot have a unique index.';

CREATE INDEX pgqueuer_log_not_aggregated ON pgqueuer.pgqueuer_log
	USING btree ((1)) WHERE (NOT aggregated);
COMMENT ON INDEX pgqueuer.pgqueuer_log_not_aggregated IS
	'Log rows not yet counted that PgQueuer''s clients wrote (aggregated = false), for the statistics fold.';
CREATE INDEX pgqueuer_log_created ON pgqueuer.pgqueuer_log USING btree (created);
COMMENT ON INDEX pgqueuer.pgqueuer_log_created IS
	'Log rows by time, for the statistics fold and retention.';
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

-- the sixteen day slots and the default partition, all kept by pg_dump
DO $$
BEGIN
	FOR n IN 0..15 LOOP
		EXECUTE pg_catalog.format('CREATE TABLE pgqueuer.%I PARTITION OF pgqueuer.pgqueuer_log FOR VALUES IN (%s)',
			pg_catalog.format('pgqueuer_log_s%s', pg_catalog.to_char(n, 'FM00')), n);
		EXECUTE pg_catalog.format('COMMENT ON TABLE pgqueuer.%I IS %L',
			pg_catalog.format('pgqueuer_log_s%s', pg_catalog.to_char(n, 'FM00')),
			pg_catalog.format('The log rows of the days n (since 2000-01-01, UTC) with n mod 16 = %s; emptied by the retention duty once they are all past log_retention and counted.', n));
		PERFORM pg_catalog.pg_extension_config_dump(
			pg_catalog.format('pgqueuer.%I', pg_catalog.format('pgqueuer_log_s%s', pg_catalog.to_char(n, 'FM00')))::pg_catalog.regclass, '');
	END LOOP;
END
$$;
CREATE TABLE pgqueuer.pgqueuer_log_default
	PARTITION OF pgqueuer.pgqueuer_log DEFAULT;
COMMENT ON TABLE pgqueuer.pgqueuer_log_default IS
	'Log rows dated before 2000-01-01, which have no day slot; retention deletes them row by row.';

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

-- The rows of 1.1, into their slots; then the 1.1 table goes.
INSERT INTO pgqueuer.pgqueuer_log (id, created, job_id, status, priority, entrypoint, traceback, aggregated)
SELECT id, created, job_id, status, priority, entrypoint, traceback, aggregated
FROM pgqueuer.pgqueuer_log_1_1;
ALTER EXTENSION pgqueuer DROP TABLE pgqueuer.pgqueuer_log_1_1;
DROP TABLE pgqueuer.pgqueuer_log_1_1;

-- pg_dump keeps the rows of the partitions (the slots above) and the id
-- sequence.
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('pgqueuer.pgqueuer_log_id_seq', '');

-- A stored durability level or autovac choice applies to the partitions
-- (the settings trigger, durability.c), which are new.
UPDATE pgqueuer.pgqueuer_settings SET value = value
WHERE name OPERATOR(pg_catalog.=) ANY (ARRAY['durability', 'autovac']::pg_catalog.text[]);

------------------------------------------------------------------------
-- Catalog definitions of a partitioned table
------------------------------------------------------------------------

-- catalog_definitions() records the partitioned log's columns (as it does
-- a table's) and leaves out what a partition takes from it: columns,
-- constraints, indexes and triggers of the slots and default partition.  repair()
-- re-creates an index of the partitioned table without ONLY, so that it
-- reaches every partition.  (CREATE OR REPLACE of the extension's own
-- function: PostgreSQL refuses it for a function that is not a member.)
CREATE OR REPLACE FUNCTION pgqueuer.catalog_definitions()
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
	SELECT c.oid, c.relkind, c.relrowsecurity, c.relispartition,
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
	WHERE r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::pg_catalog."char"[])
	  AND NOT r.relispartition AND a.attnum OPERATOR(pg_catalog.>) 0
	  AND NOT a.attisdropped
)
-- tables and sequences: their rows cannot be restored
SELECT CASE WHEN r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::pg_catalog."char"[]) THEN 'table' WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'sequence' ELSE 'relation' END,
	   r.name, NULL::pg_catalog.text,
	   pg_catalog.jsonb_build_object('kind', CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'r' THEN 'table'
			WHEN r.relkind OPERATOR(pg_catalog.=) 'p' THEN 'partitioned table'
			WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'sequence' ELSE 'relation ' OPERATOR(pg_catalog.||) r.relkind::pg_catalog.text END,
			'row level security', CASE WHEN r.relrowsecurity THEN 'on' ELSE 'off' END,
			'data type', COALESCE((SELECT pg_catalog.format_type(s.seqtypid, NULL)
				FROM pg_catalog.pg_sequence s WHERE s.seqrelid OPERATOR(pg_catalog.=) r.oid), 'none')),
	   NULL::pg_catalog.text[],
	   CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN ARRAY[pg_catalog.format('ALTER SEQUENCE %s AS %s', r.name,
			(SELECT pg_catalog.format_type(s.seqtypid, NULL) FROM pg_catalog.pg_sequence s
			 WHERE s.seqrelid OPERATOR(pg_catalog.=) r.oid))]
			WHEN r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::pg_catalog."char"[]) THEN ARRAY[pg_catalog.format('ALTER TABLE %s %s ROW LEVEL SECURITY',
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
  AND NOT r.relispartition
UNION ALL
-- indexes of the tables, except those of a constraint
SELECT 'index', i.indexrelid::pg_catalog.regclass::pg_catalog.text, r.name,
	   pg_catalog.jsonb_build_object('definition', pg_catalog.pg_get_indexdef(i.indexrelid),
			'validity', CASE WHEN i.indisvalid THEN 'valid' ELSE 'not valid' END),
	   ARRAY[pg_catalog.replace(pg_catalog.pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')],
	   ARRAY[pg_catalog.format('DROP INDEX %s', i.indexrelid::pg_catalog.regclass),
			 pg_catalog.replace(pg_catalog.pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')]
FROM rel r
JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) r.oid
WHERE NOT r.relispartition
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint co
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
WHERE NOT t.tgisinternal AND NOT r.relispartition
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
$$The live definition of every object of the extension, in the shape of pgqueuer_catalog: members (tables, sequences, types, functions) found through pg_depend, and the columns, constraints, indexes and triggers of its tables (relation: their table); a partition of the log (its day slots and default partition) is recorded as a table, its columns, indexes and constraints follow the partitioned table's. A partitioned table's index is re-created without ONLY, so that it reaches every partition. definition: one key per compared property (an index's pg_get_indexdef and validity, a function's language, security, settings, volatility, body...); create_sql and replace_sql: the statements that re-create or restore the object as it is now.$$;

------------------------------------------------------------------------
-- Catalog snapshot
------------------------------------------------------------------------

-- The snapshot: keep this the last statement of every update script.
DELETE FROM pgqueuer.pgqueuer_catalog;
INSERT INTO pgqueuer.pgqueuer_catalog
SELECT * FROM pgqueuer.catalog_definitions();
