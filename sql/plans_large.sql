-- The queue's kept statements read what they touch on a large queue.
--
-- plans.sql makes the plans on near-empty tables and then grows them; here
-- the plans are made in a new session on a queue and a log that are already
-- large and analysed (issue 18, item 4): tens of thousands of due jobs over
-- 1,000 registered entrypoints of which 100 have concurrency limits,
-- deferred jobs, held failures, stale leases, a folded log with old rows.
-- Each operation runs through check_reads(), which compares the counters of
-- this transaction (pg_stat_xact_user_tables) before and after it: no
-- sequential scan of pgqueuer.pgqueuer or pgqueuer.pgqueuer_log, and at
-- most a bounded number of their rows read (a full index scan of either
-- table would read tens of thousands).
CREATE EXTENSION pgqueuer;
-- the statistics fold counts every row of a finished transaction at once
SET pgqueuer.statistics_fold_margin = 0;

-- check_reads(STMT, BOUND): seq scans of the queue and of the log during
-- STMT, and whether their rows read (heap fetches through indexes plus
-- rows read sequentially) stay within BOUND, else the count
CREATE FUNCTION pg_temp.check_reads(stmt text, bound int,
    OUT queue_seq_scans bigint, OUT log_seq_scans bigint, OUT reads text)
LANGUAGE plpgsql AS $$
DECLARE
  b bigint[];
  a bigint[];
  n bigint;
BEGIN
  SELECT array_agg(s ORDER BY r) INTO b FROM (
    SELECT relname AS r, seq_scan AS s FROM pg_stat_xact_user_tables
     WHERE schemaname = 'pgqueuer' AND relname IN ('pgqueuer', 'pgqueuer_log')
    UNION ALL
    SELECT relname || '~', coalesce(idx_tup_fetch, 0) + seq_tup_read FROM pg_stat_xact_user_tables
     WHERE schemaname = 'pgqueuer' AND relname IN ('pgqueuer', 'pgqueuer_log')) x;
  EXECUTE stmt;
  SELECT array_agg(s ORDER BY r) INTO a FROM (
    SELECT relname AS r, seq_scan AS s FROM pg_stat_xact_user_tables
     WHERE schemaname = 'pgqueuer' AND relname IN ('pgqueuer', 'pgqueuer_log')
    UNION ALL
    SELECT relname || '~', coalesce(idx_tup_fetch, 0) + seq_tup_read FROM pg_stat_xact_user_tables
     WHERE schemaname = 'pgqueuer' AND relname IN ('pgqueuer', 'pgqueuer_log')) x;
  -- order: pgqueuer, pgqueuer_log, pgqueuer_log~, pgqueuer~
  queue_seq_scans := a[1] - b[1];
  log_seq_scans := a[2] - b[2];
  n := (a[3] - b[3]) + (a[4] - b[4]);
  reads := CASE WHEN n <= bound THEN 'bounded' ELSE n || ' rows read' END;
END $$;

-- the registry: ep_0001 ... ep_1000, the first 100 limited
SELECT count(pgqueuer.register_entrypoint('ep_' || lpad(i::text, 4, '0'),
         concurrency_limit => CASE WHEN i <= 100 THEN 1000 ELSE 0 END,
         max_attempts => 5))
  FROM generate_series(1, 1000) i;
SELECT pgqueuer.register_entrypoint('held', max_attempts => 0, on_failure => 'hold');
-- 30,000 due jobs, 30 per entrypoint
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(
  SELECT 'ep_' || lpad((1 + g % 1000)::text, 4, '0') FROM generate_series(0, 29999) g));
-- 20,000 deferred jobs, 2,000 held failures, 500 stale leases
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('later'::text, ARRAY[20000]),
  execute_after => array_fill('1 day'::interval, ARRAY[20000]));
-- and 20 due jobs of that entrypoint, after them
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('later'::text, ARRAY[20]));
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('held'::text, ARRAY[2000]));
SELECT count(*) FROM pgqueuer.complete(
  ARRAY(SELECT id FROM pgqueuer.dequeue(2000, '{held}', '00000000-0000-0000-0000-0000000000c1')),
  array_fill('exception'::pgqueuer.pgqueuer_status, ARRAY[2000]));
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('stale'::text, ARRAY[500]));
SELECT count(*) FROM pgqueuer.dequeue(500, '{stale}', '00000000-0000-0000-0000-0000000000c2');
-- the log folded into statistics; 300 of its rows older than the retention
SELECT sum(rows) > 0 AS folded FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
UPDATE pgqueuer.pgqueuer_log SET created = now() - interval '8 days'
 WHERE id IN (SELECT id FROM pgqueuer.pgqueuer_log ORDER BY id LIMIT 300);
