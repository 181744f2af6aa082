-- retry(), heartbeat(), requeue(), cancel()
CREATE EXTENSION pgqueuer;

SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('w'::text, ARRAY[4]), payloads => ARRAY['\x01', '\x02', '\x03', '\x04']::bytea[]);
SELECT count(*) FROM pgqueuer.dequeue(3, ARRAY['w'], '00000000-0000-0000-0000-000000000001');

-- retry: back to queued after the delay, attempts + 1, same id and payload, a queued log row with the traceback
SELECT pgqueuer.retry(1, '1 hour', '{"exception_type": "RetryRequested", "additional_context": {"reason": "later"}}');
SELECT id, status, attempts, payload, queue_manager_id, execute_after > now() + '59 minutes' AS deferred
  FROM pgqueuer.pgqueuer WHERE id = 1;
SELECT status, traceback->'additional_context'->>'reason' AS reason FROM pgqueuer.pgqueuer_log
  WHERE job_id = 1 ORDER BY id;
-- only picked jobs, and with fencing only the owner's
SELECT pgqueuer.retry(1);
SELECT pgqueuer.retry(2, queue_manager_id => '00000000-0000-0000-0000-000000000009');
SELECT pgqueuer.retry(2, queue_manager_id => '00000000-0000-0000-0000-000000000001');
SELECT pgqueuer.retry(424242);
SELECT id, status, attempts FROM pgqueuer.pgqueuer WHERE id = 2;
\set SHOW_CONTEXT never
SELECT pgqueuer.retry(3, '-1 second');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.retry(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.retry(3, NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

-- heartbeat: picked jobs only, fenced by owner; returns how many
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 minute';
SELECT pgqueuer.heartbeat(ARRAY[1, 2, 3, 4]);
SELECT pgqueuer.heartbeat(ARRAY[3], '00000000-0000-0000-0000-000000000009');
SELECT pgqueuer.heartbeat(ARRAY[3], '00000000-0000-0000-0000-000000000001');
SELECT id, heartbeat > now() - interval '30 seconds' AS beaten FROM pgqueuer.pgqueuer ORDER BY id;
SELECT pgqueuer.heartbeat(ARRAY[]::bigint[]);
\set SHOW_CONTEXT never
SELECT pgqueuer.heartbeat(ARRAY[1, NULL]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.heartbeat(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

-- requeue: held jobs only, attempts reset, due now
SELECT count(*) FROM pgqueuer.complete(ARRAY[3], ARRAY['failed']::pgqueuer.pgqueuer_status[]);
UPDATE pgqueuer.pgqueuer SET attempts = 3 WHERE id = 3;
SELECT * FROM pgqueuer.requeue(ARRAY[2, 3, 424242]);
SELECT id, status, attempts, execute_after <= now() AS due FROM pgqueuer.pgqueuer WHERE id IN (2, 3) ORDER BY id;
-- a dedupe key taken meanwhile skips that job with a NOTICE, the rest go through
SELECT pgqueuer.enqueue('k', dedupe_key => 'same') AS held_job \gset
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['k'], '00000000-0000-0000-0000-000000000001');
SELECT count(*) FROM pgqueuer.complete(ARRAY[:held_job], ARRAY['failed']::pgqueuer.pgqueuer_status[]);
SELECT pgqueuer.enqueue('k', dedupe_key => 'same') IS NOT NULL AS key_reused;
SELECT pgqueuer.enqueue('k') AS other_job \gset
UPDATE pgqueuer.pgqueuer SET status = 'failed' WHERE id = :other_job;
SELECT * FROM pgqueuer.requeue(ARRAY[:held_job, :other_job]) AS requeued;
SELECT status FROM pgqueuer.pgqueuer WHERE id = :held_job;

-- cancel: queued, picked and held jobs go, logged canceled once
SELECT count(*) FROM pgqueuer.cancel(ARRAY[:held_job]);
SELECT pgqueuer.enqueue('c') IS NOT NULL AS enqueued;
SELECT id AS picked_job FROM pgqueuer.dequeue(1, ARRAY['c'], '00000000-0000-0000-0000-000000000001') \gset
SELECT pgqueuer.enqueue('c') AS queued_job \gset
SELECT pgqueuer.enqueue('c') AS held_c \gset
UPDATE pgqueuer.pgqueuer SET status = 'failed' WHERE id = :held_c;
SELECT count(*) FROM pgqueuer.cancel(ARRAY[:queued_job, :picked_job, :held_c, 424242]);
SELECT count(*) AS remaining FROM pgqueuer.pgqueuer WHERE entrypoint = 'c';
SELECT count(*) AS canceled_rows FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'c' AND status = 'canceled';
-- completing a canceled job afterwards writes nothing
SELECT count(*) FROM pgqueuer.complete(ARRAY[:picked_job], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT count(*) FROM pgqueuer.cancel(ARRAY[]::bigint[]);
\set SHOW_CONTEXT never
SELECT * FROM pgqueuer.cancel(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.cancel(ARRAY[NULL]::bigint[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.requeue(ARRAY[NULL]::bigint[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

DROP EXTENSION pgqueuer;
