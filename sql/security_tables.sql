-- Table privileges around the functions (SECURITY.md, section 3): the
-- three roles write only through the functions; the table writes of an
-- unmodified PgQueuer client are an explicit opt-in for a named role; the
-- background worker's sweeps skip and report rows written with values the
-- extension never writes.  Every attempt is made by a login role.
SELECT current_user AS superuser \gset
CREATE EXTENSION pgqueuer;
CREATE ROLE pgq_t_producer LOGIN IN ROLE pgqueuer_producer;
CREATE ROLE pgq_t_worker LOGIN IN ROLE pgqueuer_worker;
CREATE ROLE pgq_t_admin LOGIN IN ROLE pgqueuer_admin;
CREATE ROLE pgq_t_client LOGIN;

-- try(sql): 'ok', or the SQLSTATE the statement failed with
CREATE FUNCTION public.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION public.try(text) TO PUBLIC;
-- the writes tried on every table
CREATE TABLE public.writes (tab text, op text, sql text);
INSERT INTO public.writes VALUES
 ('pgqueuer', 'insert', $$INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'w')$$),
 ('pgqueuer', 'update', $$UPDATE pgqueuer.pgqueuer SET priority = 9$$),
 ('pgqueuer', 'delete', $$DELETE FROM pgqueuer.pgqueuer$$),
 ('pgqueuer', 'nextval', $$SELECT nextval('pgqueuer.pgqueuer_id_seq')$$),
 ('pgqueuer_log', 'insert', $$INSERT INTO pgqueuer.pgqueuer_log (job_id, status, priority, entrypoint) VALUES (1, 'successful', 0, 'w')$$),
 ('pgqueuer_log', 'update', $$UPDATE pgqueuer.pgqueuer_log SET aggregated = true$$),
 ('pgqueuer_log', 'delete', $$DELETE FROM pgqueuer.pgqueuer_log$$),
 ('pgqueuer_log_s00', 'insert', $$INSERT INTO pgqueuer.pgqueuer_log_s00 (id, created, job_id, status, priority, entrypoint) VALUES (1, '2000-01-01 12:00+00', 1, 'successful', 0, 'w')$$),
 ('pgqueuer_log_s00', 'truncate', $$TRUNCATE pgqueuer.pgqueuer_log_s00$$),
 ('pgqueuer_log_default', 'delete', $$DELETE FROM pgqueuer.pgqueuer_log_default$$),
 ('pgqueuer_statistics', 'insert', $$INSERT INTO pgqueuer.pgqueuer_statistics (count, priority, status, entrypoint) VALUES (1, 0, 'successful', 'w')$$),
 ('pgqueuer_statistics', 'update', $$UPDATE pgqueuer.pgqueuer_statistics SET count = 0$$),
 ('pgqueuer_statistics', 'delete', $$DELETE FROM pgqueuer.pgqueuer_statistics$$),
 ('pgqueuer_schedules', 'insert', $$INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'w')$$),
 ('pgqueuer_schedules', 'insert server_fired', $$INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, server_fired) VALUES ('@daily', 'w', true)$$),
 ('pgqueuer_schedules', 'update', $$UPDATE pgqueuer.pgqueuer_schedules SET next_run = now()$$),
 ('pgqueuer_schedules', 'update entrypoint', $$UPDATE pgqueuer.pgqueuer_schedules SET entrypoint = 'other'$$),
 ('pgqueuer_schedules', 'delete', $$DELETE FROM pgqueuer.pgqueuer_schedules WHERE NOT server_fired$$),
 ('pgqueuer_entrypoints', 'insert', $$INSERT INTO pgqueuer.pgqueuer_entrypoints (entrypoint) VALUES ('w')$$),
 ('pgqueuer_entrypoints', 'update', $$UPDATE pgqueuer.pgqueuer_entrypoints SET concurrency_limit = 100$$),
 ('pgqueuer_entrypoints', 'delete', $$DELETE FROM pgqueuer.pgqueuer_entrypoints$$),
 ('pgqueuer_settings', 'insert', $$INSERT INTO pgqueuer.pgqueuer_settings (name, value) VALUES ('durability', 'volatile')$$),
 ('pgqueuer_settings', 'update', $$UPDATE pgqueuer.pgqueuer_settings SET value = 'volatile'$$),
 ('pgqueuer_settings', 'delete', $$DELETE FROM pgqueuer.pgqueuer_settings$$),
 ('pgqueuer_rate_grants', 'insert', $$INSERT INTO pgqueuer.pgqueuer_rate_grants VALUES ('w', now(), 1)$$),
 ('pgqueuer_rate_grants', 'delete', $$DELETE FROM pgqueuer.pgqueuer_rate_grants$$);
GRANT SELECT ON public.writes TO PUBLIC;
-- what each role can read (a partition of the log only through the log;
-- two stand for all seventeen)
CREATE VIEW public.reads AS
SELECT c.relname AS tab, public.try(pg_catalog.format('SELECT 1 FROM pgqueuer.%I LIMIT 1', c.relname)) AS sel
  FROM pg_class c WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relkind IN ('r', 'p')
   AND (NOT c.relispartition OR c.relname IN ('pgqueuer_log_s00', 'pgqueuer_log_default'));
GRANT SELECT ON public.reads TO PUBLIC;

