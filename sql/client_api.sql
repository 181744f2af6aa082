-- The lookups of the clients (1.1): entrypoint_leases(), next_due(),
-- jobs_not_held(), current_durability(); and who may call them.  (The
-- listings list_jobs(), list_schedules() and workers() are the dashboard's.)
CREATE EXTENSION pgqueuer;

-- an empty queue
SELECT pgqueuer.next_due(ARRAY['a']) IS NULL AS nothing_due;
SELECT pgqueuer.current_durability();

-- jobs of two entrypoints, one deferred, one held as failed, two picked
SELECT pgqueuer.enqueue('a', '\x0102'::bytea, priority => 1) AS a1 \gset
SELECT pgqueuer.enqueue('a', NULL, execute_after => '1 hour') AS a2 \gset
SELECT pgqueuer.enqueue('b', 'xyz'::bytea, dedupe_key => 'k') AS b1 \gset
SELECT pgqueuer.enqueue('b') AS b2 \gset
SELECT pgqueuer.enqueue('c') AS c1 \gset
SELECT count(*) AS picked FROM pgqueuer.dequeue(2, ARRAY['b'], '00000000-0000-0000-0000-00000000000b');
SELECT count(*) AS picked FROM pgqueuer.dequeue(1, ARRAY['c'], '00000000-0000-0000-0000-00000000000c');
SELECT * FROM pgqueuer.complete(ARRAY[:c1]::bigint[], '{failed}') AS held;

-- leases: registry, else the GUC (30 s here); input order; NULLs skipped
SHOW pgqueuer.lease_timeout;
SELECT pgqueuer.register_entrypoint('a', lease_timeout => '2 minutes');
SELECT * FROM pgqueuer.entrypoint_leases(ARRAY['b', NULL, 'a', 'unknown']);
SELECT * FROM pgqueuer.entrypoint_leases(ARRAY[]::text[]);

-- next_due: a due job gives <= 0, a deferred one about an hour, paused none
SELECT pgqueuer.next_due(ARRAY['a']) <= 0 AS due_now;
SELECT count(*) AS done
  FROM pgqueuer.complete(ARRAY(SELECT id FROM pgqueuer.dequeue(1, ARRAY['a'], gen_random_uuid())),
                         '{successful}');
SELECT pgqueuer.next_due(ARRAY['a']) BETWEEN 3500 AND 3600 AS due_in_an_hour;
SELECT pgqueuer.pause('a');
SELECT pgqueuer.next_due(ARRAY['a']) IS NULL AS paused;
SELECT pgqueuer.next_due(ARRAY['b', 'c']) IS NULL AS none_queued;
SELECT pgqueuer.next_due(NULL) IS NULL AS null_input;

-- jobs_not_held: held jobs are not listed; gone, failed, other workers' are
SELECT * FROM pgqueuer.jobs_not_held(ARRAY[:b1, :b2]::bigint[], '00000000-0000-0000-0000-00000000000b');
SELECT * FROM pgqueuer.cancel(ARRAY[:b1]::bigint[]);
SELECT job_id = :b1 AS is_b1, status
  FROM pgqueuer.jobs_not_held(ARRAY[:b1, :b2, :b2, NULL]::bigint[], '00000000-0000-0000-0000-00000000000b');
SELECT job_id = :b2 AS is_b2, status
  FROM pgqueuer.jobs_not_held(ARRAY[:b2]::bigint[], '00000000-0000-0000-0000-0000000000ff');
SELECT job_id = :c1 AS is_c1, status
  FROM pgqueuer.jobs_not_held(ARRAY[:c1]::bigint[], '00000000-0000-0000-0000-00000000000c');
SELECT count(*) FROM pgqueuer.jobs_not_held(NULL, NULL);

-- durability
SELECT count(*) > 0 AS switched FROM pgqueuer.set_durability('balanced');
SELECT pgqueuer.current_durability();

-- hostile arguments: NULLs, extreme numbers, million-element arrays
SELECT count(*) FROM pgqueuer.entrypoint_leases(NULL);
SELECT count(*) FROM pgqueuer.entrypoint_leases(ARRAY(SELECT 'e' || g FROM generate_series(1, 1000000) g));
SELECT pgqueuer.next_due(ARRAY(SELECT 'e' || g FROM generate_series(1, 1000000) g)) IS NULL AS none;
SELECT * FROM pgqueuer.jobs_not_held(ARRAY[-1, 0, 9223372036854775807], '00000000-0000-0000-0000-000000000000');
SELECT count(*) FROM pgqueuer.jobs_not_held(ARRAY(SELECT g FROM generate_series(1, 1000000) g), gen_random_uuid());
SELECT count(*) FROM pgqueuer.jobs_not_held(ARRAY[1]::bigint[], NULL);

-- privileges: worker and admin may call them, producer and PUBLIC not
CREATE ROLE pgq_capi_producer IN ROLE pgqueuer_producer;
CREATE ROLE pgq_capi_worker IN ROLE pgqueuer_worker;
SELECT p.proname,
       has_function_privilege('pgq_capi_producer', p.oid, 'EXECUTE') AS producer,
       has_function_privilege('pgq_capi_worker', p.oid, 'EXECUTE') AS worker,
       has_function_privilege('pgqueuer_admin', p.oid, 'EXECUTE') AS admin,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public,
       p.prosecdef, p.proconfig
  FROM pg_proc p
 WHERE p.pronamespace = 'pgqueuer'::regnamespace
   AND p.proname IN ('entrypoint_leases', 'next_due', 'jobs_not_held', 'current_durability')
 ORDER BY 1;
SET ROLE pgq_capi_worker;
SELECT count(*) FROM pgqueuer.entrypoint_leases(ARRAY['a']);
SET ROLE pgq_capi_producer;
\set VERBOSITY sqlstate
SELECT count(*) FROM pgqueuer.entrypoint_leases(ARRAY['a']);
\set VERBOSITY default
RESET ROLE;

DROP ROLE pgq_capi_producer, pgq_capi_worker;
DROP EXTENSION pgqueuer;
