-- Values that break everyone, and the smaller server-side holes (SECURITY.md
-- sections 5 and 6).  The functions refuse values out of range (22023 with
-- the range); rows with such values written directly by a privileged role
-- make no sweep fail: they are skipped, logged once as a WARNING and listed
-- by verify().
CREATE EXTENSION pgqueuer;

-- accepted at the edges of each range, refused just beyond (message with the range)
SELECT pgqueuer.register_entrypoint('edge', lease_timeout => '1 second', max_attempts => 1000000,
                                    requests_per_second => 0.000001, retry_backoff_base => '365 days',
                                    retry_backoff_max => '365 days');
SELECT pgqueuer.register_entrypoint('edge', lease_timeout => '365 days', max_attempts => 0,
                                    requests_per_second => 1000000000);
SELECT entrypoint, lease_timeout, max_attempts, requests_per_second, retry_backoff_base, retry_backoff_max
  FROM pgqueuer.pgqueuer_entrypoints;
\set SHOW_CONTEXT never
SELECT pgqueuer.register_entrypoint('edge', lease_timeout => '0.999999 s');
SELECT pgqueuer.register_entrypoint('edge', lease_timeout => '365 days 1 microsecond');
SELECT pgqueuer.register_entrypoint('edge', lease_timeout => '10000 years');
SELECT pgqueuer.register_entrypoint('edge', max_attempts => 1000001);
SELECT pgqueuer.register_entrypoint('edge', max_attempts => 2147483647);
SELECT pgqueuer.register_entrypoint('edge', requests_per_second => 0.00000099);
SELECT pgqueuer.register_entrypoint('edge', requests_per_second => 1e-12);
SELECT pgqueuer.register_entrypoint('edge', requests_per_second => 1000000001);
SELECT pgqueuer.register_entrypoint('edge', retry_backoff_base => '10 years');
SELECT pgqueuer.register_entrypoint('edge', retry_backoff_max => '366 days');
SELECT pgqueuer.enqueue('edge', execute_after => '36501 days');
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['edge'], execute_after => ARRAY['-36501 days']::interval[]);
SELECT pgqueuer.retry(1, '100 years');
SELECT * FROM pgqueuer.log_statistics(last => '1000 centuries');
SELECT pgqueuer.cron_next('* * * * *', '294276-12-31 23:59:59+00');
\set SHOW_CONTEXT errors
SELECT pgqueuer.enqueue('edge', execute_after => '36500 days') > 0 AS far_but_accepted;
SELECT pgqueuer.enqueue('edge', execute_after => '-36500 days') > 0 AS past_means_now;
SELECT pgqueuer.cron_next('* * * * *', '294276-12-31 23:58:00+00') AT TIME ZONE 'UTC' AS last_minute;
SELECT pgqueuer.unschedule('edge') + (SELECT count(*) FROM pgqueuer.cancel(ARRAY(SELECT id FROM pgqueuer.pgqueuer)))::int AS cleaned;

-- headers: a JSON object or NULL
\set SHOW_CONTEXT never
SELECT pgqueuer.enqueue('h', headers => '["not", "an", "object"]');
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['h', 'h'], headers => ARRAY['{"a": 1}', '42']::jsonb[]);
\set SHOW_CONTEXT errors
SELECT count(*) AS no_h_jobs FROM pgqueuer.pgqueuer WHERE entrypoint = 'h';
SELECT pgqueuer.enqueue('h', headers => '{"trace": "t"}') > 0 AS object_accepted;

-- dequeue: an entrypoint named twice counts once, the batch is filled
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['d', 'd', 'd']);
SELECT entrypoint FROM pgqueuer.dequeue(3, ARRAY['d', 'd', 'd'], '00000000-0000-0000-0000-00000000000d');

