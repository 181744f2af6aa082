-- cron_next(): the dialect, and errors naming field and position
CREATE EXTENSION pgqueuer;
SET timezone = 'UTC';

SELECT e, pgqueuer.cron_next(e, '2026-03-14 10:17:42+00') AS next
  FROM unnest(ARRAY[
    '* * * * *', '*/15 * * * *', '0 * * * *', '30 9 * * 1-5', '0 0 1 * *',
    '0 0 1 1 *', '5,10 8-9 * * *', '0 12 * jan,jul *', '0 0 * * sun', '0 0 * * 7',
    '0 0 13 * 5', '0 0 29 2 *', '59 23 31 12 *', '* * * * * */3', '*/3 * * * * *',
    '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly',
    '0 9-17/4 * * mon-fri', '10/20 * * * *', '  0   6 * * *  '
  ]) AS e;
-- strictly after: an instant that matches gives the next one
SELECT pgqueuer.cron_next('0 * * * *', '2026-03-14 10:00:00+00');
SELECT pgqueuer.cron_next('* * * * * *', '2026-03-14 10:00:00.5+00');
-- default "after" is now()
SELECT pgqueuer.cron_next('* * * * *') > now() AS in_future;
SELECT pgqueuer.cron_next(NULL) IS NULL AS strict;

\set SHOW_CONTEXT never
SELECT pgqueuer.cron_next('* 25 * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('61 * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('* * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('* * * * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('bla * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('* * * foo *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('5-3 * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('*/0 * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('1,,2 * * * *');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('@reboot');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('0 0 30 2 *', '2026-01-01 00:00:00+00');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT pgqueuer.cron_next('* * * * *', 'infinity');
\echo sqlstate :LAST_ERROR_SQLSTATE
\set SHOW_CONTEXT errors

DROP EXTENSION pgqueuer;
