-- Schedules in time zones: cron_next() across daylight-saving changes in
-- both directions, schedule() with a zone or the default from
-- pgqueuer.schedule_timezone, and the firing path of run_maintenance().
CREATE EXTENSION pgqueuer;
SET timezone = 'UTC';

-- successive fire times: n, the instant (UTC) and the wall time in the zone
CREATE FUNCTION fires(e text, start timestamptz, zone text, n int)
RETURNS TABLE (n int, utc timestamptz, wall timestamp)
LANGUAGE sql AS $$
	WITH RECURSIVE r(n, t) AS (
		SELECT 0, start
		UNION ALL
		SELECT r.n + 1, pgqueuer.cron_next(e, r.t, zone) FROM r WHERE r.n < fires.n)
	SELECT r.n, r.t, r.t AT TIME ZONE zone FROM r WHERE r.n > 0 ORDER BY r.n
$$;

-- Europe/Oslo, spring forward on 2026-03-29: 02:00 CET -> 03:00 CEST.
-- A fixed time in the gap fires once, at the end of the gap (03:00).
SELECT * FROM fires('30 2 * * *', '2026-03-28 12:00+00', 'Europe/Oslo', 3);
-- several skipped times fire once together
SELECT * FROM fires('*/15 2 * * *', '2026-03-28 23:50+00', 'Europe/Oslo', 3);
-- every hour: real time goes on, the skipped 02:30 does not fire
SELECT * FROM fires('30 * * * *', '2026-03-28 23:50+00', 'Europe/Oslo', 3);

-- Europe/Oslo, fall back on 2026-10-25: 03:00 CEST -> 02:00 CET.
-- A fixed time in the repeated hour fires once, at its first occurrence.
SELECT * FROM fires('30 2 * * *', '2026-10-24 12:00+00', 'Europe/Oslo', 3);
SELECT * FROM fires('0,30 2 * * *', '2026-10-24 12:00+00', 'Europe/Oslo', 3);
-- every half hour: both passes of the repeated hour fire (real time)
SELECT * FROM fires('*/30 * * * *', '2026-10-24 23:50+00', 'Europe/Oslo', 7);

-- America/New_York: spring forward 2026-03-08 02:00 EST -> 03:00 EDT,
-- fall back 2026-11-01 02:00 EDT -> 01:00 EST
SELECT * FROM fires('30 2 * * *', '2026-03-07 12:00+00', 'America/New_York', 2);
SELECT * FROM fires('30 1 * * *', '2026-10-31 12:00+00', 'America/New_York', 2);
-- computed during the second pass (a late firing): 01:30 does not fire again
SELECT pgqueuer.cron_next('30 1 * * *', '2026-11-01 06:10+00', 'America/New_York');
-- six fields (trailing seconds): a skipped time fires at the end of the gap too
SELECT * FROM fires('30 2 * * * 10', '2026-03-07 12:00+00', 'America/New_York', 2);

-- a zone without daylight saving and UTC: the same as before
SELECT pgqueuer.cron_next('0 9 * * mon', '2026-03-14 10:17:42+00', 'Asia/Tokyo');
SELECT pgqueuer.cron_next('*/5 * * * *', '2026-03-14 10:17:42+00')
	= pgqueuer.cron_next('*/5 * * * *', '2026-03-14 10:17:42+00', 'UTC') AS utc_default;

-- bad zones
SELECT pgqueuer.cron_next('* * * * *', '2026-03-14 10:17:42+00', 'Mars/Olympus_Mons');
SELECT pgqueuer.cron_next('* * * * *', '2026-03-14 10:17:42+00', '');
SELECT pgqueuer.cron_next('* * * * *', '2026-03-14 10:17:42+00', NULL) IS NULL AS strict;
SET pgqueuer.schedule_timezone = 'Mars/Olympus_Mons';
SELECT pgqueuer.schedule('tz_bad', '* * * * *', timezone => 'Nowhere');

-- schedule(): the zone is stored as the tz database spells it; NULL takes
-- pgqueuer.schedule_timezone, which defaults to UTC
SHOW pgqueuer.schedule_timezone;
SELECT pgqueuer.schedule('tz_utc', '0 12 * * *') AS s_utc \gset
SELECT pgqueuer.schedule('tz_ny', '0 12 * * *', timezone => 'america/new_york') AS s_ny \gset
SET pgqueuer.schedule_timezone = 'Europe/Oslo';
SELECT pgqueuer.schedule('tz_oslo', '0 12 * * *') AS s_oslo \gset
RESET pgqueuer.schedule_timezone;
SELECT entrypoint, timezone, (next_run AT TIME ZONE timezone)::time AS local_time,
	next_run = pgqueuer.cron_next(expression, created, timezone) AS next_run_ok
FROM pgqueuer.pgqueuer_schedules ORDER BY id;

-- re-registering: the same zone keeps next_run, another zone moves it
UPDATE pgqueuer.pgqueuer_schedules SET next_run = '2030-01-01 00:00+00' WHERE id = :s_ny;
SELECT pgqueuer.schedule('tz_ny', '0 12 * * *', timezone => 'America/New_York') = :s_ny AS same_id;
SELECT next_run FROM pgqueuer.pgqueuer_schedules WHERE id = :s_ny;
SELECT pgqueuer.schedule('tz_ny', '0 12 * * *', timezone => 'Asia/Kolkata') = :s_ny AS same_id;
SELECT timezone, (next_run AT TIME ZONE 'Asia/Kolkata')::time AS local_time
FROM pgqueuer.pgqueuer_schedules WHERE id = :s_ny;

-- PgQueuer's own rows (no timezone column in its inserts) read UTC
INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'pgq_own');
SELECT timezone FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'pgq_own';

-- firing: a due schedule enqueues one job and moves next_run to the next
-- 12:00 on its zone's clock
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 minute'
WHERE id IN (:s_oslo, :s_ny);
BEGIN;
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
SELECT entrypoint, (next_run AT TIME ZONE timezone)::time AS local_time,
	next_run = pgqueuer.cron_next(expression, now(), timezone) AS next_run_ok,
	last_run = now() AS fired
FROM pgqueuer.pgqueuer_schedules WHERE id IN (:s_oslo, :s_ny) ORDER BY id;
COMMIT;
SELECT entrypoint, count(*) FROM pgqueuer.pgqueuer GROUP BY entrypoint ORDER BY 1;

-- a zone written behind our back that PostgreSQL does not know is parked
UPDATE pgqueuer.pgqueuer_schedules SET timezone = 'Nowhere/Atlantis',
	next_run = now() - interval '1 minute' WHERE id = :s_oslo;
SELECT duty, rows FROM pgqueuer.run_maintenance() WHERE duty = 'schedules';
SELECT next_run FROM pgqueuer.pgqueuer_schedules WHERE id = :s_oslo;

DROP FUNCTION fires(text, timestamptz, text, int);
DROP EXTENSION pgqueuer;
