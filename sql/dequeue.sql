-- dequeue(): order, batch, limits, paused, deferred, held, leases, bad input
CREATE EXTENSION pgqueuer;

-- priority DESC then id ASC, across entrypoints; claims set owner and heartbeat
SELECT count(*) FROM pgqueuer.enqueue_batch(
  ARRAY['a', 'b', 'a', 'b', 'c', 'a'], priorities => ARRAY[0, 0, 5, 5, 1, 0]);
SELECT id, priority, entrypoint, status, queue_manager_id, heartbeat = now() AS fresh
  FROM pgqueuer.dequeue(4, ARRAY['a', 'b', 'c'], '00000000-0000-0000-0000-0000000000a1');
-- only requested entrypoints; batch size counts across entrypoints
SELECT id, entrypoint FROM pgqueuer.dequeue(10, ARRAY['b'], '00000000-0000-0000-0000-0000000000a1');
SELECT id, entrypoint FROM pgqueuer.dequeue(10, ARRAY['a', 'b', 'c'], '00000000-0000-0000-0000-0000000000a2');
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['a', 'b', 'c'], '00000000-0000-0000-0000-0000000000a2');
-- one picked log row per claim
SELECT count(*) AS picked_log_rows FROM pgqueuer.pgqueuer_log WHERE status = 'picked';

-- deferred jobs wait; held (failed) jobs are never handed out
SELECT pgqueuer.enqueue('later', execute_after => '1 hour');
SELECT pgqueuer.enqueue('later');
UPDATE pgqueuer.pgqueuer SET status = 'failed' WHERE id = (SELECT max(id) FROM pgqueuer.pgqueuer);
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['later'], '00000000-0000-0000-0000-0000000000a1');

-- paused entrypoints are skipped until resumed
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('p'::text, ARRAY[3]));
SELECT pgqueuer.pause('p');
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['p'], '00000000-0000-0000-0000-0000000000a1');
SELECT pgqueuer.resume('p');
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['p'], '00000000-0000-0000-0000-0000000000a1');

-- concurrency_limit: at most the free slots, while unlimited ones fill the batch
SELECT pgqueuer.register_entrypoint('limited', concurrency_limit => 2);
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('limited'::text, ARRAY[5]) || array_fill('free'::text, ARRAY[20]));
SELECT entrypoint, count(*) FROM pgqueuer.dequeue(10, ARRAY['limited', 'free'], '00000000-0000-0000-0000-0000000000b1')
  GROUP BY entrypoint ORDER BY entrypoint;
SELECT count(*) AS limited_again FROM pgqueuer.dequeue(10, ARRAY['limited'], '00000000-0000-0000-0000-0000000000b2');
-- completing one frees one slot
SELECT count(*) FROM pgqueuer.complete(ARRAY[(SELECT min(id) FROM pgqueuer.pgqueuer WHERE entrypoint = 'limited' AND status = 'picked')],
                                       ARRAY['successful']::pgqueuer.pgqueuer_status[]);
SELECT count(*) AS one_slot FROM pgqueuer.dequeue(10, ARRAY['limited'], '00000000-0000-0000-0000-0000000000b2');

-- max_concurrent: a hard per-worker cap (cap 5, batch 4 -> 4, 1, 0)
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('capped'::text, ARRAY[20]));
SELECT count(*) FROM pgqueuer.dequeue(4, ARRAY['capped'], '00000000-0000-0000-0000-0000000000c1', 5);
SELECT count(*) FROM pgqueuer.dequeue(4, ARRAY['capped'], '00000000-0000-0000-0000-0000000000c1', 5);
SELECT count(*) FROM pgqueuer.dequeue(4, ARRAY['capped'], '00000000-0000-0000-0000-0000000000c1', 5);
SELECT count(*) AS other_worker FROM pgqueuer.dequeue(4, ARRAY['capped'], '00000000-0000-0000-0000-0000000000c2', 5);

