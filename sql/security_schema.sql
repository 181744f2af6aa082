-- Objects planted in schema pgqueuer (SECURITY.md, section 1).  The attacks
-- are made by pgq_mallory, an ordinary login role with CREATE on the
-- database; the superuser then installs and uses the extension.  A planted
-- object records in public.pwned who ran it; it must never run.
SELECT current_user AS superuser \gset
CREATE ROLE pgq_mallory LOGIN;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO pgq_mallory', current_database()); END $$;
CREATE TABLE public.pwned (who text, what text);
GRANT SELECT, INSERT, DELETE ON public.pwned TO PUBLIC;
\set SHOW_CONTEXT never

--
-- 1. A schema prepared before the install is refused.
--
\c - pgq_mallory
CREATE SCHEMA pgqueuer;
CREATE FUNCTION pgqueuer.cat(text, integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'text || integer');
	RETURN $1 OPERATOR(pg_catalog.||) $2::text;
END
$$;
CREATE OPERATOR pgqueuer.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = pgqueuer.cat);
-- control: wherever pgqueuer is on search_path, the planted operator wins
SET search_path = pg_catalog, pgqueuer;
SELECT 'attempt ' || 1 AS planted;
RESET search_path;
SELECT who, what FROM public.pwned;
DELETE FROM public.pwned;

\c - :superuser
\set SHOW_CONTEXT never
CREATE EXTENSION pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
-- what the old HINT advised: a superuser owner keeps what was planted
DO $$ BEGIN EXECUTE format('ALTER SCHEMA pgqueuer OWNER TO %I', current_user); END $$;
CREATE EXTENSION pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
-- empty and owned by a superuser, but another role may create in it
DROP OPERATOR pgqueuer.|| (text, integer);
DROP FUNCTION pgqueuer.cat(text, integer);
GRANT CREATE ON SCHEMA pgqueuer TO pgq_mallory;
CREATE EXTENSION pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
GRANT CREATE ON SCHEMA pgqueuer TO PUBLIC;
REVOKE CREATE ON SCHEMA pgqueuer FROM pgq_mallory;
CREATE EXTENSION pgqueuer;
\echo sqlstate :LAST_ERROR_SQLSTATE
-- empty, owned by a superuser, CREATE for nobody else: accepted
REVOKE CREATE ON SCHEMA pgqueuer FROM PUBLIC;
CREATE EXTENSION pgqueuer;
SELECT count(*) AS problems FROM pgqueuer.verify();
-- no function of the extension looks anything up in schema pgqueuer
SELECT p.oid::regprocedure AS without_fixed_search_path FROM pg_proc p
 WHERE p.pronamespace = 'pgqueuer'::regnamespace
   AND p.proconfig IS DISTINCT FROM ARRAY['search_path=pg_catalog, pg_temp']
 ORDER BY 1;

--
-- 2. Objects planted after the install, through a CREATE grant on the
--    schema that an administrator should not have made.
--
GRANT ALL ON SCHEMA pgqueuer TO pgq_mallory;
\c - pgq_mallory
CREATE FUNCTION pgqueuer.cat(text, integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'text || integer');
	RETURN $1 OPERATOR(pg_catalog.||) $2::text;
END
$$;
CREATE OPERATOR pgqueuer.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = pgqueuer.cat);
-- an "=" more exact than pg_catalog's anyenum = anyenum
CREATE FUNCTION pgqueuer.status_eq(pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'pgqueuer_status = pgqueuer_status');
	RETURN $1::text OPERATOR(pg_catalog.=) $2::text;
END
$$;
CREATE OPERATOR pgqueuer.= (LEFTARG = pgqueuer.pgqueuer_status,
	RIGHTARG = pgqueuer.pgqueuer_status, FUNCTION = pgqueuer.status_eq);
-- functions more exact than pg_catalog's unnest(anyarray) and
-- jsonb_build_object(VARIADIC "any")
CREATE FUNCTION pgqueuer.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'unnest(text[])');
	RETURN QUERY SELECT * FROM pg_catalog.unnest($1);
END
$$;
CREATE FUNCTION pgqueuer.jsonb_build_object(text, bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'jsonb_build_object(text, bigint)');
	RETURN '{}';
END
$$;
-- control: each is picked where pgqueuer is on search_path
SET search_path = pg_catalog, pgqueuer;
SELECT 'queued'::pgqueuer.pgqueuer_status = 'queued'::pgqueuer.pgqueuer_status AS planted_eq,
	(SELECT count(*) FROM unnest(ARRAY['a']::text[])) AS planted_unnest;
