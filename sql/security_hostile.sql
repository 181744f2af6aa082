-- Hostile arguments: every pgqueuer SQL function with NULLs, empty and
-- 1M-element arrays, extreme numbers and intervals, non-object JSON and odd
-- text.  Each call ends in an error with a SQLSTATE and a clear message, or
-- in a sensible result; none may crash the backend (run_suites.sh also
-- checks the server log for a backend that died).  Each case is run through
-- try(), which prints "ok N row(s), first ROW" or "ERROR SQLSTATE: message".
CREATE EXTENSION pgqueuer;

CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	n bigint;
	first text;
BEGIN
	EXECUTE format('SELECT count(*), left((array_agg(s::text))[1], 60) FROM (%s) AS s', q)
		INTO n, first;
	RETURN format('ok %s row(s)%s', n, CASE WHEN first IS NULL THEN '' ELSE ', first ' || first END);
EXCEPTION WHEN OTHERS THEN
	RETURN format('ERROR %s: %s', SQLSTATE, left(SQLERRM, 150));
END
$f$;

-- big inputs, built once
CREATE TEMP TABLE big AS SELECT
	(SELECT array_agg(i::bigint) FROM generate_series(1, 1000000) i) AS ids,
	(SELECT array_agg(CASE WHEN i < 1000000 THEN 'e' ELSE '' END) FROM generate_series(1, 1000000) i) AS eps_last_empty,
	(SELECT array_agg('dup'::text) FROM generate_series(1, 1000000) i) AS eps_dup,
	(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3000) i) AS random_96k,
	repeat('x', 1000000) AS long_1m;

