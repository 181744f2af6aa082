/*-------------------------------------------------------------------------
 *
 * maintenance.c
 *		run_maintenance(): one pass of every background-worker duty.
 *
 * The background worker (worker.c) calls the same duties on its timer,
 * each in its own transaction, through pgq_maintenance_duty(); this
 * function makes them reachable by hand, from cron, or from tests, and is
 * how a server without pgqueuer in shared_preload_libraries keeps its
 * queues healthy.  Duties: lease expiry, due schedules, deferred wake-ups,
 * statistics folding (single writer), retention.
 *
 * IDENTIFICATION
 *		src/api/maintenance.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "compat.h"
#include "guc.h"
#include "leases.h"
#include "log_partitions.h"
#include "maintenance.h"
#include "notify.h"
#include "plan_shape.h"
#include "row_checks.h"
#include "schedules.h"
#include "schema_version.h"
#include "spi_util.h"
#include "statistics.h"


PG_FUNCTION_INFO_V1(pgqueuer_run_maintenance);
PG_FUNCTION_INFO_V1(pgqueuer_check_background);

/* expired leases handled per pass at most */
#define MAINTENANCE_LEASE_LIMIT 10000

/* statistics chunks folded per pass at most */
#define MAINTENANCE_FOLD_CHUNKS 10

/*
 * Jobs that were deferred (execute_after later than created: delayed
 * enqueues and retries with backoff; enqueue itself announces jobs due at
 * once) and became due since the last announcement: announce them and move
 * the watermark, kept in pgqueuer_settings as epoch seconds, to now.  A
 * watermark that is not such a number (written directly) counts as never:
 * the jobs are announced again, and the next announcement repairs it.
 */
static const char *const deferred_sql =
	"WITH w AS ("
	" SELECT COALESCE((SELECT pg_catalog.to_timestamp(value::pg_catalog.float8)"
	"                  FROM pgqueuer.pgqueuer_settings"
	"                  WHERE name OPERATOR(pg_catalog.=) 'deferred_notified_until'::pg_catalog.text"
	"                    AND value OPERATOR(pg_catalog.~) '^[0-9]{1,12}(\\.[0-9]{1,9})?$'::pg_catalog.text),"
	"                 '-infinity'::pg_catalog.timestamptz) AS since"
	"), due AS ("
	" SELECT q.entrypoint, pg_catalog.count(*) AS n FROM pgqueuer.pgqueuer q, w"
	" WHERE q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status"
	"   AND q.execute_after OPERATOR(pg_catalog.>) w.since"
	"   AND q.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now()"
	"   AND q.execute_after OPERATOR(pg_catalog.>) q.created"
	" GROUP BY q.entrypoint"
	"), mark AS ("
	" INSERT INTO pgqueuer.pgqueuer_settings (name, value)"
	" SELECT 'deferred_notified_until',"
	"   pg_catalog.date_part('epoch'::pg_catalog.text, pg_catalog.now())::pg_catalog.text"
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
	int	   n;
	int64  jobs = 0;
	char **woken;

	n = pgq_execute_indexed(pgq_plan(&deferred_plan, deferred_sql, 0, NULL), NULL,
							NULL, SPI_OK_SELECT);
	if (n == 0)
		return 0;
	woken = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
	{
		bool isnull;

		woken[i] = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		jobs += pgq_getint64(i, 2);
	}
	pgq_notify_table_changed("update", woken, n, jobs);
	return jobs;
}

/* the duties in the order of a pass, also the rows of run_maintenance() */
const char *const pgq_duty_names[PGQ_NDUTIES] = {
	"lease_expiry", "schedules", "deferred_wakeups", "statistics", "retention"};

/*
 * pgq_maintenance_duty
 *		Run one duty (PGQ_DUTY_*) in the current transaction and return the
 *		rows it handled.  Connects to SPI itself.  The background worker
 *		calls it once per duty, each in its own transaction.
 */
int64
pgq_maintenance_duty(int duty)
{
	int64 rows = 0;

	pgq_connect();
	switch (duty)
	{
		case PGQ_DUTY_LEASE_EXPIRY:
		{
			char **woken;
			int	   nwoken;

			pgq_report_bad_rows();
			rows = pgq_expire_leases(NULL, MAINTENANCE_LEASE_LIMIT, &woken, &nwoken);
			if (nwoken > 0)
				pgq_notify_table_changed("update", woken, nwoken, rows);
			break;
		}
		case PGQ_DUTY_SCHEDULES:
			rows = pgq_fire_schedules();
			break;
		case PGQ_DUTY_DEFERRED_WAKEUPS:
			rows = announce_deferred();
			break;
		case PGQ_DUTY_STATISTICS:
			for (int i = 0; i < MAINTENANCE_FOLD_CHUNKS; i++)
			{
				int64 chunk = pgq_fold_statistics(pgq_stats_chunk, true);

				rows += chunk;
				if (chunk < pgq_stats_chunk)
					break;
			}
			break;
		case PGQ_DUTY_RETENTION:
		{
			bool deferred;

			rows = pgq_truncate_log_slots(&deferred);
			rows += pgq_prune_history(!deferred);
			break;
		}
		default:
			elog(ERROR, "pgqueuer: unknown maintenance duty %d", duty);
	}
	pgq_finish();
	return rows;
}

/*
 * pgq_maintenance_pass
 *		Every duty in the current transaction; counts[PGQ_NDUTIES] receives
 *		the rows of each.
 */
void
pgq_maintenance_pass(int64 *counts)
{
	for (int duty = 0; duty < PGQ_NDUTIES; duty++)
		counts[duty] = pgq_maintenance_duty(duty);
}

/*
 * pgqueuer_run_maintenance
 *		run_maintenance() -> TABLE(duty text, rows bigint)
 */
Datum
pgqueuer_run_maintenance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		   counts[PGQ_NDUTIES];

	pgq_init_materialized_srf(fcinfo);
	pgq_maintenance_pass(counts);

	for (int duty = 0; duty < PGQ_NDUTIES; duty++)
	{
		Datum values[2];
		bool  nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(pgq_duty_names[duty]);
		values[1] = Int64GetDatum(counts[duty]);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pgqueuer_check_background
 *		check_background() -> boolean: pgq_warn_if_not_preloaded().  The
 *		update script calls it, so CREATE EXTENSION warns.
 */
Datum
pgqueuer_check_background(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(pgq_warn_if_not_preloaded());
}