VACUUM ANALYZE pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_entrypoints,
  pgqueuer.pgqueuer_statistics;
SELECT status, count(*), count(*) FILTER (WHERE execute_after > now()) AS deferred
  FROM pgqueuer.pgqueuer GROUP BY status ORDER BY status;
SELECT count(*) > 50000 AS large_log FROM pgqueuer.pgqueuer_log;

-- dequeue: one entrypoint, then 100 of the 1,000 (50 of them limited:
-- each limited one counts its own picked jobs through
-- pgqueuer_picked_ep_idx, not every picked job), then the entrypoint with
-- 20,000 jobs deferred to tomorrow and 20 due (the claim reads the due ones
-- only: pgqueuer_ep_due_idx holds no deferred job, pgqueuer_ep_deferred_idx
-- holds them by time).  Over 100 entrypoints with 30 due jobs each, the
-- dequeue finds each entrypoint's share of its batch from their first due
-- jobs, then reads the jobs of the entrypoints with a share: a few hundred
-- rows (a claim that read up to its batch of each entrypoint before merging
-- them, as PgQueuer's does, read 3,000 here).
CREATE TEMP TABLE picked (id bigint);
SELECT * FROM pg_temp.check_reads($$
  INSERT INTO picked SELECT id FROM pgqueuer.dequeue(10, '{ep_0500}',
    '00000000-0000-0000-0000-0000000000d1')$$, 200);
SELECT * FROM pg_temp.check_reads($$
  INSERT INTO picked SELECT id FROM pgqueuer.dequeue(50,
    ARRAY(SELECT 'ep_' || lpad(i::text, 4, '0') FROM generate_series(51, 150) i),
    '00000000-0000-0000-0000-0000000000d1')$$, 500);
SELECT * FROM pg_temp.check_reads($$
  INSERT INTO picked SELECT id FROM pgqueuer.dequeue(10, '{later}',
    '00000000-0000-0000-0000-0000000000d1')$$, 200);
SELECT count(*) AS picked FROM picked;
-- the same calls again, with the plans now kept
SELECT * FROM pg_temp.check_reads($$
  INSERT INTO picked SELECT id FROM pgqueuer.dequeue(10, '{ep_0501}',
    '00000000-0000-0000-0000-0000000000d1')$$, 200);
SELECT * FROM pg_temp.check_reads($$
  INSERT INTO picked SELECT id FROM pgqueuer.dequeue(50,
    ARRAY(SELECT 'ep_' || lpad(i::text, 4, '0') FROM generate_series(51, 150) i),
    '00000000-0000-0000-0000-0000000000d1')$$, 500);
SELECT count(*) AS picked FROM picked;

-- complete: successful; exception (retried: attempts left); heartbeat; retry
SELECT * FROM pg_temp.check_reads($$
  SELECT pgqueuer.complete(ARRAY(SELECT id FROM picked ORDER BY id LIMIT 40),
    array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[40]))$$, 200);
SELECT * FROM pg_temp.check_reads($$
  SELECT pgqueuer.complete(ARRAY(SELECT id FROM picked ORDER BY id OFFSET 40 LIMIT 20),
    array_fill('exception'::pgqueuer.pgqueuer_status, ARRAY[20]))$$, 200);
SELECT * FROM pg_temp.check_reads($$
  SELECT pgqueuer.heartbeat(ARRAY(SELECT id FROM picked ORDER BY id OFFSET 60 LIMIT 20))$$, 200);
SELECT * FROM pg_temp.check_reads($$
  SELECT pgqueuer.retry((SELECT id FROM picked ORDER BY id OFFSET 80 LIMIT 1))$$, 200);
SELECT status, count(*) FROM pgqueuer.pgqueuer WHERE id IN (SELECT id FROM picked)
 GROUP BY status ORDER BY status;

-- the background duties, each with work to do: 500 stale leases, 200
-- deferred jobs that became due, the log rows written above unfolded,
-- 300 log rows older than the retention
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour' WHERE entrypoint = 'stale';
UPDATE pgqueuer.pgqueuer SET execute_after = now() - interval '1 second'
 WHERE id IN (SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'later' ORDER BY id LIMIT 200);
CREATE TEMP TABLE duties (duty text, rows bigint);
SELECT * FROM pg_temp.check_reads($$
  INSERT INTO duties SELECT * FROM pgqueuer.run_maintenance()$$, 5000);
SELECT duty, rows > 0 AS did_work FROM duties
 WHERE duty IN ('lease_expiry', 'deferred_wakeups', 'statistics', 'retention') ORDER BY duty;

DROP EXTENSION pgqueuer;