CREATE TEMP TABLE cases (n serial, q text);
INSERT INTO cases (q) VALUES
-- enqueue
($$SELECT pgqueuer.enqueue(NULL)$$),
($$SELECT pgqueuer.enqueue('')$$),
($$SELECT pgqueuer.enqueue('e', priority => NULL)$$),
($$SELECT pgqueuer.enqueue('e', priority => 2147483647)$$),
($$SELECT pgqueuer.enqueue('e', priority => -2147483648)$$),
($$SELECT pgqueuer.enqueue('e', execute_after => '1000000 years')$$),
($$SELECT pgqueuer.enqueue('e', execute_after => '-1000000 years')$$),
($$SELECT pgqueuer.enqueue('e', execute_after => '36501 days')$$),
($$SELECT pgqueuer.enqueue('e', execute_after => '-5 minutes') IS NOT NULL$$),
($$SELECT pgqueuer.enqueue('e', execute_after => '178000000 years')$$),
($$SELECT pgqueuer.enqueue('e', headers => '[]')$$),
($$SELECT pgqueuer.enqueue('e', headers => '1')$$),
($$SELECT pgqueuer.enqueue('e', headers => 'null')$$),
($$SELECT pgqueuer.enqueue('e', headers => '"text"')$$),
($$SELECT pgqueuer.enqueue('e', headers => '{}') IS NOT NULL$$),
($$SELECT pgqueuer.enqueue('e', on_conflict => NULL)$$),
($$SELECT pgqueuer.enqueue('e', on_conflict => '')$$),
($$SELECT pgqueuer.enqueue('e', on_conflict => 'RAISE')$$),
($$SELECT pgqueuer.enqueue('e', dedupe_key => '') IS NOT NULL$$),
($$SELECT pgqueuer.enqueue('e', dedupe_key => (SELECT random_96k FROM big))$$),
($$SELECT pgqueuer.enqueue((SELECT random_96k FROM big))$$),
($$SELECT pgqueuer.enqueue((SELECT long_1m FROM big)) IS NOT NULL$$),
($$SELECT pgqueuer.enqueue(U&'\202E\FEFF\FFFF odd') IS NOT NULL$$),
($$SELECT pgqueuer.enqueue('e', payload => ''::bytea) IS NOT NULL$$),
-- enqueue_batch
($$SELECT * FROM pgqueuer.enqueue_batch(NULL)$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY[]::text[])$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY[NULL]::text[])$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY[['a'], ['b']])$$),
($$SELECT * FROM pgqueuer.enqueue_batch((SELECT eps_last_empty FROM big))$$),
($$SELECT * FROM pgqueuer.enqueue_batch((SELECT eps_dup FROM big), priorities => ARRAY[1])$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY['e', 'e'], execute_after => ARRAY['1 s', '1000000 years']::interval[])$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY['e', 'e'], headers => ARRAY['{}', '[1]']::jsonb[])$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY['e', 'e'], headers => ARRAY[NULL, 'null']::jsonb[])$$),
($$SELECT * FROM pgqueuer.enqueue_batch(ARRAY['e'], on_conflict => 'x')$$),
-- dequeue
($$SELECT id FROM pgqueuer.dequeue(NULL, ARRAY['e'], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(0, ARRAY['e'], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(-2147483648, ARRAY['e'], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(2147483647, ARRAY['none'], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(1, NULL, gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY[]::text[], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY[NULL]::text[], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY[['e']], gen_random_uuid())$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY['e'], NULL)$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY['e'], gen_random_uuid(), -1)$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY['e'], gen_random_uuid(), 0)$$),
($$SELECT id FROM pgqueuer.dequeue(1, (SELECT eps_dup FROM big), gen_random_uuid(), 2147483647)$$),
($$SELECT id FROM pgqueuer.dequeue(1, ARRAY[(SELECT long_1m FROM big)], gen_random_uuid())$$),
-- complete
($$SELECT * FROM pgqueuer.complete(NULL, ARRAY['successful']::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[1], NULL)$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[]::bigint[], ARRAY[]::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[1, 2], ARRAY['successful']::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[NULL]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[1], ARRAY[NULL]::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[1, 1], ARRAY['successful', 'successful']::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[1], ARRAY['queued']::pgqueuer.pgqueuer_status[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[1], ARRAY['successful']::pgqueuer.pgqueuer_status[], ARRAY['[]', '1']::jsonb[])$$),
($$SELECT * FROM pgqueuer.complete(ARRAY[9223372036854775807, -9223372036854775808], ARRAY['exception', 'failed']::pgqueuer.pgqueuer_status[], ARRAY['null', '[1]']::jsonb[])$$),
($$SELECT * FROM pgqueuer.complete((SELECT ids FROM big), (SELECT array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[1000000])))$$),
-- retry
($$SELECT pgqueuer.retry(NULL)$$),
($$SELECT pgqueuer.retry(1, NULL)$$),
($$SELECT pgqueuer.retry(1, '-1 s')$$),
($$SELECT pgqueuer.retry(1, '1000000 years')$$),
($$SELECT pgqueuer.retry(-9223372036854775808, '36500 days', '"text"')$$),
-- heartbeat
($$SELECT pgqueuer.heartbeat(NULL)$$),
($$SELECT pgqueuer.heartbeat(ARRAY[]::bigint[])$$),
($$SELECT pgqueuer.heartbeat(ARRAY[NULL]::bigint[])$$),
($$SELECT pgqueuer.heartbeat((SELECT ids FROM big), gen_random_uuid())$$),
-- requeue, cancel, job_status
($$SELECT * FROM pgqueuer.requeue(NULL)$$),
($$SELECT * FROM pgqueuer.requeue(ARRAY[]::bigint[])$$),
($$SELECT * FROM pgqueuer.requeue(ARRAY[[1], [2]])$$),
($$SELECT * FROM pgqueuer.requeue((SELECT ids FROM big))$$),
($$SELECT * FROM pgqueuer.cancel(NULL)$$),
($$SELECT * FROM pgqueuer.cancel(ARRAY[]::bigint[])$$),
($$SELECT * FROM pgqueuer.cancel(ARRAY[NULL]::bigint[])$$),
($$SELECT * FROM pgqueuer.cancel((SELECT ids FROM big) || ARRAY[9223372036854775807])$$),
($$SELECT * FROM pgqueuer.job_status(NULL)$$),
($$SELECT * FROM pgqueuer.job_status(ARRAY[]::bigint[])$$),
($$SELECT count(*) FROM pgqueuer.job_status((SELECT ids FROM big))$$),
-- register_entrypoint
($$SELECT pgqueuer.register_entrypoint(NULL)$$),
($$SELECT pgqueuer.register_entrypoint('')$$),
($$SELECT pgqueuer.register_entrypoint((SELECT random_96k FROM big))$$),
($$SELECT pgqueuer.register_entrypoint('r', concurrency_limit => -2147483648)$$),
($$SELECT pgqueuer.register_entrypoint('r', concurrency_limit => 2147483647)$$),
($$SELECT pgqueuer.register_entrypoint('r', lease_timeout => '0.5 s')$$),
($$SELECT pgqueuer.register_entrypoint('r', lease_timeout => '1000000 years')$$),
($$SELECT pgqueuer.register_entrypoint('r', lease_timeout => '-1000000 years')$$),
($$SELECT pgqueuer.register_entrypoint('r', lease_timeout => '365 days')$$),
($$SELECT pgqueuer.register_entrypoint('r', max_attempts => 2147483647)$$),
($$SELECT pgqueuer.register_entrypoint('r', max_attempts => -2147483648)$$),
($$SELECT pgqueuer.register_entrypoint('r', max_attempts => 1000000)$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => 'NaN')$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => 'Infinity')$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => '-Infinity')$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => 1e-12)$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => 1e300)$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => '-0')$$),
($$SELECT pgqueuer.register_entrypoint('r', requests_per_second => NULL)$$),
($$SELECT pgqueuer.register_entrypoint('r', retry_backoff_base => '1000000 years')$$),
($$SELECT pgqueuer.register_entrypoint('r', retry_backoff_max => '-1 s')$$),
($$SELECT pgqueuer.register_entrypoint('r', retry_backoff_base => '365 days', retry_backoff_max => '365 days', max_attempts => 1000000)$$),
($$SELECT pgqueuer.register_entrypoint('r', on_failure => NULL)$$),
($$SELECT pgqueuer.register_entrypoint('r', on_failure => '')$$),
-- pause, resume
($$SELECT pgqueuer.pause(NULL)$$),
($$SELECT pgqueuer.pause('')$$),
($$SELECT pgqueuer.pause(U&'\202E\FEFF')$$),
($$SELECT pgqueuer.resume(NULL)$$),
($$SELECT pgqueuer.resume('')$$),
($$SELECT pgqueuer.resume((SELECT long_1m FROM big))$$),
-- inspection
($$SELECT count(*) > 0 FROM pgqueuer.queue_size()$$),
($$SELECT * FROM pgqueuer.log_statistics(-1)$$),
($$SELECT * FROM pgqueuer.log_statistics(-2147483648)$$),
($$SELECT count(*) > 0 FROM pgqueuer.log_statistics(2147483647)$$),
($$SELECT * FROM pgqueuer.log_statistics(last => '-1 s')$$),
($$SELECT * FROM pgqueuer.log_statistics(last => '1000000 years')$$),
($$SELECT count(*) > 0 FROM pgqueuer.log_statistics(last => '36500 days')$$),
-- cron
($$SELECT pgqueuer.cron_next(NULL)$$),
($$SELECT pgqueuer.cron_next('')$$),
($$SELECT pgqueuer.cron_next((SELECT long_1m FROM big))$$),
($$SELECT pgqueuer.cron_next(U&'* * * * \FEFF')$$),
($$SELECT pgqueuer.cron_next('* * * * *', 'infinity')$$),
($$SELECT pgqueuer.cron_next('* * * * *', '-infinity')$$),
($$SELECT pgqueuer.cron_next('* * * * *', '294276-12-31 23:59:00+00')$$),
($$SELECT pgqueuer.cron_next('* * * * *', '4713-01-01 00:00:00+00 BC') AT TIME ZONE 'UTC'$$),
($$SELECT pgqueuer.cron_next('0 0 29 2 *', '2100-01-01 00:00:00+00') AT TIME ZONE 'UTC'$$),
($$SELECT pgqueuer.cron_next('*/2147483647 * * * *', '2026-01-01 00:00:00+00')$$),
($$SELECT pgqueuer.cron_next('99999999999999999999 * * * *', '2026-01-01 00:00:00+00')$$),
-- schedule, unschedule
($$SELECT pgqueuer.schedule(NULL, '@daily')$$),
($$SELECT pgqueuer.schedule('s', NULL)$$),
($$SELECT pgqueuer.schedule('', '@daily')$$),
($$SELECT pgqueuer.schedule('s', '')$$),
($$SELECT pgqueuer.schedule('s', (SELECT long_1m FROM big))$$),
($$SELECT pgqueuer.schedule('s', '@daily', priority => NULL)$$),
($$SELECT pgqueuer.schedule('s', '@daily', priority => -2147483648) > 0$$),
($$SELECT pgqueuer.schedule((SELECT random_96k FROM big), '@daily')$$),
($$SELECT pgqueuer.unschedule(NULL::bigint)$$),
($$SELECT pgqueuer.unschedule(NULL::text)$$),
($$SELECT pgqueuer.unschedule(-9223372036854775808)$$),
($$SELECT pgqueuer.unschedule('')$$),
-- durability, autovac
($$SELECT * FROM pgqueuer.set_durability(NULL)$$),
($$SELECT * FROM pgqueuer.set_durability('')$$),
($$SELECT * FROM pgqueuer.set_durability('VOLATILE')$$),
($$SELECT * FROM pgqueuer.set_durability('durable', NULL)$$),
($$SELECT * FROM pgqueuer.set_durability((SELECT long_1m FROM big))$$),
($$SELECT * FROM pgqueuer.autovac(NULL)$$),
($$SELECT * FROM pgqueuer.autovac(false, NULL)$$),
-- the PgQueuer client opt-in
($$SELECT pgqueuer.grant_pgqueuer_client_access(NULL)$$),
($$SELECT pgqueuer.grant_pgqueuer_client_access('-')$$),
($$SELECT pgqueuer.grant_pgqueuer_client_access('no_such_role')$$),
($$SELECT pgqueuer.grant_pgqueuer_client_access(4294967295::oid::regrole)$$),
($$SELECT pgqueuer.revoke_pgqueuer_client_access(NULL)$$),
($$SELECT pgqueuer.revoke_pgqueuer_client_access('-')$$),
($$SELECT pgqueuer.revoke_pgqueuer_client_access(4294967295::oid::regrole)$$),
($$SELECT pgqueuer.revoke_pgqueuer_client_access('pgqueuer_producer')$$),
-- the dashboard's functions (pgq web)
($$SELECT count(*) FROM pgqueuer.entrypoint_summary()$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(NULL, NULL, NULL, NULL, NULL)$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(max_rows => 0)$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(max_rows => 2147483647)$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(max_rows => -2147483648)$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(entrypoints => '{}')$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(entrypoints => ARRAY[NULL::text], statuses => ARRAY[NULL::pgqueuer.pgqueuer_status])$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(job_ids => (SELECT ids FROM big), max_rows => 10000)$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(entrypoints => (SELECT eps_dup FROM big), dedupe_keys => ARRAY[(SELECT long_1m FROM big)])$$),
($$SELECT count(*) FROM pgqueuer.list_jobs(entrypoints => ARRAY[(SELECT long_1m FROM big)])$$),
($$SELECT count(*) FROM pgqueuer.job_detail(NULL)$$),
($$SELECT count(*) FROM pgqueuer.job_detail(1, NULL)$$),
($$SELECT count(*) FROM pgqueuer.job_detail(1, -1)$$),
($$SELECT count(*) FROM pgqueuer.job_detail(1, 2147483647)$$),
($$SELECT count(*) FROM pgqueuer.job_detail(-9223372036854775808, 0)$$),
($$SELECT count(*) FROM pgqueuer.job_history(NULL)$$),
($$SELECT count(*) FROM pgqueuer.job_history(9223372036854775807)$$),
($$SELECT count(*) FROM pgqueuer.workers()$$),
($$SELECT count(*) FROM pgqueuer.list_schedules()$$),
($$SELECT pgqueuer.set_schedule_enabled(NULL, true)$$),
($$SELECT pgqueuer.set_schedule_enabled(1, NULL)$$),
($$SELECT pgqueuer.set_schedule_enabled(-1, false)$$),
($$SELECT count(*) > 0 FROM pgqueuer.metrics()$$),
-- trigger functions called directly
($$SELECT pgqueuer.fn_pgqueuer_changed()$$),
($$SELECT pgqueuer.settings_apply()$$),
-- the catalog snapshot: compare, list, repair
($$SELECT count(*) > 0 FROM pgqueuer.catalog_definitions()$$),
($$SELECT count(*) >= 0 FROM pgqueuer.catalog_drift()$$),
($$SELECT * FROM pgqueuer.repair(NULL)$$),
($$SELECT count(*) >= 0 FROM pgqueuer.repair(dry_run => true)$$),
-- maintenance and verify after all that
($$SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'schedules'$$),
($$SELECT * FROM pgqueuer.verify()$$),
-- the clients' lookups (1.1)
($$SELECT * FROM pgqueuer.entrypoint_leases(NULL)$$),
($$SELECT count(*) FROM pgqueuer.entrypoint_leases(ARRAY[NULL, '']::text[])$$),
($$SELECT count(*) FROM pgqueuer.entrypoint_leases((SELECT eps_dup FROM big))$$),
($$SELECT pgqueuer.next_due(NULL)$$),
($$SELECT pgqueuer.next_due(ARRAY[]::text[])$$),
($$SELECT true FROM (SELECT pgqueuer.next_due((SELECT eps_last_empty FROM big))) AS x$$),
($$SELECT * FROM pgqueuer.jobs_not_held(NULL, NULL)$$),
($$SELECT * FROM pgqueuer.jobs_not_held(ARRAY[]::bigint[], '00000000-0000-0000-0000-000000000000')$$),
($$SELECT * FROM pgqueuer.jobs_not_held(ARRAY[-9223372036854775808, NULL]::bigint[], '00000000-0000-0000-0000-000000000000')$$),
($$SELECT count(*) FROM pgqueuer.jobs_not_held((SELECT ids FROM big), '00000000-0000-0000-0000-000000000000')$$),
($$SELECT pgqueuer.current_durability() IN ('volatile', 'balanced', 'durable')$$),
-- wait_for (ids no job has: nothing to wait for, whatever the timeout)
($$SELECT * FROM pgqueuer.wait_for(NULL, '0')$$),
($$SELECT * FROM pgqueuer.wait_for(ARRAY[1], NULL)$$),
($$SELECT * FROM pgqueuer.wait_for(ARRAY[NULL]::bigint[], '0')$$),
($$SELECT * FROM pgqueuer.wait_for((SELECT ids FROM big), '0')$$),
($$SELECT * FROM pgqueuer.wait_for(ARRAY[9223372036854775807, -9223372036854775808], '178000000 years')$$),
($$SELECT * FROM pgqueuer.wait_for(ARRAY[1], '-178000000 years')$$),
-- migrate
($$SELECT * FROM pgqueuer.migrate(NULL)$$),
($$SELECT * FROM pgqueuer.migrate('')$$),
($$SELECT * FROM pgqueuer.migrate((SELECT long_1m FROM big))$$),
($$SELECT * FROM pgqueuer.migrate('pgqueuer')$$),
($$SELECT * FROM pgqueuer.migrate('pg_catalog')$$),
($$SELECT * FROM pgqueuer.migrate('public', NULL)$$),
-- time zones of cron_next and schedule
($$SELECT pgqueuer.cron_next('* * * * *', '2026-01-01 00:00:00+00', (SELECT long_1m FROM big))$$),
($$SELECT pgqueuer.cron_next('* * * * *', '2026-01-01 00:00:00+00', U&'\202E\FEFF odd')$$),
($$SELECT pgqueuer.cron_next('* * * * *', '2026-01-01 00:00:00+00', '')$$),
($$SELECT pgqueuer.cron_next('30 2 * * *', '294276-12-31 00:00:00+00', 'Europe/Oslo')$$),
($$SELECT pgqueuer.cron_next('30 2 * * *', '4713-01-01 00:00:00+00 BC', 'America/New_York')$$),
($$SELECT pgqueuer.schedule('s', '@daily', timezone => '')$$),
($$SELECT pgqueuer.schedule('s', '@daily', timezone => (SELECT random_96k FROM big))$$),
-- takes no argument
($$SELECT pgqueuer.check_background()$$);

