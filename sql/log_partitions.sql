-- pgqueuer_log partitioned by day into sixteen slots
-- (sql/pgqueuer--1.1--1.2.sql, src/api/log_partitions.c): the update from
-- 1.1 keeps rows, ids and grants; rows go to the slot of their day; the
-- retention duty empties a slot whose rows are all past the retention and
-- counted, and deletes row by row what it cannot empty; durability and
-- autovac apply to every partition.
CREATE ROLE lp_client;

-- the slot of a time, as the partition key computes it
CREATE FUNCTION pg_temp.slot(t timestamptz) RETURNS text LANGUAGE sql AS $$
	SELECT 'pgqueuer.pgqueuer_log_s'
		|| to_char((date_part('day', t - '2000-01-01 00:00:00+00'::timestamptz))::int % 16, 'FM00')
$$;

--
-- 1. The update from 1.1, with rows in the log.
--
CREATE EXTENSION pgqueuer VERSION '1.1';
SELECT pgqueuer.grant_pgqueuer_client_access('lp_client');
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_a', 'lp_a', 'lp_a']);
SELECT max(id) AS old_max FROM pgqueuer.pgqueuer_log \gset
SELECT md5(string_agg(concat_ws('|', id, created, job_id, status, priority, entrypoint, aggregated), ',' ORDER BY id)) AS old_rows
  FROM pgqueuer.pgqueuer_log \gset
ALTER EXTENSION pgqueuer UPDATE TO '1.2';
SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.oid = 'pgqueuer.pgqueuer_log'::regclass;
-- the 1.1 rows, unchanged, in their day's slot; the 1.1 table is gone
SELECT md5(string_agg(concat_ws('|', id, created, job_id, status, priority, entrypoint, aggregated), ',' ORDER BY id)) = :'old_rows' AS same_rows
  FROM pgqueuer.pgqueuer_log;
SELECT tableoid::regclass::text = pg_temp.slot(created) AS its_days_slot, count(*) FROM pgqueuer.pgqueuer_log GROUP BY 1;
SELECT count(*) AS old_table FROM pg_class WHERE relname = 'pgqueuer_log_1_1';
-- ids go on after the 1.1 sequence
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_a']);
SELECT min(id) > :old_max AS ids_go_on FROM pgqueuer.pgqueuer_log WHERE id > :old_max;
-- the grants moved to the partitioned table; a partition grants nothing
SELECT has_table_privilege('lp_client', 'pgqueuer.pgqueuer_log', 'INSERT') AS log_insert,
       has_column_privilege('lp_client', 'pgqueuer.pgqueuer_log', 'aggregated', 'UPDATE') AS log_update,
       has_table_privilege('pgqueuer_worker', 'pgqueuer.pgqueuer_log', 'SELECT') AS worker_select,
       has_table_privilege('lp_client', 'pgqueuer.pgqueuer_log_s00', 'INSERT') AS slot_insert;
SELECT * FROM pgqueuer.verify();
SELECT pgqueuer.revoke_pgqueuer_client_access('lp_client');
DROP EXTENSION pgqueuer;

--
-- 2. A fresh install: sixteen slots and a default partition, all members
-- of the extension (pg_dump keeps their rows); rows go to their day's slot,
-- rows of days before 1999-12-31 to the default partition.
--
CREATE EXTENSION pgqueuer;
SET pgqueuer.statistics_fold_margin = 0;
CREATE TEMP VIEW parts AS
SELECT c.relname, c.relpersistence, c.reloptions, pg_get_expr(c.relpartbound, c.oid) AS bound,
       EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') AS member,
       c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'pgqueuer')::oid[]) AS dumped
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'pgqueuer.pgqueuer_log'::regclass;
SELECT relname, bound, member, dumped FROM parts ORDER BY relname;
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_b', 'lp_b']);
SELECT tableoid::regclass::text = pg_temp.slot(created) AS its_days_slot, count(*) FROM pgqueuer.pgqueuer_log GROUP BY 1;
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint)
VALUES (now() - interval '1 day', 1, 'queued', 0, 'lp_b'), ('1999-06-01 12:00+00', 1, 'queued', 0, 'lp_b');
SELECT created < '1999-12-31' AS before_2000, tableoid::regclass::text = pg_temp.slot(created) AS its_slot,
       tableoid = 'pgqueuer.pgqueuer_log_default'::regclass AS in_default
  FROM pgqueuer.pgqueuer_log WHERE created < now() - interval '1 hour' ORDER BY created;
