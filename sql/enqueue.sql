-- enqueue() and enqueue_batch(): ids, rows, log rows, dedupe, bad input
CREATE EXTENSION pgqueuer;

-- one job: id from the sequence, a queued row and a queued log row
SELECT pgqueuer.enqueue('email', '\x01'::bytea, 5, '0', NULL, '{"trace": "t1"}');
SELECT id, priority, status, entrypoint, payload, headers, attempts,
       queue_manager_id IS NULL AS unowned, execute_after <= now() AS due
  FROM pgqueuer.pgqueuer ORDER BY id;
SELECT job_id, status, priority, entrypoint, traceback, aggregated FROM pgqueuer.pgqueuer_log ORDER BY id;

-- defaults: no payload, priority 0, due now
SELECT pgqueuer.enqueue('sms');
SELECT id, priority, payload IS NULL AS no_payload, headers IS NULL AS no_headers FROM pgqueuer.pgqueuer WHERE id = 2;

-- deferred and negative delays
SELECT pgqueuer.enqueue('report', execute_after => '1 hour');
SELECT pgqueuer.enqueue('report', execute_after => '-5 minutes');
SELECT pgqueuer.enqueue('report', execute_after => NULL);
SELECT id, execute_after > now() + '59 minutes' AS deferred, execute_after <= now() AS due
  FROM pgqueuer.pgqueuer WHERE entrypoint = 'report' ORDER BY id;

-- dedupe: raise (default) refuses an active duplicate with 23505
SELECT pgqueuer.enqueue('email', dedupe_key => 'k1');
\set SHOW_CONTEXT never
SELECT pgqueuer.enqueue('email', dedupe_key => 'k1');
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) FROM pgqueuer.pgqueuer WHERE dedupe_key = 'k1';
-- skip returns NULL and writes no log row
SELECT pgqueuer.enqueue('email', dedupe_key => 'k1', on_conflict => 'skip') IS NULL AS skipped;
SELECT count(*) AS log_rows_for_k1 FROM pgqueuer.pgqueuer_log l JOIN pgqueuer.pgqueuer q ON q.id = l.job_id WHERE q.dedupe_key = 'k1';
-- a held (failed) job frees its key
UPDATE pgqueuer.pgqueuer SET status = 'failed' WHERE dedupe_key = 'k1';
SELECT pgqueuer.enqueue('email', dedupe_key => 'k1') IS NOT NULL AS reused;

-- batch: ids in input order, one slot per input
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['a', 'b', 'a'], ARRAY['\x0a', NULL, '\x0c']::bytea[], ARRAY[1, 2, 3]);
SELECT id, entrypoint, priority, payload FROM pgqueuer.pgqueuer WHERE entrypoint IN ('a', 'b') ORDER BY id;

-- skip keeps the shape: NULL where skipped, first occurrence in the batch wins
SELECT s.id IS NULL AS skipped, s.ord
  FROM pgqueuer.enqueue_batch(ARRAY['d', 'd', 'd', 'd', 'd'], dedupe_keys => ARRAY['x', NULL, 'k1', 'x', NULL],
                              on_conflict => 'skip') WITH ORDINALITY AS s(id, ord);
SELECT count(*) FILTER (WHERE dedupe_key = 'x') AS x_rows, count(*) FILTER (WHERE dedupe_key IS NULL) AS null_rows
  FROM pgqueuer.pgqueuer WHERE entrypoint = 'd';

-- raise is all-or-nothing, also for a duplicate inside the batch
SELECT count(*) AS before FROM pgqueuer.pgqueuer;
-- (the statement in the error's context names the log's day slot: not shown)
\set SHOW_CONTEXT never
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['e', 'e'], dedupe_keys => ARRAY['y', 'y']);
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['e', 'e'], dedupe_keys => ARRAY['z', 'k1']);
\set SHOW_CONTEXT errors
SELECT count(*) AS after FROM pgqueuer.pgqueuer;

-- 10,000 jobs in one call, atomically, with one log row each
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('bulk'::text, ARRAY[10000]));
SELECT count(*) AS jobs, min(id) < max(id) AS ascending FROM pgqueuer.pgqueuer WHERE entrypoint = 'bulk';
SELECT count(*) AS log_rows FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'bulk' AND status = 'queued';

-- empty batch: nothing
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY[]::text[]);

-- bad input: errors with SQLSTATEs, nothing written
\set SHOW_CONTEXT never
SELECT pgqueuer.enqueue(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.enqueue('');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.enqueue('x', priority => NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.enqueue('x', on_conflict => 'ignore');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.enqueue('x', on_conflict => NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x', NULL]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x', '']);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x', 'y'], priorities => ARRAY[1]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x', 'y'], payloads => ARRAY['\x01', '\x02', '\x03']::bytea[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x', 'y'], priorities => ARRAY[1, NULL]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x', 'y'], execute_after => ARRAY['1 s', NULL]::interval[]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY[['x'], ['y']]);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.enqueue_batch(ARRAY['x'], on_conflict => 'merge');
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) AS unchanged FROM pgqueuer.pgqueuer WHERE entrypoint IN ('x', 'y');

DROP EXTENSION pgqueuer;
