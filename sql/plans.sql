-- Kept plans stay index plans when the queue grows after they were made.
--
-- Every statement of the queue is planned once per backend and kept, often
-- while the queue is empty.  With plan_cache_mode = force_generic_plan the
-- plans are made on the first call below, on near-empty tables; after the
-- queue and the log have grown by thousands of rows, the same calls must
-- not scan either table sequentially.  pg_stat_xact_user_tables also
-- counts earlier transactions whose statistics were not flushed yet, and
-- nothing is flushed inside a transaction, so the test compares the counts
-- at the start and at the end of one transaction.
CREATE EXTENSION pgqueuer;
-- as on an idle queue that autovacuum has analysed while it was empty
VACUUM ANALYZE pgqueuer.pgqueuer, pgqueuer.pgqueuer_log;
SET plan_cache_mode = force_generic_plan;
SELECT pgqueuer.register_entrypoint('lim', concurrency_limit => 1000) IS NOT NULL AS registered;

-- one pass of every operation while the tables are nearly empty
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('a'::text, ARRAY[300]) || 'lim'::text);
SELECT pgqueuer.enqueue('d', execute_after => '1 hour') > 0 AS deferred;
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['a', 'lim', 'd'],
  '00000000-0000-0000-0000-0000000000b1', 100);
SELECT pgqueuer.complete(ARRAY[min(id)], ARRAY['successful'::pgqueuer.pgqueuer_status])
  FROM pgqueuer.pgqueuer WHERE status = 'picked';
SELECT pgqueuer.retry(min(id)) FROM pgqueuer.pgqueuer WHERE status = 'picked';
SELECT pgqueuer.heartbeat(array_agg(id)) FROM pgqueuer.pgqueuer WHERE status = 'picked';
SELECT pgqueuer.complete(ARRAY[min(id)], ARRAY['failed'::pgqueuer.pgqueuer_status])
  FROM pgqueuer.pgqueuer WHERE status = 'picked';
SELECT count(*) FROM pgqueuer.requeue(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE status = 'failed'));
SELECT count(*) FROM pgqueuer.cancel(ARRAY(SELECT max(id) FROM pgqueuer.pgqueuer WHERE status = 'picked'));
SELECT count(*) >= 0 AS ran FROM pgqueuer.run_maintenance();

-- the queue and the log grow
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('a'::text, ARRAY[4000]));
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('lim'::text, ARRAY[1000]));
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('d'::text, ARRAY[1000]),
  execute_after => array_fill('1 hour'::interval, ARRAY[1000]));

-- the same operations, with the plans kept from before
BEGIN;
CREATE TEMP TABLE scans ON COMMIT DROP AS
  SELECT relname, seq_scan FROM pg_stat_xact_user_tables
   WHERE schemaname = 'pgqueuer' AND relname IN ('pgqueuer', 'pgqueuer_log');
CREATE TEMP TABLE picked ON COMMIT DROP AS
  SELECT id FROM pgqueuer.dequeue(20, ARRAY['a', 'lim', 'd'],
    '00000000-0000-0000-0000-0000000000b1', 100);
SELECT count(*) AS picked FROM picked;
SELECT pgqueuer.complete(ARRAY(SELECT id FROM picked ORDER BY id LIMIT 5),
  array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[5]));
SELECT pgqueuer.retry((SELECT id FROM picked ORDER BY id OFFSET 5 LIMIT 1));
SELECT pgqueuer.heartbeat(ARRAY(SELECT id FROM picked ORDER BY id OFFSET 6));
SELECT pgqueuer.complete(ARRAY(SELECT id FROM picked ORDER BY id OFFSET 6 LIMIT 1),
  ARRAY['failed'::pgqueuer.pgqueuer_status]);
SELECT count(*) FROM pgqueuer.requeue(ARRAY(SELECT id FROM picked ORDER BY id OFFSET 6 LIMIT 1));
SELECT count(*) FROM pgqueuer.cancel(ARRAY(SELECT id FROM picked ORDER BY id OFFSET 7 LIMIT 2));
SELECT count(*) >= 0 AS ran FROM pgqueuer.run_maintenance();
SELECT t.relname, t.seq_scan - s.seq_scan AS seq_scans
  FROM pg_stat_xact_user_tables t JOIN scans s USING (relname)
 WHERE t.schemaname = 'pgqueuer' ORDER BY t.relname;