DELETE FROM pgqueuer.pgqueuer_log WHERE created < now() - interval '1 hour';

--
-- 3. Durability and autovac apply to every partition.
--
SELECT count(*) AS statements FROM pgqueuer.set_durability('volatile');
SELECT relpersistence, count(*) FROM parts GROUP BY 1;
SELECT count(*) AS statements FROM pgqueuer.autovac();
SELECT count(*) AS with_options FROM parts WHERE 'autovacuum_vacuum_scale_factor=0.95' = ANY (reloptions);
SELECT * FROM pgqueuer.verify();
-- a partition changed by hand is named
ALTER TABLE pgqueuer.pgqueuer_log_s03 SET LOGGED;
SELECT * FROM pgqueuer.verify();
SELECT count(*) AS statements FROM pgqueuer.autovac(rollback => true);
SELECT count(*) AS statements FROM pgqueuer.set_durability('durable');
SELECT relpersistence, count(*), bool_and(reloptions IS NULL) AS no_options FROM parts GROUP BY 1;
SELECT * FROM pgqueuer.verify();

--
-- 4. Retention empties a slot whose rows are all past the retention (7
-- days) and counted, and deletes row by row what it cannot empty.
--
-- the rows' times and the slots they are checked against both come from
-- one "now", so that a run across midnight (UTC) agrees with itself
SELECT now() AS t0 \gset
-- days 10 and 9 ago: past the retention, each alone in its slot; day 9
-- also has rows that PgQueuer's clients wrote (aggregated = false), which
-- the fold counts first
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT :'t0'::timestamptz - interval '10 days', g, 'successful', 0, 'lp_old', NULL FROM generate_series(1, 3) g;
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT :'t0'::timestamptz - interval '9 days', g, 'exception', 0, 'lp_old', false FROM generate_series(1, 2) g;
-- day 3 ago: within the retention
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
VALUES (:'t0'::timestamptz - interval '3 days', 1, 'successful', 0, 'lp_recent', NULL);
-- day 20 ago shares the slot of day 4 ago (20 - 4 = 16): that slot cannot
-- be emptied, its old row is deleted on its own
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
VALUES (:'t0'::timestamptz - interval '20 days', 1, 'successful', 0, 'lp_shared', NULL),
       (:'t0'::timestamptz - interval '4 days', 2, 'successful', 0, 'lp_shared', NULL);
ANALYZE pgqueuer.pgqueuer_log;
SELECT entrypoint, date_part('day', now() - created) AS days_ago, tableoid::regclass::text = pg_temp.slot(created) AS in_slot
  FROM pgqueuer.pgqueuer_log WHERE entrypoint LIKE 'lp\_%' AND entrypoint <> 'lp_b' ORDER BY created;
-- statistics: among them the two rows of day 9 (flipped); retention: the five rows of
-- the two emptied slots (estimated) and the row of day 20, and the
-- statistics rows older than the retention
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty IN ('statistics', 'retention');
SELECT entrypoint, date_part('day', now() - created) AS days_ago
  FROM pgqueuer.pgqueuer_log WHERE entrypoint LIKE 'lp\_%' AND entrypoint <> 'lp_b' ORDER BY created;
SELECT count(*) AS emptied_slots
  FROM (VALUES (:'t0'::timestamptz - interval '10 days'), (:'t0'::timestamptz - interval '9 days')) v(t)
 WHERE NOT EXISTS (SELECT FROM pgqueuer.pgqueuer_log l WHERE l.tableoid = pg_temp.slot(v.t)::regclass);
-- a second pass finds nothing to do
SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention';
SELECT * FROM pgqueuer.verify();

DROP VIEW parts;
DROP EXTENSION pgqueuer;
DROP ROLE lp_client;
