-- Every name in the extension's SQL is schema-qualified (SECURITY.md,
-- section 1).  Proof: schema pgq_trap shadows the operators, types and
-- functions that the SQL issued from C uses with ones that raise, and every
-- function of the extension is made to run with pgq_trap first on its
-- search_path.  An unqualified name anywhere would resolve into pgq_trap
-- and fail; then every function is called, down every path.
CREATE EXTENSION pgqueuer;
CREATE SCHEMA pgq_trap;
CREATE FUNCTION pgq_trap.sprung(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'trap sprung: %', what;
END
$$;

-- operators with the exact argument types the extension's SQL compares
DO $$
DECLARE
	o record;
	n integer := 0;
BEGIN
	FOR o IN SELECT * FROM (VALUES
		('=', 'bigint', 'bigint'), ('=', 'integer', 'integer'), ('=', 'smallint', 'smallint'),
		('=', 'text', 'text'), ('=', 'name', 'name'), ('=', 'name', 'text'), ('=', 'text', 'name'),
		('=', 'uuid', 'uuid'), ('=', 'oid', 'oid'), ('=', 'oid', 'regclass'), ('=', 'boolean', 'boolean'),
		('=', '"char"', '"char"'), ('=', 'timestamptz', 'timestamptz'), ('=', 'text[]', 'text[]'),
		('=', 'oidvector', 'oidvector'),
		('=', 'pgqueuer.pgqueuer_status', 'pgqueuer.pgqueuer_status'),
		('<>', 'text', 'text'), ('<>', 'name', 'name'), ('<>', 'name', 'text'), ('<>', '"char"', '"char"'),
		('<>', 'boolean', 'boolean'), ('<>', 'integer', 'integer'), ('<>', 'smallint', 'smallint'),
		('<>', 'numeric', 'numeric'), ('<>', 'oid', 'oid'),
		('<', 'bigint', 'bigint'), ('<', 'integer', 'integer'), ('<', 'timestamptz', 'timestamptz'),
		('<=', 'timestamptz', 'timestamptz'), ('<=', 'interval', 'interval'),
		('>', 'integer', 'integer'), ('>', 'bigint', 'bigint'), ('>', 'timestamptz', 'timestamptz'),
		('>', 'interval', 'interval'), ('>', 'double precision', 'double precision'),
		('>', 'double precision', 'integer'), ('>', 'smallint', 'smallint'),
		('>=', 'integer', 'integer'), ('>=', 'bigint', 'bigint'),
		('+', 'integer', 'integer'), ('+', 'bigint', 'bigint'), ('+', 'bigint', 'integer'),
		('+', 'timestamptz', 'interval'),
		('-', 'timestamptz', 'interval'), ('-', 'timestamptz', 'timestamptz'),
		('*', 'interval', 'double precision'), ('*', 'double precision', 'integer'),
		('||', 'text', 'text'), ('||', 'text', 'integer'), ('||', 'text', 'bigint'),
		('&', 'integer', 'integer'), ('&', 'smallint', 'integer'), ('->>', 'jsonb', 'text')
	) AS t(op, l, r) LOOP
		n := n + 1;
		EXECUTE format('CREATE FUNCTION pgq_trap.op%s(%s, %s) RETURNS boolean LANGUAGE plpgsql AS %L',
					   n, o.l, o.r,
					   format('BEGIN RETURN pgq_trap.sprung(%L); END', 'operator ' || o.op || '(' || o.l || ', ' || o.r || ')'));
		EXECUTE format('CREATE OPERATOR pgq_trap.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = pgq_trap.op%s)',
					   o.op, o.l, o.r, n);
	END LOOP;
END
$$;

-- types that the SQL casts to: a domain of the same name that refuses every value
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['text', 'int8', 'int4', 'int2', 'bool', 'float8', 'jsonb', 'uuid',
							 'bytea', 'timestamptz', 'numeric', 'oid', 'regclass', 'char', 'name'] LOOP
		EXECUTE format('CREATE DOMAIN pgq_trap.%I AS pg_catalog.%I CHECK (pgq_trap.sprung(%L))',
					   t, t, 'type ' || t);
	END LOOP;
END
$$;

-- functions and an aggregate with the same signature as pg_catalog's
CREATE FUNCTION pgq_trap.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM pgq_trap.sprung('now()'); RETURN NULL; END $$;
CREATE FUNCTION pgq_trap.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql AS $$
BEGIN PERFORM pgq_trap.sprung('unnest(anyarray)'); END $$;
CREATE FUNCTION pgq_trap.power(double precision, double precision) RETURNS double precision
LANGUAGE plpgsql AS $$ BEGIN PERFORM pgq_trap.sprung('power()'); RETURN 0; END $$;
CREATE FUNCTION pgq_trap.count_step(bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM pgq_trap.sprung('count(*)'); RETURN 0; END $$;
CREATE AGGREGATE pgq_trap.count(*) (SFUNC = pgq_trap.count_step, STYPE = bigint);

-- the traps work where pgq_trap is on search_path
SET search_path = pgq_trap, pg_catalog;
\set SHOW_CONTEXT never
SELECT 1::bigint = 1::bigint;
SELECT 'x'::text;
SELECT now();
RESET search_path;

-- every function of the extension runs with pgq_trap first
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'pgqueuer'::regnamespace LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pgq_trap, pg_catalog, pg_temp', f);
	END LOOP;
END
$$;
SELECT count(*) AS functions_on_trap FROM pg_proc
 WHERE pronamespace = 'pgqueuer'::regnamespace
   AND proconfig = ARRAY['search_path=pgq_trap, pg_catalog, pg_temp'];

-- a fresh session: no statement of the extension is prepared yet
\c
\set SHOW_CONTEXT errors
CREATE ROLE pgq_trap_client LOGIN;
SELECT pgqueuer.register_entrypoint('tr_limited', concurrency_limit => 2,
	requests_per_second => 100, max_attempts => 1, on_failure => 'hold');
SELECT pgqueuer.register_entrypoint('tr_free');
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['tr_limited', 'tr_limited', 'tr_limited', 'tr_free'],
	payloads => ARRAY['\x01', NULL, NULL, NULL]::bytea[], priorities => ARRAY[1, 2, 3, 4],
	execute_after => ARRAY['0', '0', '0', '0']::interval[],
	dedupe_keys => ARRAY['k1', NULL, NULL, NULL], headers => ARRAY['{"a": 1}', NULL, NULL, NULL]::jsonb[],
	on_conflict => 'skip');
SELECT pgqueuer.enqueue('tr_free', dedupe_key => 'k1', on_conflict => 'skip') IS NULL AS skipped;
SELECT pgqueuer.enqueue('tr_free', dedupe_key => 'k2') > 0 AS enqueued;
SELECT pgqueuer.enqueue('tr_deferred', execute_after => '1 hour') > 0 AS deferred;
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['tr_limited', 'tr_free'],
	'00000000-0000-0000-0000-00000000000a', max_concurrent => 10);
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['tr_limited'], '00000000-0000-0000-0000-00000000000c');
SELECT pgqueuer.heartbeat(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE status = 'picked'),
	'00000000-0000-0000-0000-00000000000a');