-- complete(): a job that is still queued (or held) has no outcome: nothing
-- changes, nothing is logged, the id is missing from the result
SELECT pgqueuer.enqueue('q') AS queued_job \gset
SELECT * FROM pgqueuer.complete(ARRAY[:queued_job], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT status FROM pgqueuer.pgqueuer WHERE id = :queued_job;
SELECT status FROM pgqueuer.pgqueuer_log WHERE job_id = :queued_job ORDER BY id;
UPDATE pgqueuer.pgqueuer SET status = 'failed' WHERE id = :queued_job;
SELECT * FROM pgqueuer.complete(ARRAY[:queued_job], ARRAY['exception']::pgqueuer.pgqueuer_status[]);
SELECT status FROM pgqueuer.pgqueuer WHERE id = :queued_job;
-- a picked one still completes
SELECT id AS picked_job FROM pgqueuer.dequeue(1, ARRAY['h'], '00000000-0000-0000-0000-00000000000e') \gset
SELECT count(*) AS completed FROM pgqueuer.complete(ARRAY[:picked_job], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT count(*) FROM pgqueuer.cancel(ARRAY(SELECT id FROM pgqueuer.pgqueuer));

------------------------------------------------------------------------
-- Bad rows written directly (as a superuser may): the sweeps go on
------------------------------------------------------------------------
SELECT pgqueuer.register_entrypoint('good', retry_backoff_base => '1 second', max_attempts => 100);
SELECT pgqueuer.register_entrypoint('bad', requests_per_second => 1);
UPDATE pgqueuer.pgqueuer_entrypoints
   SET requests_per_second = 1e-12, lease_timeout = '10000 years', max_attempts = 2147483647,
       retry_backoff_base = '1000 years', retry_backoff_max = '178000000 years'
 WHERE entrypoint = 'bad';
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['bad', 'good', 'bad', 'good', 'good']);

-- dequeue: the bad entrypoint is skipped (one WARNING per session), the good served
SELECT id, entrypoint FROM pgqueuer.dequeue(10, ARRAY['bad', 'good'], '00000000-0000-0000-0000-000000000001');
SELECT id, entrypoint FROM pgqueuer.dequeue(10, ARRAY['bad', 'good'], '00000000-0000-0000-0000-000000000001');

-- lease expiry: the good jobs expire; the bad ones (picked behind our back) are skipped
UPDATE pgqueuer.pgqueuer SET status = 'picked', queue_manager_id = '00000000-0000-0000-0000-000000000002'
 WHERE entrypoint = 'bad';
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 day' WHERE status = 'picked';
SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'lease_expiry';
SELECT entrypoint, status, attempts, count(*) FROM pgqueuer.pgqueuer GROUP BY 1, 2, 3 ORDER BY 1;
-- the WARNING comes once, not on every pass
SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'lease_expiry';

-- complete(): a backoff that would overflow is capped at 365 days; the batch succeeds
UPDATE pgqueuer.pgqueuer_entrypoints SET retry_backoff_base = '1000 years', retry_backoff_max = '178000000 years'
 WHERE entrypoint = 'good';
SELECT array_agg(id ORDER BY id) AS good_ids FROM pgqueuer.dequeue(3, ARRAY['good'], '00000000-0000-0000-0000-000000000001') \gset
UPDATE pgqueuer.pgqueuer SET attempts = 45 WHERE id = ANY (:'good_ids');
SELECT count(*) FROM pgqueuer.complete(:'good_ids', ARRAY['exception', 'exception', 'successful']::pgqueuer.pgqueuer_status[]);
SELECT status, attempts, execute_after - updated AS backoff FROM pgqueuer.pgqueuer WHERE entrypoint = 'good';
UPDATE pgqueuer.pgqueuer_entrypoints SET retry_backoff_base = '1 second', retry_backoff_max = '5 minutes'
 WHERE entrypoint = 'good';

-- deferred wake-ups: an unusable watermark counts as never announced, and is repaired
INSERT INTO pgqueuer.pgqueuer_settings (name, value) VALUES ('deferred_notified_until', 'not a number');
UPDATE pgqueuer.pgqueuer SET execute_after = now() - interval '1 second', created = now() - interval '1 hour'
 WHERE entrypoint = 'good';
SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'deferred_wakeups';
SELECT value ~ '^[0-9.]+$' AS repaired FROM pgqueuer.pgqueuer_settings WHERE name = 'deferred_notified_until';

-- statistics: an entrypoint too long for a statistics key, written into
-- the log directly, is skipped with a WARNING; the rest is counted
SELECT count(*) > 0 AS folded FROM pgqueuer.log_statistics();
INSERT INTO pgqueuer.pgqueuer_log (job_id, status, priority, entrypoint)
VALUES (0, 'queued', 0, (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i)),
       (0, 'queued', 0, 'other');
SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
SELECT entrypoint, status, count FROM pgqueuer.pgqueuer_statistics
 WHERE entrypoint = 'other' ORDER BY entrypoint;

-- schedules: one that never fires (written directly) is parked with a
-- WARNING; the good one next to it fires
SELECT pgqueuer.schedule('cron_good', '* * * * *') AS good_schedule \gset
INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run, server_fired)
VALUES ('0 0 30 2 *', 'cron_bad', now() - interval '1 minute', true),
       ('not cron', 'cron_worse', now() + interval '1 hour', true);
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 minute' WHERE id = :good_schedule;
SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
SELECT entrypoint, next_run = 'infinity' AS parked, last_run IS NOT NULL AS fired
  FROM pgqueuer.pgqueuer_schedules ORDER BY id;

-- verify() lists every bad row
SELECT * FROM pgqueuer.verify();

-- repaired rows leave verify() and are reported again only if they break anew
SELECT pgqueuer.register_entrypoint('bad');
DELETE FROM pgqueuer.pgqueuer_schedules WHERE entrypoint IN ('cron_bad', 'cron_worse');
SELECT * FROM pgqueuer.verify();
SELECT count(*) FROM pgqueuer.run_maintenance();
UPDATE pgqueuer.pgqueuer_entrypoints SET max_attempts = 2000000 WHERE entrypoint = 'bad';
SELECT * FROM pgqueuer.run_maintenance() WHERE duty = 'lease_expiry';
SELECT pgqueuer.register_entrypoint('bad');

------------------------------------------------------------------------
-- Roles that exist before the install are adopted with a WARNING that
-- names who gets the queue through them (CREATE EXTENSION would swallow a
-- NOTICE)
------------------------------------------------------------------------
DROP EXTENSION pgqueuer;
CREATE ROLE pgq_values_member IN ROLE pgqueuer_worker;
ALTER ROLE pgqueuer_admin LOGIN;
CREATE EXTENSION pgqueuer;
DROP EXTENSION pgqueuer;
ALTER ROLE pgqueuer_admin NOLOGIN;
DROP ROLE pgq_values_member;
-- roles without members or attributes are adopted quietly
SELECT count(*) AS members FROM pg_auth_members WHERE roleid IN ('pgqueuer_admin'::regrole, 'pgqueuer_worker'::regrole, 'pgqueuer_producer'::regrole);
CREATE EXTENSION pgqueuer;
DROP EXTENSION pgqueuer;