-- every function of the extension is among the cases (a function added
-- later without a case here shows up in this list)
SELECT p.oid::regprocedure AS untested FROM pg_proc p
 WHERE p.pronamespace = 'pgqueuer'::regnamespace
   AND NOT EXISTS (SELECT 1 FROM cases c WHERE strpos(c.q, 'pgqueuer.' || p.proname || '(') > 0)
 ORDER BY 1;

\set VERBOSITY sqlstate
SELECT n, pg_temp.try(q) FROM cases ORDER BY n;
\set VERBOSITY default

-- infinite intervals exist from PostgreSQL 17 on: there they are refused
-- by the bounds (22023), before that by the interval input (22007)
SELECT pg_temp.try($$SELECT pgqueuer.enqueue('e', execute_after => 'infinity')$$) ~ '^ERROR (22007|22023):' AS refused;
SELECT pg_temp.try($$SELECT pgqueuer.enqueue('e', execute_after => '-infinity')$$) ~ '^ERROR (22007|22023):' AS refused;
SELECT pg_temp.try($$SELECT pgqueuer.retry(1, 'infinity')$$) ~ '^ERROR (22007|22023):' AS refused;
SELECT pg_temp.try($$SELECT pgqueuer.register_entrypoint('r', lease_timeout => 'infinity')$$) ~ '^ERROR (22007|22023):' AS refused;
SELECT pg_temp.try($$SELECT pgqueuer.register_entrypoint('r', retry_backoff_max => 'infinity')$$) ~ '^ERROR (22007|22023):' AS refused;
SELECT pg_temp.try($$SELECT * FROM pgqueuer.log_statistics(last => 'infinity')$$) ~ '^ERROR (22007|22023):' AS refused;

-- the backend is still there
SELECT 1 AS alive;

DROP EXTENSION pgqueuer;