COMMIT;

-- The claim reads the queue in dequeue order through pgqueuer_ep_due_idx,
-- never through PgQueuer's pgqueuer_ep_ea_idx (which would sort every due
-- job of the entrypoint) nor its pgqueuer_ep_prio_id_idx (which holds the
-- deferred jobs too).  Index statistics
-- have no per-transaction view: the counts are flushed and compared.
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE idx_before AS
  SELECT indexrelname, idx_scan FROM pg_stat_user_indexes
   WHERE schemaname = 'pgqueuer'
     AND indexrelname IN ('pgqueuer_ep_ea_idx', 'pgqueuer_ep_prio_id_idx', 'pgqueuer_ep_due_idx');
SELECT count(*) AS picked FROM pgqueuer.dequeue(20, ARRAY['a'], '00000000-0000-0000-0000-0000000000b2', 100);
SELECT pg_stat_force_next_flush();
SELECT i.indexrelname, i.idx_scan - b.idx_scan > 0 AS scanned
  FROM pg_stat_user_indexes i JOIN idx_before b USING (indexrelname)
 WHERE i.schemaname = 'pgqueuer' ORDER BY 1;

-- PgQueuer's own workers ask for the next deferred job with this query
-- (its builder build_next_deferred_eta_query); its planner test wants
-- pgqueuer_ep_ea_idx under a Limit.
ANALYZE pgqueuer.pgqueuer;
EXPLAIN (COSTS OFF)
SELECT execute_after - now() AS eta FROM pgqueuer.pgqueuer
 WHERE status = 'queued' AND execute_after > now() AND entrypoint = ANY ('{a,b,c,d}')
 ORDER BY execute_after LIMIT 1;

DROP EXTENSION pgqueuer;

-- Picked jobs that a dequeue need not read.  In a new session the plans
-- are made and kept by the first dequeue of a limited entrypoint, with
-- statistics that saw no picked job; then 2,000 jobs of another entrypoint
-- are picked, their leases running.  Another worker's dequeue asking for
-- 20 limited entrypoints, with max_concurrent, reads none of them: it
-- counts the picked jobs of the 20 through pgqueuer_picked_ep_idx (a full
-- read of the index on heartbeats, once per entrypoint, read 80,000 rows),
-- its own through pgqueuer_queue_manager_id_idx, and looks for expired
-- leases from the oldest heartbeat (an EXISTS through
-- pgqueuer_picked_ep_idx read all 2,000).  It reads the 20 jobs it claims
-- and the heads of the 20: about a hundred rows.
\c
CREATE EXTENSION pgqueuer;
SET plan_cache_mode = force_generic_plan;
SELECT count(pgqueuer.register_entrypoint('lim_' || i, concurrency_limit => 5))
  FROM generate_series(1, 20) i;
SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('busy'::text, ARRAY[2000]));
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(SELECT 'lim_' || (i % 20 + 1) FROM generate_series(0, 39) i));
ANALYZE pgqueuer.pgqueuer;
SELECT count(*) AS first_limited FROM pgqueuer.dequeue(1, ARRAY['lim_1'], '00000000-0000-0000-0000-0000000000c1');
SELECT count(*) AS busy_picked FROM pgqueuer.dequeue(2000, ARRAY['busy'], '00000000-0000-0000-0000-0000000000c1');
BEGIN;
CREATE TEMP TABLE reads ON COMMIT DROP AS
  SELECT coalesce(idx_tup_fetch, 0) + seq_tup_read AS n FROM pg_stat_xact_user_tables
   WHERE schemaname = 'pgqueuer' AND relname = 'pgqueuer';
SELECT count(*) AS limited_picked FROM pgqueuer.dequeue(20,
  ARRAY(SELECT 'lim_' || i FROM generate_series(1, 20) i), '00000000-0000-0000-0000-0000000000c2', 100);
SELECT coalesce(t.idx_tup_fetch, 0) + t.seq_tup_read - r.n <= 500 AS read_no_picked_job
  FROM pg_stat_xact_user_tables t, reads r
 WHERE t.schemaname = 'pgqueuer' AND t.relname = 'pgqueuer';
COMMIT;
DROP EXTENSION pgqueuer;