RESET search_path;
SELECT who, what FROM public.pwned ORDER BY what;
DELETE FROM public.pwned;

\c - :superuser
\set SHOW_CONTEXT never
-- verify() names every planted object and the grant
SELECT * FROM pgqueuer.verify();

-- the superuser uses every part of the extension
CREATE ROLE pgq_planted_worker LOGIN IN ROLE pgqueuer_worker;
SELECT pgqueuer.register_entrypoint('pl_limited', concurrency_limit => 2,
	requests_per_second => 100, max_attempts => 1);
SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY['pl_limited', 'pl_limited', 'pl_limited', 'pl_free'],
	dedupe_keys => ARRAY['k1', NULL, NULL, NULL], on_conflict => 'skip');
SELECT pgqueuer.enqueue('pl_free', dedupe_key => 'k1', on_conflict => 'skip') IS NULL AS skipped;
SELECT pgqueuer.enqueue('pl_deferred', execute_after => '1 hour');
SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['pl_limited', 'pl_free'],
	'00000000-0000-0000-0000-00000000000a', max_concurrent => 10);
SELECT count(*) FROM pgqueuer.complete(
	(SELECT pg_catalog.array_agg(id ORDER BY id) FROM pgqueuer.pgqueuer
	  WHERE entrypoint = 'pl_limited' AND status = 'picked'),
	ARRAY['exception', 'failed']::pgqueuer.pgqueuer_status[],
	queue_manager_id => '00000000-0000-0000-0000-00000000000a');
SELECT count(*) FROM pgqueuer.requeue(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE status = 'failed'));
-- a lease that expired, for the maintenance pass
UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 day' WHERE status = 'picked';
-- a deferred job that became due, and a due schedule
UPDATE pgqueuer.pgqueuer SET execute_after = now() - interval '1 second' WHERE entrypoint = 'pl_deferred';
SELECT pgqueuer.schedule('pl_cron', '* * * * *') > 0 AS scheduled;
UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 minute' WHERE entrypoint = 'pl_cron';
-- history for the time fold: rows older than its horizon, watermark before them
UPDATE pgqueuer.pgqueuer_log SET created = created - interval '1 minute' WHERE aggregated IS NULL;
UPDATE pgqueuer.pgqueuer_settings SET value = '0' WHERE name = 'statistics_folded_until';
SELECT duty, rows > 0 AS did_work FROM pgqueuer.run_maintenance() ORDER BY duty;
SELECT count(*) > 0 AS has_stats FROM pgqueuer.log_statistics(10, '1 day');
SELECT count(*) > 0 AS sized FROM pgqueuer.queue_size();
SELECT count(*) > 0 AS logged FROM pgqueuer.job_status(ARRAY(SELECT job_id FROM pgqueuer.pgqueuer_log));
SELECT count(*) FROM pgqueuer.cancel(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'pl_free'));
SELECT pgqueuer.pause('pl_free'), pgqueuer.resume('pl_free');
SELECT pgqueuer.unschedule('pl_cron');
SELECT count(*) >= 0 AS ok FROM pgqueuer.set_durability('balanced');
SELECT count(*) >= 0 AS ok FROM pgqueuer.set_durability('durable');
SELECT count(*) > 0 AS ok FROM pgqueuer.autovac();
-- and a worker role does its part
\c - pgq_planted_worker
\set SHOW_CONTEXT never
SELECT pgqueuer.enqueue('pl_worker') > 0 AS enqueued;
SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['pl_worker'], '00000000-0000-0000-0000-00000000000b');
SELECT pgqueuer.heartbeat(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'pl_worker'),
	'00000000-0000-0000-0000-00000000000b');
SELECT pgqueuer.retry((SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'pl_worker'),
	queue_manager_id => '00000000-0000-0000-0000-00000000000b');

\c - :superuser
\set SHOW_CONTEXT never
-- none of the planted code ran, as superuser or as anybody
SELECT count(*) AS planted_calls FROM public.pwned;

-- dropped, the schema is healthy again
DROP OPERATOR pgqueuer.|| (text, integer);
DROP OPERATOR pgqueuer.= (pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status);
DROP FUNCTION pgqueuer.cat(text, integer), pgqueuer.status_eq(pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status),
	pgqueuer.unnest(text[]), pgqueuer.jsonb_build_object(text, bigint);
REVOKE ALL ON SCHEMA pgqueuer FROM pgq_mallory;
SELECT * FROM pgqueuer.verify();

DROP EXTENSION pgqueuer;
DROP SCHEMA pgqueuer;
DROP TABLE public.pwned;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM pgq_mallory', current_database()); END $$;
DROP ROLE pgq_mallory, pgq_planted_worker;