-- something in every table for the UPDATEs and DELETEs to find
SELECT pgqueuer.register_entrypoint('t_rated', requests_per_second => 1000);
SELECT pgqueuer.enqueue('t_rated') AS job \gset
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['t_rated'], '00000000-0000-0000-0000-000000000001');
SELECT count(*) FROM pgqueuer.log_statistics();
SELECT pgqueuer.schedule('t_cron', '@hourly') > 0 AS scheduled;
SELECT count(*) FROM pgqueuer.set_durability('durable');

--
-- 1. The three roles: every write refused (42501), reads as before.
--
\c - pgq_t_producer
SELECT tab, op, public.try(sql) FROM public.writes;
SELECT * FROM public.reads ORDER BY tab;
\c - pgq_t_worker
SELECT tab, op, public.try(sql) FROM public.writes;
SELECT * FROM public.reads ORDER BY tab;
\c - pgq_t_admin
SELECT tab, op, public.try(sql) FROM public.writes;
SELECT * FROM public.reads ORDER BY tab;
\c - :superuser
-- nothing changed
SELECT count(*) AS jobs, min(priority) AS priority FROM pgqueuer.pgqueuer;
SELECT count(*) AS schedules FROM pgqueuer.pgqueuer_schedules;
SELECT value FROM pgqueuer.pgqueuer_settings WHERE name = 'durability';

--
-- 2. The opt-in: only an admin gives it, to a named role.
--
\set SHOW_CONTEXT never
\c - pgq_t_worker
SELECT pgqueuer.grant_pgqueuer_client_access('pgq_t_client');
\echo sqlstate :LAST_ERROR_SQLSTATE
\c - pgq_t_admin
SELECT pgqueuer.grant_pgqueuer_client_access(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.grant_pgqueuer_client_access('-');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.revoke_pgqueuer_client_access(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.grant_pgqueuer_client_access('pgq_t_client');
-- PgQueuer's writes, and nothing else
\c - pgq_t_client
SELECT tab, op, public.try(sql) FROM public.writes;
SELECT * FROM public.reads ORDER BY tab;
\c - pgq_t_admin
SELECT pgqueuer.revoke_pgqueuer_client_access('pgq_t_client');
\c - pgq_t_client
SELECT tab, op, public.try(sql) FROM public.writes WHERE public.try(sql) <> '42501';
SELECT * FROM public.reads WHERE sel <> '42501';
\c - pgq_t_admin
-- revoking from pgqueuer_worker leaves it its reads
SELECT pgqueuer.grant_pgqueuer_client_access('pgqueuer_worker');
SELECT pgqueuer.revoke_pgqueuer_client_access('pgqueuer_worker');
\c - pgq_t_worker
SELECT tab, op, public.try(sql) FROM public.writes WHERE public.try(sql) <> '42501';
SELECT * FROM public.reads WHERE sel <> 'ok';
\set SHOW_CONTEXT errors

--
-- 3. Rows written through the opt-in with values the extension never
--    writes: the sweeps skip them with a WARNING instead of acting on them
--    or failing; a valid row next to them is handled as usual.
--
\c - pgq_t_admin
SELECT pgqueuer.grant_pgqueuer_client_access('pgq_t_client');
SELECT date_trunc('second', now() - interval '1 hour') AS t0 \gset
\c - pgq_t_client
-- expired picked jobs: no owner, a negative attempt count, no entrypoint;
-- and a valid one
INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat, attempts) VALUES
 (0, 'picked', 't_bad', NULL, now() - interval '1 day', 0),
 (0, 'picked', 't_bad', '00000000-0000-0000-0000-000000000002', now() - interval '1 day', -7),
 (0, 'picked', '', '00000000-0000-0000-0000-000000000002', now() - interval '1 day', 0),
 (0, 'picked', 't_good', '00000000-0000-0000-0000-000000000002', now() - interval '1 day', 0);
-- a statistics bucket at the bigint maximum, and a log row that falls in it
INSERT INTO pgqueuer.pgqueuer_statistics (created, count, priority, status, entrypoint)
VALUES (:'t0', 9223372036854775807, 0, 'successful', 't_bad'),
       (:'t0', 1, 0, 'successful', 't_good');
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint)
VALUES (:'t0'::timestamptz + interval '0.5 second', 1, 'successful', 0, 't_bad'),
       (:'t0'::timestamptz + interval '0.5 second', 2, 'successful', 0, 't_good');
\c - :superuser
-- a server-fired schedule with no entrypoint, as a 1.0 worker role could write it
INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run, server_fired)
VALUES ('* * * * *', '', now() - interval '1 minute', true);
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty IN ('lease_expiry', 'statistics', 'schedules');
-- the invalid jobs are untouched, the valid one went back to the queue
SELECT entrypoint, status, attempts, queue_manager_id IS NULL AS no_owner
  FROM pgqueuer.pgqueuer WHERE entrypoint IN ('t_bad', 't_good', '') ORDER BY attempts, entrypoint;
-- the bucket at the maximum kept its count, the other one grew
SELECT entrypoint, count FROM pgqueuer.pgqueuer_statistics
 WHERE created = :'t0' ORDER BY entrypoint;
-- the schedule did not fire and is parked
SELECT next_run = 'infinity' AS parked FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = '';
SELECT count(*) AS fired FROM pgqueuer.pgqueuer WHERE entrypoint = '' AND status = 'queued';
-- each is reported once, not on every pass
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty IN ('lease_expiry', 'statistics', 'schedules');

DROP VIEW public.reads;
DROP EXTENSION pgqueuer;
DROP SCHEMA pgqueuer;
DROP TABLE public.writes;
DROP FUNCTION public.try(text);
DROP ROLE pgq_t_producer, pgq_t_worker, pgq_t_admin, pgq_t_client;
