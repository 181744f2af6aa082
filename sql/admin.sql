--
-- Administration: set_durability(), autovac(), the settings trigger and
-- verify().
--
CREATE EXTENSION pgqueuer;

-- persistence and storage parameters of PgQueuer's four tables (the log's
-- are those of its seventeen partitions: the default one stands for all)
CREATE TEMP VIEW tables_state AS
SELECT c.relname, c.relpersistence, c.reloptions
FROM pg_class c
WHERE c.relnamespace = 'pgqueuer'::regnamespace
  AND c.relname IN ('pgqueuer', 'pgqueuer_log_default', 'pgqueuer_statistics', 'pgqueuer_schedules')
ORDER BY c.relname;

CREATE TEMP VIEW settings AS
SELECT name, value FROM pgqueuer.pgqueuer_settings
 WHERE name <> 'statistics_folded_until' ORDER BY name;

-- a fresh installation is durable, has no settings (but the statistics
-- watermark, which the view leaves out) and is healthy
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;
SELECT * FROM pgqueuer.verify();

-- what the scripts created (verify() compares with the definitions they
-- recorded in pgqueuer_catalog, so these counts are only a summary)
SELECT
  (SELECT count(*) FROM pg_class c
    WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relkind = 'r') AS tables,
  (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relkind = 'r'
      AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
  (SELECT count(*) FROM pg_class c
    WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relkind = 'i') AS indexes,
  (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'pgqueuer'::regnamespace AND NOT t.tgisinternal) AS triggers,
  (SELECT count(*) FROM pg_proc p
    WHERE p.pronamespace = 'pgqueuer'::regnamespace) AS functions;

--
-- set_durability
--

-- jobs, history and a schedule that must survive every switch
INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'x');
INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'x');
INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint) VALUES (1, 'queued', 'y');
INSERT INTO pgqueuer.pgqueuer_log (job_id, status, priority, entrypoint) VALUES (1, 'queued', 0, 'x');
INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'x');

-- already durable: nothing to do
SELECT * FROM pgqueuer.set_durability('durable', dry_run => true);

-- a dry run returns the statements and changes nothing
SELECT * FROM pgqueuer.set_durability('volatile', dry_run => true);
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;

-- volatile: everything UNLOGGED, the level is stored
SELECT * FROM pgqueuer.set_durability('volatile');
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;
SELECT count(*) FROM pgqueuer.pgqueuer;
SELECT count(*) FROM pgqueuer.pgqueuer_log;
SELECT count(*) FROM pgqueuer.pgqueuer_schedules;
SELECT * FROM pgqueuer.verify();

-- the same level again: no statements, nothing changes
SELECT * FROM pgqueuer.set_durability('volatile');
SELECT relname, relpersistence FROM tables_state;

-- balanced: queue and schedules back to LOGGED
SELECT * FROM pgqueuer.set_durability('balanced', true);
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM pgqueuer.set_durability('balanced');
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;
SELECT count(*) FROM pgqueuer.pgqueuer;
SELECT * FROM pgqueuer.verify();

-- durable: log and statistics back to LOGGED
SELECT * FROM pgqueuer.set_durability('durable', true);
SELECT * FROM pgqueuer.set_durability('durable');
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;

-- from durable straight to balanced and volatile, then back
SELECT * FROM pgqueuer.set_durability('balanced');
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM pgqueuer.set_durability('volatile');
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM pgqueuer.set_durability('durable');
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;

-- no row was lost on the way
SELECT entrypoint, priority, status FROM pgqueuer.pgqueuer ORDER BY id;
SELECT job_id, status FROM pgqueuer.pgqueuer_log;
SELECT expression, entrypoint FROM pgqueuer.pgqueuer_schedules;

-- the switch is transactional
BEGIN;
SELECT * FROM pgqueuer.set_durability('volatile');
SELECT relname, relpersistence FROM tables_state;
ROLLBACK;
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;

