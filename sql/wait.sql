-- wait_for(): waiting on the server until jobs reached their outcome.
-- Regression runs with pgqueuer preloaded, so the condition variable is
-- used; the TAP test 004_wait.pl measures the wake-up and covers the
-- fallback without preloading.
CREATE EXTENSION pgqueuer;

-- bad input
SELECT * FROM pgqueuer.wait_for(NULL, '1 s');
SELECT * FROM pgqueuer.wait_for(ARRAY[1], NULL);
SELECT * FROM pgqueuer.wait_for(ARRAY[1, NULL], '1 s');
SELECT * FROM pgqueuer.wait_for(ARRAY[1], '-1 s');
SELECT * FROM pgqueuer.wait_for(ARRAY[1, 1], '1 s');
SELECT * FROM pgqueuer.wait_for(ARRAY[[1, 2], [3, 4]], '1 s');
SELECT * FROM pgqueuer.wait_for(ARRAY(SELECT pg_catalog.generate_series(1, 10001)::bigint), '0');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM pgqueuer.wait_for(ARRAY[1], '0');
ROLLBACK;

-- nothing to wait for
SELECT * FROM pgqueuer.wait_for('{}', '10 s');
SELECT * FROM pgqueuer.wait_for(ARRAY[-5, 0, 999999], '10 s');

-- one job of each kind
SELECT pgqueuer.enqueue('w_ok') AS ok \gset
SELECT pgqueuer.enqueue('w_exc') AS exc \gset
SELECT pgqueuer.enqueue('w_hold') AS hold \gset
SELECT pgqueuer.enqueue('w_cancel') AS can \gset
SELECT pgqueuer.enqueue('w_run') AS run \gset
SELECT pgqueuer.enqueue('w_idle') AS idle \gset

-- a zero timeout reads once; a short one returns the jobs still unfinished
SELECT job_id OPERATOR(pg_catalog.=) :ok AS first, status
FROM pgqueuer.wait_for(ARRAY[:ok, :run], '0');
SELECT count(*) AS picked FROM pgqueuer.dequeue(10,
	ARRAY['w_ok', 'w_exc', 'w_hold', 'w_run'], '00000000-0000-0000-0000-00000000000a');
SELECT s.ord, w.status
FROM pgqueuer.wait_for(ARRAY[:run, :idle], '30 ms') w
JOIN unnest(ARRAY[:run, :idle]) WITH ORDINALITY AS s(id, ord) ON s.id = w.job_id
ORDER BY s.ord;

-- outcomes: each is final, including a held job; unknown ids are left out
SELECT count(*) FROM pgqueuer.complete(ARRAY[:ok, :exc, :hold],
	ARRAY['successful', 'exception', 'failed']::pgqueuer.pgqueuer_status[]);
SELECT count(*) FROM pgqueuer.cancel(ARRAY[:can]);
SELECT s.ord, w.status
FROM pgqueuer.wait_for(ARRAY[:hold, 424242, :ok, :can, :exc], '10 s') w
JOIN unnest(ARRAY[:hold, 424242, :ok, :can, :exc]) WITH ORDINALITY AS s(id, ord)
	ON s.id = w.job_id
ORDER BY s.ord;

-- a requeued held job is unfinished again
SELECT count(*) FROM pgqueuer.requeue(ARRAY[:hold]);
SELECT status FROM pgqueuer.wait_for(ARRAY[:hold], '0');

-- privileges: producers may wait
SELECT pg_catalog.has_function_privilege('pgqueuer_producer',
	'pgqueuer.wait_for(bigint[], interval)', 'EXECUTE') AS producer,
	pg_catalog.has_function_privilege('public',
	'pgqueuer.wait_for(bigint[], interval)', 'EXECUTE') AS public;

-- clean up
DROP EXTENSION pgqueuer;