-- requests_per_second: a grant never exceeds the window's allowance
SELECT pgqueuer.register_entrypoint('rated', requests_per_second => 5);
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('rated'::text, ARRAY[50]));
SELECT count(*) AS first_second FROM pgqueuer.dequeue(10, ARRAY['rated'], '00000000-0000-0000-0000-0000000000d1');
SELECT pgqueuer.register_entrypoint('slow', requests_per_second => 0.01);
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('slow'::text, ARRAY[5]));
SELECT count(*) AS one FROM pgqueuer.dequeue(10, ARRAY['slow'], '00000000-0000-0000-0000-0000000000d1');
SELECT count(*) AS none_for_100s FROM pgqueuer.dequeue(10, ARRAY['slow'], '00000000-0000-0000-0000-0000000000d2');

-- back-to-back dequeues of a 20/s entrypoint for at least 2.5 s and until
-- more than two windows' worth was granted: each call's grant is read back
-- from the rate ledger (its time is the limiter's own clock), and every
-- one-second window ending at a grant holds at most 20 granted jobs
SELECT pgqueuer.register_entrypoint('window', requests_per_second => 20);
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('window'::text, ARRAY[500]));
CREATE TEMP TABLE grants (granted_at timestamptz, jobs int, got int);
DO $$
DECLARE
  started timestamptz := clock_timestamp();
  got int;
  total int := 0;
BEGIN
  WHILE (clock_timestamp() < started + interval '2.5 seconds' OR total <= 40)
        AND clock_timestamp() < started + interval '60 seconds' LOOP
    SELECT count(*) INTO got FROM pgqueuer.dequeue(7, ARRAY['window'], '00000000-0000-0000-0000-0000000000e1');
    IF got > 0 THEN
      INSERT INTO grants
        SELECT g.granted_at, g.jobs, got FROM pgqueuer.pgqueuer_rate_grants g
         WHERE g.entrypoint = 'window' ORDER BY g.granted_at DESC LIMIT 1;
      total := total + got;
    END IF;
  END LOOP;
END
$$;
SELECT bool_and(jobs = got) AS ledger_matches, max(w.total) <= 20 AS window_respected,
       sum(got) > 40 AS kept_granting
  FROM grants c,
       LATERAL (SELECT sum(d.jobs) AS total FROM grants d
                WHERE d.granted_at > c.granted_at - interval '1 second'
                  AND d.granted_at <= c.granted_at) w;

-- an expired lease returns the job to the queue with attempts + 1
SELECT pgqueuer.register_entrypoint('lease', lease_timeout => '10 seconds', max_attempts => 1);
SELECT pgqueuer.enqueue('lease');
SELECT id, attempts FROM pgqueuer.dequeue(1, ARRAY['lease'], '00000000-0000-0000-0000-0000000000f1');
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '11 seconds' WHERE entrypoint = 'lease';
SELECT id, attempts, queue_manager_id FROM pgqueuer.dequeue(1, ARRAY['lease'], '00000000-0000-0000-0000-0000000000f2');
-- with attempts exhausted the job ends as exception (on_failure delete)
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '11 seconds' WHERE entrypoint = 'lease';
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['lease'], '00000000-0000-0000-0000-0000000000f3');
SELECT status, traceback->>'exception_type' AS type FROM pgqueuer.pgqueuer_log
  WHERE entrypoint = 'lease' ORDER BY id;

-- empty filter means nothing, not everything
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY[]::text[], '00000000-0000-0000-0000-0000000000a1');

-- bad input
\set SHOW_CONTEXT never
SELECT * FROM pgqueuer.dequeue(0, ARRAY['a'], '00000000-0000-0000-0000-0000000000a1');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.dequeue(NULL, ARRAY['a'], '00000000-0000-0000-0000-0000000000a1');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.dequeue(1, NULL, '00000000-0000-0000-0000-0000000000a1');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.dequeue(1, ARRAY['a', NULL], '00000000-0000-0000-0000-0000000000a1');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.dequeue(1, ARRAY['a'], NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.dequeue(1, ARRAY['a'], '00000000-0000-0000-0000-0000000000a1', -1);
\echo sqlstate :LAST_ERROR_SQLSTATE
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM pgqueuer.dequeue(1, ARRAY['a'], '00000000-0000-0000-0000-0000000000a1');
\echo sqlstate :LAST_ERROR_SQLSTATE
ROLLBACK;
\set SHOW_CONTEXT errors

DROP EXTENSION pgqueuer;