-- both forms of complete(): deletions only, then exception and failed
SELECT count(*) FROM pgqueuer.complete(
	ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'tr_free' AND status = 'picked' ORDER BY id),
	ARRAY['successful', 'deleted']::pgqueuer.pgqueuer_status[],
	ARRAY['{"t": 1}', NULL]::jsonb[], '00000000-0000-0000-0000-00000000000a');
SELECT count(*) FROM pgqueuer.complete(
	ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'tr_limited' AND status = 'picked' ORDER BY id),
	ARRAY['exception', 'failed']::pgqueuer.pgqueuer_status[]);
SELECT count(*) FROM pgqueuer.requeue(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE status = 'failed'));
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['tr_limited'], '00000000-0000-0000-0000-00000000000a');
SELECT pgqueuer.retry((SELECT min(id) FROM pgqueuer.pgqueuer WHERE status = 'picked'), '1 second',
	'{"r": 1}', '00000000-0000-0000-0000-00000000000a');
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['tr_limited'], '00000000-0000-0000-0000-00000000000a');
-- expired leases, a deferred job now due, a due schedule, old history
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 day' WHERE status = 'picked';
UPDATE pgqueuer.pgqueuer SET created = now() - interval '1 hour', execute_after = now() - interval '1 second'
 WHERE entrypoint = 'tr_deferred';
SELECT pgqueuer.schedule('tr_cron', '* * * * *', '\x02', 5) > 0 AS scheduled;
SELECT pgqueuer.schedule('tr_cron', '* * * * *', '\x03', 6) > 0 AS rescheduled;
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 minute' WHERE entrypoint = 'tr_cron';
INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
VALUES (now() - interval '30 days', 0, 'successful', 0, 'tr_old', true);
INSERT INTO pgqueuer.pgqueuer_statistics (created, count, priority, status, entrypoint)
VALUES (now() - interval '30 days', 1, 0, 'successful', 'tr_old');
-- history for the time fold: rows older than its horizon, watermark before them
UPDATE pgqueuer.pgqueuer_log SET created = created - interval '1 minute' WHERE aggregated IS NULL;
UPDATE pgqueuer.pgqueuer_settings SET value = '0' WHERE name = 'statistics_folded_until';
SELECT duty, rows > 0 AS did_work FROM pgqueuer.run_maintenance() ORDER BY duty;
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['tr_limited', 'tr_free', 'tr_cron', 'tr_deferred'],
	'00000000-0000-0000-0000-00000000000d');
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 day' WHERE status = 'picked';
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['tr_cron', 'tr_deferred', 'tr_limited'],
	'00000000-0000-0000-0000-00000000000e');
