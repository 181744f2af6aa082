-- pgqueuer.history: how many log rows a job leaves in each mode, who may
-- change it, and the statistics fold by time (statistics.c)
CREATE EXTENSION pgqueuer;
SET pgqueuer.statistics_fold_margin = 0;

-- two jobs enqueued, one dequeued and completed as successful, the other
-- canceled, under the current mode
CREATE FUNCTION pg_temp.life(ep text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	j bigint;
BEGIN
	PERFORM pgqueuer.enqueue_batch(ARRAY[ep, ep]);
	SELECT min(id) INTO j FROM pgqueuer.dequeue(1, ARRAY[ep], '00000000-0000-0000-0000-000000000001');
	PERFORM pgqueuer.complete(ARRAY[j], ARRAY['successful']::pgqueuer.pgqueuer_status[]);
	PERFORM pgqueuer.cancel(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = ep));
END
$$;
CREATE TEMP VIEW log_rows AS
SELECT entrypoint, status, count(*) AS n, bool_and(aggregated IS NULL) AS by_time
  FROM pgqueuer.pgqueuer_log GROUP BY 1, 2 ORDER BY 1, 2;

SHOW pgqueuer.history;
SELECT pg_temp.life('h_full');
SET pgqueuer.history = finished;
SELECT pg_temp.life('h_finished');
SET pgqueuer.history = none;
SELECT pg_temp.life('h_none');
RESET pgqueuer.history;
-- full: queued, picked, outcome; finished: outcomes only; none: nothing
SELECT * FROM log_rows;

-- a server-fired schedule's job is a 'queued' transition, kept only by full
SET pgqueuer.history = finished;
SELECT pgqueuer.schedule('h_cron', '* * * * *') > 0 AS scheduled;
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 minute' WHERE entrypoint = 'h_cron';
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
SELECT count(*) AS cron_log_rows FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'h_cron';
RESET pgqueuer.history;

-- bad values are refused
\set SHOW_CONTEXT never
SET pgqueuer.history = 'some';
\echo sqlstate :LAST_ERROR_SQLSTATE

-- a role below superuser may not change it, not even for its own session
CREATE ROLE history_user;
GRANT pgqueuer_producer TO history_user;
SET ROLE history_user;
SET pgqueuer.history = none;
\echo sqlstate :LAST_ERROR_SQLSTATE
SHOW pgqueuer.history;
RESET ROLE;
\set SHOW_CONTEXT errors

-- the time fold: rows written by this session's earlier transactions are
-- counted once, by a fold that does not update them
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
SELECT count(*) AS rewritten FROM pgqueuer.pgqueuer_log WHERE aggregated IS NOT NULL;
SELECT entrypoint, status, sum(count) FROM pgqueuer.pgqueuer_statistics GROUP BY 1, 2 ORDER BY 1, 2;
-- folding again counts nothing twice
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
-- a row written in the fold's own transaction starts at or after its
-- horizon: not counted by the time fold, but log_statistics() counts it
BEGIN;
SELECT pgqueuer.enqueue('h_same') > 0 AS enqueued;
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
SELECT sum(count) AS h_same FROM pgqueuer.log_statistics(NULL, NULL) WHERE entrypoint = 'h_same';
COMMIT;
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
SELECT sum(count) AS h_same FROM pgqueuer.pgqueuer_statistics WHERE entrypoint = 'h_same';

-- rows written as PgQueuer's clients write them (aggregated = false) are
-- still flipped and counted
INSERT INTO pgqueuer.pgqueuer_log (job_id, status, priority, entrypoint) VALUES (0, 'successful', 0, 'h_pq');
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
SELECT aggregated FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'h_pq';
SELECT sum(count) AS h_pq FROM pgqueuer.pgqueuer_statistics WHERE entrypoint = 'h_pq';

-- retention deletes a row pgqueuer wrote only once the time fold counted
-- it: the statistics duty, which runs first, counts the old row, then
-- retention deletes it (pgqueuer.log_retention: 7 days)
SELECT pgqueuer.enqueue('h_old') > 0 AS enqueued;
UPDATE pgqueuer.pgqueuer_log SET created = now() - interval '8 days' WHERE entrypoint = 'h_old';
-- (the watermark goes back 9 days; the rows above are counted already)
UPDATE pgqueuer.pgqueuer_log SET aggregated = true WHERE entrypoint <> 'h_old';
UPDATE pgqueuer.pgqueuer_settings SET value = EXTRACT(epoch FROM now() - interval '9 days')::text
 WHERE name = 'statistics_folded_until';
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty IN ('statistics', 'retention') ORDER BY duty;
SELECT count(*) AS h_old_kept FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'h_old';

-- an unusable watermark (only a superuser can write it) stops the time
-- fold, and verify() says so
BEGIN;
UPDATE pgqueuer.pgqueuer_settings SET value = 'soon' WHERE name = 'statistics_folded_until';
SELECT pgqueuer.enqueue('h_bad') > 0 AS enqueued;
SELECT v FROM pgqueuer.verify() AS v WHERE v LIKE '%statistics_folded_until%';
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'statistics';
ROLLBACK;

DROP VIEW log_rows;
DROP EXTENSION pgqueuer;
DROP ROLE history_user;
