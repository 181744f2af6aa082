-- pgqueuer_log partitioned by day (sql/pgqueuer--1.1--1.2.sql,
-- src/api/log_partitions.c): the update from 1.1 keeps rows, ids and
-- grants; the retention duty makes the day partitions ahead, moves rows
-- out of the default partition, drops whole days past the retention once
-- counted; durability and autovac apply to partitions; a partition owned by
-- a role that is not a superuser is reported.
CREATE ROLE lp_client;
CREATE ROLE lp_owner;

--
-- 1. The update from 1.1, with rows in the log.
--
CREATE EXTENSION pgqueuer VERSION '1.1';
SELECT pgqueuer.grant_pgqueuer_client_access('lp_client');
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_a', 'lp_a', 'lp_a']);
SELECT max(id) AS old_max FROM pgqueuer.pgqueuer_log \gset
ALTER EXTENSION pgqueuer UPDATE TO '1.2';
SELECT c.relkind, pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.oid = 'pgqueuer.pgqueuer_log'::regclass;
-- the 1.1 rows: a partition up to the start of the next day (UTC)
SELECT tableoid::regclass::text = 'pgqueuer.pgqueuer_log_until_'
         || to_char(date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day', 'YYYYMMDD') AS until_partition,
       count(*)
  FROM pgqueuer.pgqueuer_log GROUP BY 1;
-- which is not a member of the extension (pg_dump keeps it as a table)
SELECT count(*) AS members FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.classid = 'pg_class'::regclass AND c.relname LIKE 'pgqueuer_log_until_%';
-- ids go on after the 1.1 sequence
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_a']);
SELECT min(id) > :old_max AS ids_go_on FROM pgqueuer.pgqueuer_log WHERE id > :old_max;
-- the grants moved to the partitioned table, none is left on the partition
SELECT has_table_privilege('lp_client', 'pgqueuer.pgqueuer_log', 'INSERT') AS log_insert,
       has_column_privilege('lp_client', 'pgqueuer.pgqueuer_log', 'aggregated', 'UPDATE') AS log_update,
       has_table_privilege('pgqueuer_worker', 'pgqueuer.pgqueuer_log', 'SELECT') AS worker_select;
SELECT count(*) AS grants_on_partition
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relname LIKE 'pgqueuer_log_until_%'
   AND c.relkind = 'r' AND a.grantee <> c.relowner;
SELECT count(*) AS column_grants_on_partition
  FROM pg_class c JOIN pg_attribute at ON at.attrelid = c.oid, aclexplode(at.attacl) a
 WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relname LIKE 'pgqueuer_log_until_%'
   AND c.relkind = 'r';
SELECT * FROM pgqueuer.verify();
SELECT pgqueuer.revoke_pgqueuer_client_access('lp_client');
DROP EXTENSION pgqueuer;

--
-- 2. A fresh install: the log has its default partition only, until the
-- first maintenance pass.
--
CREATE EXTENSION pgqueuer;
SET pgqueuer.statistics_fold_margin = 0;
CREATE TEMP VIEW parts AS
SELECT c.relname, c.relpersistence, c.reloptions, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'pgqueuer.pgqueuer_log'::regclass;
-- the day partitions this session expects, days 0 to 2 from today (UTC)
CREATE TEMP VIEW days AS
SELECT n, 'pgqueuer_log_p' || to_char(date_trunc('day', now() AT TIME ZONE 'UTC') + n * interval '1 day', 'YYYYMMDD') AS relname
  FROM generate_series(0, 2) n;
SELECT relname, is_default FROM parts;
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_b', 'lp_b']);
SELECT tableoid::regclass, count(*) FROM pgqueuer.pgqueuer_log GROUP BY 1;

-- the pass makes today's and the next two days' partitions, and moves
-- today's rows out of the default partition
SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention';
SELECT d.n, p.relname IS NOT NULL AS made, p.relpersistence FROM days d LEFT JOIN parts p USING (relname) ORDER BY d.n;
SELECT tableoid::regclass::text = 'pgqueuer.' || (SELECT relname FROM days WHERE n = 0) AS today, count(*)
  FROM pgqueuer.pgqueuer_log GROUP BY 1;
SELECT count(*) AS in_default FROM pgqueuer.pgqueuer_log_default;
-- new rows go to today's partition
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['lp_b']);
SELECT count(*) AS in_default FROM pgqueuer.pgqueuer_log_default;
-- a second pass has nothing to make
SELECT count(*) AS partitions FROM parts;
SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention';
SELECT count(*) AS partitions FROM parts;
-- superusers own the day partitions: nothing to report
SELECT * FROM pgqueuer.verify();