SELECT count(*) > 0 AS has_stats FROM pgqueuer.log_statistics(10, '1 day');
SELECT count(*) > 0 AS has_stats FROM pgqueuer.log_statistics();
SELECT count(*) > 0 AS sized FROM pgqueuer.queue_size();
SELECT count(*) > 0 AS logged FROM pgqueuer.job_status(ARRAY(SELECT job_id FROM pgqueuer.pgqueuer_log));
-- the dashboard's reads, while jobs are in every state
SELECT count(*) > 0 AS summarized FROM pgqueuer.entrypoint_summary();
SELECT count(*) > 0 AS listed FROM pgqueuer.list_jobs(entrypoints => ARRAY['tr_limited'], max_rows => 5);
SELECT count(*) = 1 AS detailed FROM pgqueuer.job_detail((SELECT min(id) FROM pgqueuer.pgqueuer));
SELECT count(*) > 0 AS history FROM pgqueuer.job_history((SELECT min(job_id) FROM pgqueuer.pgqueuer_log));
SELECT count(*) >= 0 AS workers FROM pgqueuer.workers();
SELECT count(*) > 0 AS metrics FROM pgqueuer.metrics();
-- the lookups of the clients (1.1)
SELECT count(*) AS leases FROM pgqueuer.entrypoint_leases(ARRAY['tr_limited', 'tr_new']);
SELECT pgqueuer.next_due(ARRAY['tr_limited', 'tr_free', 'tr_cron', 'tr_deferred']) IS NULL AS none_due;
SELECT count(*) > 0 AS not_held FROM pgqueuer.jobs_not_held(ARRAY(SELECT id FROM pgqueuer.pgqueuer),
	'00000000-0000-0000-0000-0000000000ff');
SELECT pgqueuer.current_durability();
SELECT count(*) > 0 AS canceled FROM pgqueuer.cancel(ARRAY(SELECT id FROM pgqueuer.pgqueuer));
SELECT pgqueuer.pause('tr_free'), pgqueuer.pause('tr_new'), pgqueuer.resume('tr_free');
SELECT pgqueuer.cron_next('*/5 * * * *', '2026-01-01 00:00:01+00');
SELECT count(*) = 1 AS schedules FROM pgqueuer.list_schedules();
SELECT pgqueuer.set_schedule_enabled((SELECT id FROM pgqueuer.pgqueuer_schedules), false) AS disabled;
SELECT pgqueuer.unschedule('tr_cron'), pgqueuer.unschedule(0::bigint);
SELECT count(*) > 0 AS switched FROM pgqueuer.set_durability('volatile');
SELECT count(*) > 0 AS switched FROM pgqueuer.set_durability('durable');
SELECT count(*) > 0 AS tuned FROM pgqueuer.autovac();
SELECT count(*) > 0 AS reset FROM pgqueuer.autovac(rollback => true);
-- every function's search_path was changed above, which verify() reports
-- as drift and repair() would undo (its output depends on the search_path
-- of catalog_definitions() itself, so only the one line is checked)
SELECT count(*) AS drift_reported FROM pgqueuer.verify()
 WHERE verify LIKE 'function pgqueuer.verify() has settings search\_path=pgq\_trap, pg\_catalog, pg\_temp, expected %';
SELECT count(*) > 0 AS statements FROM pgqueuer.repair(dry_run => true);
SELECT pgqueuer.grant_pgqueuer_client_access('pgq_trap_client');
SELECT pgqueuer.revoke_pgqueuer_client_access('pgq_trap_client');
-- the trigger of the queue table, fired by a write outside the functions
INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'tr_raw');

-- back to the extension's own setting
\c
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'pgqueuer'::regnamespace LOOP
		EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
	END LOOP;
END
$$;
-- and nothing differs from what the scripts created
SELECT * FROM pgqueuer.verify();
DROP SCHEMA pgq_trap CASCADE;
DROP ROLE pgq_trap_client;
DROP EXTENSION pgqueuer;
DROP SCHEMA pgqueuer;
