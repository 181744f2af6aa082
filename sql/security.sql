-- Privileges: nothing for PUBLIC; producer, worker and admin roles, tested
-- with SET ROLE; a schema prepared by an untrusted role is refused.
CREATE EXTENSION pgqueuer;
CREATE ROLE pgq_test_producer LOGIN IN ROLE pgqueuer_producer;
CREATE ROLE pgq_test_worker LOGIN IN ROLE pgqueuer_worker;
CREATE ROLE pgq_test_admin LOGIN IN ROLE pgqueuer_admin;
CREATE ROLE pgq_test_nobody LOGIN;

-- PUBLIC can execute nothing but the trigger functions
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'pgqueuer'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relkind IN ('r', 'S')
   AND has_table_privilege('pgq_test_nobody', c.oid, 'SELECT') ORDER BY 1;

-- a role without grants gets nothing
SET ROLE pgq_test_nobody;
\set SHOW_CONTEXT never
SELECT pgqueuer.enqueue('x');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgqueuer.pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
RESET ROLE;

-- producer: enqueue and inspect, no dequeue, no tables, no admin
SET ROLE pgq_test_producer;
SELECT pgqueuer.enqueue('job') AS id;
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['job', 'job']);
SELECT sum(count) FROM pgqueuer.queue_size();
SELECT count(*) FROM pgqueuer.job_status(ARRAY[1]);
SELECT pgqueuer.cron_next('@daily', '2026-01-01 12:00+00') IS NOT NULL AS cron_ok;
SELECT * FROM pgqueuer.dequeue(1, ARRAY['job'], '00000000-0000-0000-0000-000000000001');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pgqueuer.pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.pause('job');
\echo sqlstate :LAST_ERROR_SQLSTATE
RESET ROLE;

-- worker: dequeue, complete, heartbeat, retry, register; tables for PgQueuer's client; no admin
SET ROLE pgq_test_worker;
SELECT pgqueuer.register_entrypoint('job', concurrency_limit => 2);
SELECT id FROM pgqueuer.dequeue(2, ARRAY['job'], '00000000-0000-0000-0000-000000000001');
SELECT pgqueuer.heartbeat(ARRAY[1, 2], '00000000-0000-0000-0000-000000000001');
SELECT pgqueuer.retry(2, queue_manager_id => '00000000-0000-0000-0000-000000000001');
SELECT * FROM pgqueuer.complete(ARRAY[1], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT count(*) FROM pgqueuer.pgqueuer;
SELECT count(*) > 0 AS has_stats FROM pgqueuer.log_statistics();
SELECT * FROM pgqueuer.cancel(ARRAY[2]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.set_durability('volatile');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.run_maintenance();
\echo sqlstate :LAST_ERROR_SQLSTATE
UPDATE pgqueuer.pgqueuer_entrypoints SET concurrency_limit = 100;
\echo sqlstate :LAST_ERROR_SQLSTATE
RESET ROLE;

-- admin: everything
SET ROLE pgq_test_admin;
SELECT pgqueuer.pause('job');
SELECT pgqueuer.resume('job');
SELECT * FROM pgqueuer.cancel(ARRAY[2]);
SELECT count(*) FROM pgqueuer.requeue(ARRAY[2]);
SELECT pgqueuer.schedule('job', '@hourly') > 0 AS scheduled;
SELECT pgqueuer.unschedule('job');
SELECT count(*) FROM pgqueuer.set_durability('durable', dry_run => true);
SELECT count(*) > 0 AS autovac_ok FROM pgqueuer.autovac(dry_run => true);
SELECT count(*) FROM pgqueuer.verify();
SELECT count(*) FROM pgqueuer.run_maintenance();
RESET ROLE;
\set SHOW_CONTEXT errors

DROP EXTENSION pgqueuer;

-- a schema pre-created by an untrusted role is refused
DROP SCHEMA pgqueuer;
CREATE SCHEMA pgqueuer AUTHORIZATION pgq_test_nobody;
\set SHOW_CONTEXT never
CREATE EXTENSION pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
DROP SCHEMA pgqueuer;

DROP ROLE pgq_test_producer, pgq_test_worker, pgq_test_admin, pgq_test_nobody;