--
-- 3. Durability and autovac follow the partitions, and new partitions are
-- made as they ask.
--
SELECT count(*) > 0 AS changed FROM pgqueuer.set_durability('volatile');
SELECT relpersistence, count(*) FROM parts GROUP BY 1;
DO $$ BEGIN EXECUTE format('DROP TABLE pgqueuer.%I', (SELECT relname FROM days WHERE n = 2)); END $$;
SELECT count(*) FROM pgqueuer.autovac();
SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention';
SELECT p.relpersistence, p.reloptions FROM days d JOIN parts p USING (relname) WHERE d.n = 2;
SELECT * FROM pgqueuer.verify();
SELECT count(*) FROM pgqueuer.autovac(rollback => true);
SELECT count(*) > 0 AS changed FROM pgqueuer.set_durability('durable');
SELECT relpersistence, count(*), bool_and(reloptions IS NULL) AS no_options FROM parts GROUP BY 1;
SELECT * FROM pgqueuer.verify();

--
-- 4. Retention drops whole days: past the retention and counted.
--
CREATE TABLE pgqueuer.pgqueuer_log_p20200101 PARTITION OF pgqueuer.pgqueuer_log
  FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00');
CREATE TABLE pgqueuer.pgqueuer_log_p20200102 PARTITION OF pgqueuer.pgqueuer_log
  FOR VALUES FROM ('2020-01-02 00:00+00') TO ('2020-01-03 00:00+00');
-- rows pgqueuer wrote (counted by time) and rows PgQueuer's clients wrote
-- (aggregated = false: counted by the fold before the day may go)
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT '2020-01-01 12:00+00', g, 'successful', 0, 'lp_old', NULL FROM generate_series(1, 3) g;
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT '2020-01-02 12:00+00', g, 'exception', 0, 'lp_old', false FROM generate_series(1, 2) g;
-- a day younger than the retention (7 days) stays
DO $$ BEGIN EXECUTE format('CREATE TABLE pgqueuer.lp_recent PARTITION OF pgqueuer.pgqueuer_log FOR VALUES FROM (%L) TO (%L)',
  date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '3 days',
  date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '2 days'); END $$;
ANALYZE pgqueuer.pgqueuer_log_p20200101, pgqueuer.pgqueuer_log_p20200102;
-- the pass counts the PgQueuer rows (statistics: 2), then drops both old
-- days (retention: the 5 rows they held, estimated, and the statistics
-- row of 2020)
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty IN ('statistics', 'retention');
SELECT relname FROM parts WHERE relname LIKE 'pgqueuer_log_p2020%' OR relname = 'lp_recent' ORDER BY 1;
DROP TABLE pgqueuer.lp_recent;

--
-- 5. A day covered in part by a partition made by hand: not made, the
-- others are; its rows go to the default partition.
--
DO $$ BEGIN EXECUTE format('DROP TABLE pgqueuer.%I', (SELECT relname FROM days WHERE n = 2)); END $$;
DO $$ BEGIN EXECUTE format('CREATE TABLE pgqueuer.lp_by_hand PARTITION OF pgqueuer.pgqueuer_log FOR VALUES FROM (%L) TO (%L)',
  date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 days 12 hours',
  date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '3 days'); END $$;
SET client_min_messages = error;
SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention';
RESET client_min_messages;
SELECT d.n, p.relname IS NOT NULL AS made FROM days d LEFT JOIN parts p USING (relname) ORDER BY d.n;
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint)
VALUES (date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 days 1 hour', 1, 'queued', 0, 'lp_c');
SELECT tableoid::regclass FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'lp_c';
DROP TABLE pgqueuer.lp_by_hand;

--
-- 6. A partition that a role below superuser owns is reported: its owner
-- could give it triggers that run whenever a superuser writes the log.
--
CREATE TABLE pgqueuer.pgqueuer_log_p20200105 PARTITION OF pgqueuer.pgqueuer_log
  FOR VALUES FROM ('2020-01-05 00:00+00') TO ('2020-01-06 00:00+00');
ALTER TABLE pgqueuer.pgqueuer_log_p20200105 OWNER TO lp_owner;
SELECT * FROM pgqueuer.verify();
DROP TABLE pgqueuer.pgqueuer_log_p20200105;
SELECT * FROM pgqueuer.verify();

DROP VIEW days;
DROP VIEW parts;
DROP EXTENSION pgqueuer;
DROP ROLE lp_client;
DROP ROLE lp_owner;