-- errors
SELECT * FROM pgqueuer.set_durability('fast');
SELECT * FROM pgqueuer.set_durability('Durable', true);
SELECT * FROM pgqueuer.set_durability(NULL);
SELECT * FROM pgqueuer.set_durability('durable', NULL);
\set VERBOSITY sqlstate
SELECT * FROM pgqueuer.set_durability('fast');
SELECT * FROM pgqueuer.set_durability(NULL);
\set VERBOSITY default
SELECT relname, relpersistence FROM tables_state;
SELECT * FROM settings;

-- the admin role may switch (the functions run as the extension's owner),
-- but not write the settings table directly
SET ROLE pgqueuer_admin;
SELECT * FROM pgqueuer.set_durability('balanced');
SELECT * FROM pgqueuer.verify();
SELECT * FROM pgqueuer.set_durability('durable');
UPDATE pgqueuer.pgqueuer_settings SET value = 'volatile' WHERE name = 'durability';
RESET ROLE;
SELECT relname, relpersistence FROM tables_state;

--
-- autovac
--

-- a dry run returns the statements and changes nothing
SELECT * FROM pgqueuer.autovac(dry_run => true);
SELECT relname, reloptions FROM tables_state;
SELECT * FROM settings;

-- apply: the storage parameters are set, the choice is stored
SELECT * FROM pgqueuer.autovac();
SELECT relname, reloptions FROM tables_state;
SELECT * FROM settings;
SELECT * FROM pgqueuer.verify();

-- applying again gives the same statements and the same result
SELECT count(*) FROM pgqueuer.autovac();
SELECT relname, reloptions FROM tables_state;

-- the parameters survive a durability switch (the table is rewritten)
SELECT * FROM pgqueuer.set_durability('volatile');
SELECT relname, relpersistence, reloptions FROM tables_state;
SELECT * FROM pgqueuer.set_durability('durable');

-- rollback: dry run, then for real
SELECT * FROM pgqueuer.autovac(rollback => true, dry_run => true);
SELECT relname, reloptions FROM tables_state;
SELECT * FROM pgqueuer.autovac(rollback => true);
SELECT relname, reloptions FROM tables_state;
SELECT * FROM settings;
SELECT * FROM pgqueuer.verify();

-- only the parameters autovac sets are reset
ALTER TABLE pgqueuer.pgqueuer_log_default SET (fillfactor = 90);
SELECT * FROM pgqueuer.autovac(rollback => true);
SELECT relname, reloptions FROM tables_state;
ALTER TABLE pgqueuer.pgqueuer_log_default RESET (fillfactor);

-- errors
SELECT * FROM pgqueuer.autovac(NULL);
SELECT * FROM pgqueuer.autovac(false, NULL);

--
-- The settings trigger: a row written directly (as pg_restore does) is
-- applied to the tables
--
BEGIN;
DELETE FROM pgqueuer.pgqueuer_settings;
COPY pgqueuer.pgqueuer_settings (name, value, updated) FROM stdin;
autovac	on	2024-01-01 00:00:00+00
durability	balanced	2024-01-01 00:00:00+00
\.
SELECT relname, relpersistence, reloptions FROM tables_state;
SELECT * FROM pgqueuer.verify();
UPDATE pgqueuer.pgqueuer_settings SET value = 'volatile' WHERE name = 'durability';
SELECT relname, relpersistence FROM tables_state;
ROLLBACK;
SELECT relname, relpersistence, reloptions FROM tables_state;

-- other settings are left alone
BEGIN;
INSERT INTO pgqueuer.pgqueuer_settings (name, value) VALUES ('deferred_notified_until', 'anything');
SELECT relname, relpersistence, reloptions FROM tables_state;
ROLLBACK;

-- invalid stored values are refused
UPDATE pgqueuer.pgqueuer_settings SET value = 'fast' WHERE name = 'durability';
UPDATE pgqueuer.pgqueuer_settings SET value = 'maybe' WHERE name = 'autovac';
BEGIN;
DELETE FROM pgqueuer.pgqueuer_settings;
INSERT INTO pgqueuer.pgqueuer_settings (name, value) VALUES ('durability', 'Volatile');
ROLLBACK;
SELECT * FROM settings;

--
-- verify: break one thing at a time
--
SELECT * FROM pgqueuer.verify();

-- a dropped column (and the index that used it)
BEGIN;
ALTER TABLE pgqueuer.pgqueuer DROP COLUMN heartbeat;
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a wrong type and a wrong nullability
BEGIN;
ALTER TABLE pgqueuer.pgqueuer ALTER COLUMN priority TYPE bigint;
ALTER TABLE pgqueuer.pgqueuer_log ALTER COLUMN aggregated SET NOT NULL;
ALTER TABLE pgqueuer.pgqueuer_schedules ALTER COLUMN last_run TYPE timestamp(0) with time zone;
ALTER TABLE pgqueuer.pgqueuer_entrypoints ALTER COLUMN paused DROP NOT NULL;
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a dropped index, a unique index that is not unique any more
BEGIN;
DROP INDEX pgqueuer.pgqueuer_deferred_idx;
DROP INDEX pgqueuer.pgqueuer_statistics_unique_count;
CREATE INDEX pgqueuer_statistics_unique_count ON pgqueuer.pgqueuer_statistics (priority);
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a missing table
BEGIN;
ALTER EXTENSION pgqueuer DROP TABLE pgqueuer.pgqueuer_rate_grants;
DROP TABLE pgqueuer.pgqueuer_rate_grants;
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a disabled or replica-only notify trigger, a statement-level settings
-- trigger
BEGIN;
ALTER TABLE pgqueuer.pgqueuer DISABLE TRIGGER tg_pgqueuer_changed;
SELECT * FROM pgqueuer.verify();
ALTER TABLE pgqueuer.pgqueuer ENABLE REPLICA TRIGGER tg_pgqueuer_changed;
DROP TRIGGER settings_apply ON pgqueuer.pgqueuer_settings;
CREATE TRIGGER settings_apply AFTER INSERT OR UPDATE ON pgqueuer.pgqueuer_settings
	FOR EACH STATEMENT EXECUTE FUNCTION pgqueuer.settings_apply();
SELECT * FROM pgqueuer.verify();
-- (and the function refuses to run as a statement trigger)
UPDATE pgqueuer.pgqueuer_settings SET updated = now();
ROLLBACK;

-- a missing trigger
BEGIN;
DROP TRIGGER tg_pgqueuer_changed ON pgqueuer.pgqueuer;
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a missing function
BEGIN;
ALTER EXTENSION pgqueuer DROP FUNCTION pgqueuer.pause(text);
DROP FUNCTION pgqueuer.pause(text);
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- an extra enum label
BEGIN;
ALTER TYPE pgqueuer.pgqueuer_status ADD VALUE 'archived';
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- persistence changed behind set_durability's back
BEGIN;
ALTER TABLE pgqueuer.pgqueuer_log_s07 SET UNLOGGED;
SELECT * FROM pgqueuer.verify();
ROLLBACK;
BEGIN;
SELECT count(*) FROM pgqueuer.set_durability('balanced');
ALTER TABLE pgqueuer.pgqueuer_schedules SET UNLOGGED;
ALTER TABLE pgqueuer.pgqueuer_statistics SET LOGGED;
SELECT * FROM pgqueuer.verify();
-- set_durability repairs it
SELECT * FROM pgqueuer.set_durability('balanced');
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a stored level that was not applied
BEGIN;
ALTER TABLE pgqueuer.pgqueuer_settings DISABLE TRIGGER settings_apply;
UPDATE pgqueuer.pgqueuer_settings SET value = 'volatile' WHERE name = 'durability';
SELECT * FROM pgqueuer.verify();
UPDATE pgqueuer.pgqueuer_settings SET value = 'fast' WHERE name = 'durability';
UPDATE pgqueuer.pgqueuer_settings SET value = 'maybe' WHERE name = 'autovac';
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- a damaged settings table does not make verify() fail
BEGIN;
DROP VIEW settings;
ALTER TABLE pgqueuer.pgqueuer_settings DROP COLUMN value;
SELECT * FROM pgqueuer.verify();
ROLLBACK;

-- storage parameters changed behind autovac's back
BEGIN;
SELECT count(*) FROM pgqueuer.autovac();
ALTER TABLE pgqueuer.pgqueuer RESET (fillfactor);
ALTER TABLE pgqueuer.pgqueuer_log_s07 SET (autovacuum_vacuum_threshold = 500);
SELECT * FROM pgqueuer.verify();
ROLLBACK;
BEGIN;
ALTER TABLE pgqueuer.pgqueuer_schedules SET (fillfactor = 70);
SELECT * FROM pgqueuer.verify();
ROLLBACK;

--
-- repair: restore what verify() reports
--
CREATE ROLE pgq_admin_user IN ROLE pgqueuer_admin;
CREATE ROLE pgq_worker_user IN ROLE pgqueuer_worker;
BEGIN;
-- a function's settings and security, a column, a redefined and a missing
-- index, a missing trigger, a missing function
ALTER FUNCTION pgqueuer.pause(text) RESET search_path;
ALTER FUNCTION pgqueuer.queue_size() SECURITY INVOKER;
ALTER TABLE pgqueuer.pgqueuer ALTER COLUMN attempts DROP DEFAULT;
DROP INDEX pgqueuer.pgqueuer_ep_ea_idx;
CREATE INDEX pgqueuer_ep_ea_idx ON pgqueuer.pgqueuer (execute_after);
DROP INDEX pgqueuer.pgqueuer_log_created;
DROP TRIGGER tg_pgqueuer_changed ON pgqueuer.pgqueuer;
ALTER EXTENSION pgqueuer DROP FUNCTION pgqueuer.resume(text);
DROP FUNCTION pgqueuer.resume(text);
-- and an index the extension does not define
CREATE INDEX pgq_extra_idx ON pgqueuer.pgqueuer (priority);
SELECT * FROM pgqueuer.verify();
SELECT * FROM pgqueuer.repair(dry_run => true);
SELECT count(*) AS still_broken FROM pgqueuer.verify();
SET ROLE pgq_admin_user;
SELECT * FROM pgqueuer.repair();
RESET ROLE;
SELECT * FROM pgqueuer.verify();
-- the restored function is a member again, with its grants and comment
SELECT has_function_privilege('pgqueuer_admin', 'pgqueuer.resume(text)', 'EXECUTE') AS admin_may,
       has_function_privilege('pgqueuer_worker', 'pgqueuer.resume(text)', 'EXECUTE') AS worker_may,
       obj_description('pgqueuer.resume(text)'::regprocedure) IS NOT NULL AS commented,
       EXISTS (SELECT FROM pg_depend WHERE objid = 'pgqueuer.resume(text)'::regprocedure
               AND deptype = 'e') AS member;
-- an object that cannot be restored is named, the others are restored
SAVEPOINT s;
ALTER TABLE pgqueuer.pgqueuer DROP COLUMN priority;
DROP INDEX pgqueuer.pgqueuer_log_status;
SELECT * FROM pgqueuer.repair();
SELECT * FROM pgqueuer.verify();
ROLLBACK TO SAVEPOINT s;
-- a changed enum cannot be repaired automatically
ALTER TYPE pgqueuer.pgqueuer_status ADD VALUE 'archived';
SELECT * FROM pgqueuer.repair(dry_run => true);
ROLLBACK;
-- a damaged snapshot is reported, not raised
BEGIN;
ALTER TABLE pgqueuer.pgqueuer_catalog DROP COLUMN definition;
SELECT * FROM pgqueuer.verify();
ROLLBACK;
-- bad arguments, a role that is not an admin
SELECT * FROM pgqueuer.repair(NULL);
SET ROLE pgq_worker_user;
SELECT * FROM pgqueuer.repair(dry_run => true);
SELECT * FROM pgqueuer.catalog_drift();
RESET ROLE;
DROP ROLE pgq_admin_user;
DROP ROLE pgq_worker_user;

-- everything was rolled back
SELECT * FROM pgqueuer.verify();
SELECT relname, relpersistence, reloptions FROM tables_state;
SELECT * FROM settings;

DROP VIEW tables_state;
DROP VIEW settings;
DROP EXTENSION pgqueuer;
