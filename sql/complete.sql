-- complete(): every status, hold, retry with backoff, fencing, bad input
CREATE EXTENSION pgqueuer;

SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('job'::text, ARRAY[6]));
SELECT count(*) FROM pgqueuer.dequeue(6, ARRAY['job'], '00000000-0000-0000-0000-000000000001');

-- successful, exception, canceled, deleted remove the row; failed holds it
SELECT * FROM pgqueuer.complete(ARRAY[1, 2, 3, 4, 5],
  ARRAY['successful', 'exception', 'canceled', 'deleted', 'failed']::pgqueuer.pgqueuer_status[],
  ARRAY[NULL, '{"exception_type": "ValueError"}', NULL, NULL, '{"exception_type": "KeyError"}']::jsonb[]);
SELECT id, status, queue_manager_id FROM pgqueuer.pgqueuer ORDER BY id;
SELECT job_id, status, traceback->>'exception_type' AS type FROM pgqueuer.pgqueuer_log
  WHERE status NOT IN ('queued', 'picked') ORDER BY job_id;
-- a second outcome for a finished job changes nothing
SELECT count(*) FROM pgqueuer.complete(ARRAY[1], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT count(*) AS terminal_rows_job1 FROM pgqueuer.pgqueuer_log WHERE job_id = 1 AND status = 'successful';

-- fencing: only the worker that holds the job completes it
SELECT count(*) FROM pgqueuer.complete(ARRAY[6], ARRAY['successful']::pgqueuer.pgqueuer_status[],
                                       queue_manager_id => '00000000-0000-0000-0000-000000000002');
SELECT * FROM pgqueuer.complete(ARRAY[6], ARRAY['successful']::pgqueuer.pgqueuer_status[],
                                queue_manager_id => '00000000-0000-0000-0000-000000000001');

-- exception on a registered entrypoint with attempts left: retried with backoff
SELECT pgqueuer.register_entrypoint('flaky', max_attempts => 2, retry_backoff_base => '10 seconds',
                                    retry_backoff_max => '15 seconds');
SELECT pgqueuer.enqueue('flaky');
SELECT id, attempts FROM pgqueuer.dequeue(1, ARRAY['flaky'], '00000000-0000-0000-0000-000000000001');
SELECT * FROM pgqueuer.complete(ARRAY[7], ARRAY['exception']::pgqueuer.pgqueuer_status[],
                                ARRAY['{"exception_type": "Boom"}']::jsonb[]);
SELECT q.status, q.attempts, q.queue_manager_id, q.execute_after - l.created AS backoff
  FROM pgqueuer.pgqueuer q, LATERAL (SELECT created FROM pgqueuer.pgqueuer_log WHERE job_id = q.id ORDER BY id DESC LIMIT 1) l
 WHERE q.id = 7;
-- second failure: backoff doubles, capped at retry_backoff_max
UPDATE pgqueuer.pgqueuer SET execute_after = now() WHERE id = 7;
SELECT id, attempts FROM pgqueuer.dequeue(1, ARRAY['flaky'], '00000000-0000-0000-0000-000000000001');
SELECT * FROM pgqueuer.complete(ARRAY[7], ARRAY['exception']::pgqueuer.pgqueuer_status[]);
SELECT q.status, q.attempts, q.execute_after - l.created AS backoff
  FROM pgqueuer.pgqueuer q, LATERAL (SELECT created FROM pgqueuer.pgqueuer_log WHERE job_id = q.id ORDER BY id DESC LIMIT 1) l
 WHERE q.id = 7;
-- attempts exhausted: terminal exception
UPDATE pgqueuer.pgqueuer SET execute_after = now() WHERE id = 7;
SELECT id, attempts FROM pgqueuer.dequeue(1, ARRAY['flaky'], '00000000-0000-0000-0000-000000000001');
SELECT * FROM pgqueuer.complete(ARRAY[7], ARRAY['exception']::pgqueuer.pgqueuer_status[]);
SELECT count(*) AS gone FROM pgqueuer.pgqueuer WHERE id = 7;
SELECT status, traceback->>'exception_type' AS type FROM pgqueuer.pgqueuer_log WHERE job_id = 7 ORDER BY id;

-- on_failure hold: after the last attempt the job is held as failed
SELECT pgqueuer.register_entrypoint('keep', max_attempts => 0, on_failure => 'hold');
SELECT pgqueuer.enqueue('keep', '\xff');
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['keep'], '00000000-0000-0000-0000-000000000001');
SELECT * FROM pgqueuer.complete(ARRAY[8], ARRAY['exception']::pgqueuer.pgqueuer_status[]);
SELECT id, status, payload, queue_manager_id FROM pgqueuer.pgqueuer WHERE id = 8;

-- unregistered entrypoints keep PgQueuer's semantics: an exception is terminal
SELECT pgqueuer.enqueue('plain');
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['plain'], '00000000-0000-0000-0000-000000000001');
SELECT * FROM pgqueuer.complete(ARRAY[9], ARRAY['exception']::pgqueuer.pgqueuer_status[]);
SELECT count(*) AS gone FROM pgqueuer.pgqueuer WHERE id = 9;

-- unknown ids: no error, nothing changed, left out of the result
SELECT count(*) FROM pgqueuer.complete(ARRAY[424242], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT count(*) FROM pgqueuer.complete(ARRAY[]::bigint[], ARRAY[]::pgqueuer.pgqueuer_status[]);

-- bad input
\set SHOW_CONTEXT never
SELECT * FROM pgqueuer.complete(ARRAY[1, 2], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(ARRAY[1], ARRAY['successful']::pgqueuer.pgqueuer_status[], ARRAY[NULL, NULL]::jsonb[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(ARRAY[1, NULL], ARRAY['successful', 'successful']::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(ARRAY[1], ARRAY[NULL]::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(ARRAY[1, 1], ARRAY['successful', 'exception']::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(ARRAY[8], ARRAY['queued']::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(ARRAY[8], ARRAY['bogus']::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.complete(NULL, ARRAY['successful']::pgqueuer.pgqueuer_status[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT id, status FROM pgqueuer.pgqueuer WHERE id = 8;

DROP EXTENSION pgqueuer;
