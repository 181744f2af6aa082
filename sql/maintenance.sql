-- schedule(), unschedule() and run_maintenance() duties
CREATE EXTENSION pgqueuer;

-- schedule: normalised expression, next_run from cron, server_fired
SELECT pgqueuer.schedule('tick', '  */5   *  * * MON ', '\x2a', 3);
SELECT id, expression, entrypoint, payload, priority, server_fired, status,
       next_run = pgqueuer.cron_next('*/5 * * * mon', now()) AS next_ok
  FROM pgqueuer.pgqueuer_schedules;
-- same (expression, entrypoint): updated in place
SELECT pgqueuer.schedule('tick', '*/5 * * * mon', '\x2b', 4);
SELECT count(*), max(priority) FROM pgqueuer.pgqueuer_schedules;
\set SHOW_CONTEXT never
SELECT pgqueuer.schedule('tick', '*/5 * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.schedule('', '* * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.schedule(NULL, '* * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

-- a due schedule fires exactly once: one job, next_run moves past now
SELECT pgqueuer.schedule('every_second', '* * * * * *') AS sid \gset
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 hour' WHERE id = :sid;
BEGIN;
SELECT * FROM pgqueuer.run_maintenance();
SELECT entrypoint, status, priority FROM pgqueuer.pgqueuer WHERE entrypoint = 'every_second';
SELECT next_run > now() AS moved, last_run IS NOT NULL AS ran FROM pgqueuer.pgqueuer_schedules WHERE id = :sid;
-- same transaction again: not due any more, nothing fires
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
COMMIT;
-- (a second later it would be due again: keep it out of the tests below)
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() + interval '1 day' WHERE id = :sid;
-- PgQueuer's own schedule rows (server_fired = false) are not fired by the server
INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run) VALUES ('* * * * *', 'python_side', now() - interval '1 hour');
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
-- a broken expression written behind our back is parked with one warning
INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run, server_fired) VALUES ('nope', 'broken', now() - interval '1 hour', true);
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
SELECT next_run FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'broken';
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';

-- unschedule by id and by entrypoint
SELECT pgqueuer.unschedule(:sid);
SELECT pgqueuer.unschedule(:sid);
SELECT pgqueuer.unschedule('tick');
SELECT pgqueuer.unschedule('nothing');
SELECT entrypoint FROM pgqueuer.pgqueuer_schedules ORDER BY entrypoint;

-- lease expiry: attempts + 1, then the end per on_failure
SELECT pgqueuer.register_entrypoint('hold_me', max_attempts => 0, on_failure => 'hold');
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['crashy', 'hold_me']);
SELECT count(*) FROM pgqueuer.dequeue(2, ARRAY['crashy', 'hold_me'], '00000000-0000-0000-0000-000000000001');
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '31 seconds' WHERE status = 'picked';
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'lease_expiry';
SELECT entrypoint, status, attempts, queue_manager_id FROM pgqueuer.pgqueuer
  WHERE entrypoint IN ('crashy', 'hold_me') ORDER BY entrypoint;
SELECT entrypoint, status, traceback->>'exception_type' AS type FROM pgqueuer.pgqueuer_log
  WHERE entrypoint IN ('crashy', 'hold_me') AND traceback IS NOT NULL ORDER BY entrypoint;

-- deferred wake-ups: jobs that were deferred and became due are announced once
SELECT pgqueuer.enqueue('deferred', execute_after => '1 hour') AS did \gset
UPDATE pgqueuer.pgqueuer SET execute_after = now() WHERE id = :did;
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'deferred_wakeups';
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'deferred_wakeups';

-- statistics: every log row folded once (log_statistics() counts the rows
-- that the time fold's horizon has not reached yet); retention removes old
-- rows
SELECT (SELECT count(*) FROM pgqueuer.pgqueuer_log) AS log_rows,
       (SELECT sum(count) FROM pgqueuer.log_statistics(NULL, NULL)) AS counted;
SELECT count(*) AS miscounted
  FROM (SELECT entrypoint, status, sum(count) AS c FROM pgqueuer.log_statistics(NULL, NULL) GROUP BY 1, 2) s
  FULL JOIN (SELECT entrypoint, status, count(*) AS n FROM pgqueuer.pgqueuer_log GROUP BY 1, 2) l
 USING (entrypoint, status) WHERE s.c IS DISTINCT FROM l.n;
UPDATE pgqueuer.pgqueuer_log SET created = created - interval '30 days';
UPDATE pgqueuer.pgqueuer_statistics SET created = created - interval '30 days';
SELECT duty, rows > 0 AS pruned FROM pgqueuer.run_maintenance() WHERE duty = 'retention';
SELECT count(*) AS log_left FROM pgqueuer.pgqueuer_log;

DROP EXTENSION pgqueuer;
