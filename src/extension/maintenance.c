/*-------------------------------------------------------------------------
 *
 * maintenance.c
 *		run_maintenance(): one pass of every background-worker duty.
 *
 * The background worker calls the same duties on its timer; this function
 * makes them reachable by hand, from cron, or from tests, and is how a
 * server without pgqueuer in shared_preload_libraries keeps its queues
 * healthy.  Duties: lease expiry, due schedules, deferred wake-ups,
 * statistics folding (single writer), retention.
 *
 * IDENTIFICATION
 *		src/extension/maintenance.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "compat.h"
#include "pgqueuer.h"

PG_FUNCTION_INFO_V1(pgqueuer_run_maintenance);

/* expired leases handled per pass at most */
#define MAINTENANCE_LEASE_LIMIT 10000

/* statistics chunks folded per pass at most */
#define MAINTENANCE_FOLD_CHUNKS 10

/*
 * Jobs that were deferred (execute_after later than created: delayed
 * enqueues and retries with backoff; enqueue itself announces jobs due at
 * once) and became due since the last announcement: announce them and move
 * the watermark, kept in pgqueuer_settings as epoch seconds, to now.
 */
static const char *const deferred_sql =
"WITH w AS ("
" SELECT COALESCE((SELECT pg_catalog.to_timestamp(value::float8) FROM pgqueuer.pgqueuer_settings"
"                  WHERE name = 'deferred_notified_until'), '-infinity') AS since"
"), due AS ("
" SELECT q.entrypoint, pg_catalog.count(*) AS n FROM pgqueuer.pgqueuer q, w"
" WHERE q.status = 'queued' AND q.execute_after > w.since"
"   AND q.execute_after <= pg_catalog.now() AND q.execute_after > q.created"
" GROUP BY q.entrypoint"
"), mark AS ("
" INSERT INTO pgqueuer.pgqueuer_settings (name, value)"
" SELECT 'deferred_notified_until', pg_catalog.date_part('epoch', pg_catalog.now())::text"
"  WHERE EXISTS (SELECT 1 FROM due)"
" ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated = pg_catalog.now()"
") SELECT entrypoint, n FROM due";

static SPIPlanPtr deferred_plan = NULL;

/*
 * announce_deferred
 *		NOTIFY the entrypoints whose deferred jobs became due.  Returns the
 *		number of such jobs.  Must run inside SPI.
 */
static int64
announce_deferred(void)
{
	int			n;
	int64		jobs = 0;
	char	  **woken;

	n = pgq_execute(pgq_plan(&deferred_plan, deferred_sql, 0, NULL), NULL,
					NULL, SPI_OK_SELECT);
	if (n == 0)
		return 0;
	woken = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;

		woken[i] = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		jobs += pgq_getint64(i, 2);
	}
	pgq_notify_table_changed("update", woken, n, jobs);
	return jobs;
}

/*
 * put_row
 *		One (duty, rows) result row.
 */
static void
put_row(ReturnSetInfo *rsinfo, const char *duty, int64 rows)
{
	Datum		values[2] = {CStringGetTextDatum(duty), Int64GetDatum(rows)};
	bool		nulls[2] = {false, false};

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * pgqueuer_run_maintenance
 *		run_maintenance() -> TABLE(duty text, rows bigint)
 */
Datum
pgqueuer_run_maintenance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	  **woken;
	int			nwoken;
	int64		expired;
	int64		fired;
	int64		announced;
	int64		folded = 0;
	int64		pruned;
	int64		chunk;

	pgq_init_materialized_srf(fcinfo);
	pgq_connect();

	expired = pgq_expire_leases(NULL, MAINTENANCE_LEASE_LIMIT, &woken, &nwoken);
	if (nwoken > 0)
		pgq_notify_table_changed("update", woken, nwoken, expired);
	fired = pgq_fire_schedules();
	announced = announce_deferred();
	for (int i = 0; i < MAINTENANCE_FOLD_CHUNKS; i++)
	{
		chunk = pgq_fold_statistics(pgq_stats_chunk, true);
		folded += chunk;
		if (chunk < pgq_stats_chunk)
			break;
	}
	pruned = pgq_prune_history();

	pgq_finish();

	put_row(rsinfo, "lease_expiry", expired);
	put_row(rsinfo, "schedules", fired);
	put_row(rsinfo, "deferred_wakeups", announced);
	put_row(rsinfo, "statistics", folded);
	put_row(rsinfo, "retention", pruned);
	return (Datum) 0;
}
