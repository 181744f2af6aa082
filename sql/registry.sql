-- register_entrypoint(), pause(), resume(), queue_size(), job_status(), log_statistics()
CREATE EXTENSION pgqueuer;

SELECT pgqueuer.register_entrypoint('mail', concurrency_limit => 3, lease_timeout => '1 minute',
                                    max_attempts => 4, requests_per_second => 2.5, on_failure => 'hold');
SELECT entrypoint, concurrency_limit, requests_per_second, lease_timeout, max_attempts,
       retry_backoff_base, retry_backoff_max, on_failure, paused, registered
  FROM pgqueuer.pgqueuer_entrypoints;
-- registering again updates the settings and keeps the paused flag
SELECT pgqueuer.pause('mail');
SELECT pgqueuer.register_entrypoint('mail');
SELECT entrypoint, concurrency_limit, requests_per_second, lease_timeout, max_attempts, on_failure, paused
  FROM pgqueuer.pgqueuer_entrypoints;
SELECT pgqueuer.pause('mail');
SELECT pgqueuer.resume('mail');
SELECT pgqueuer.resume('mail');
SELECT pgqueuer.resume('nobody');
-- pausing an unknown entrypoint creates an unregistered row
SELECT pgqueuer.pause('ghost');
SELECT entrypoint, paused, registered, lease_timeout, max_attempts FROM pgqueuer.pgqueuer_entrypoints WHERE entrypoint = 'ghost';

\set SHOW_CONTEXT never
SELECT pgqueuer.register_entrypoint(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', concurrency_limit => -1);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', lease_timeout => '0');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', lease_timeout => '-1 s');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', max_attempts => -2);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', requests_per_second => -1);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', requests_per_second => 'NaN');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', retry_backoff_base => '-1 s');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', on_failure => 'retry');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.register_entrypoint('x', concurrency_limit => NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.pause(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.pause('');
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors
SELECT count(*) AS no_x FROM pgqueuer.pgqueuer_entrypoints WHERE entrypoint = 'x';

-- queue_size: grouped by priority, entrypoint and status, held jobs included
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['a', 'a', 'b', 'b', 'b'], priorities => ARRAY[1, 1, 0, 0, 2]);
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['b'], '00000000-0000-0000-0000-000000000001');
SELECT count(*) FROM pgqueuer.complete(ARRAY[5], ARRAY['failed']::pgqueuer.pgqueuer_status[]);
SELECT * FROM pgqueuer.queue_size();

-- job_status: the latest logged status; never-logged ids absent
SELECT * FROM pgqueuer.job_status(ARRAY[1, 2, 5, 424242]) ORDER BY job_id;
SELECT count(*) FROM pgqueuer.job_status(ARRAY[]::bigint[]);

-- log_statistics: folds the log, each row counted once
SELECT sum(count) AS total, count(*) > 0 AS some_buckets FROM pgqueuer.log_statistics();
SELECT status, sum(count) FROM pgqueuer.log_statistics() GROUP BY status ORDER BY status;
SELECT count(*) AS unaggregated FROM pgqueuer.pgqueuer_log WHERE NOT aggregated;
SELECT count(*) FROM pgqueuer.log_statistics(max_rows => 1);
SELECT sum(count) FROM pgqueuer.log_statistics(last => '1 hour');
\set SHOW_CONTEXT never
SELECT * FROM pgqueuer.log_statistics(max_rows => -1);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.log_statistics(last => '-1 hour');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM pgqueuer.job_status(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

DROP EXTENSION pgqueuer;
