/*-------------------------------------------------------------------------
 *
 * cancel.c
 *		Operator actions on jobs: cancel() and requeue().
 *
 * cancel() is PgQueuer's mark_job_as_cancelled done in one transaction:
 * the rows are removed and logged canceled, and the workers running the
 * picked ones get a cancellation_event, one per worker, split below NOTIFY's
 * payload limit (PgQueuer sends one unbounded payload, which fails beyond
 * roughly 800 ids).  A completion racing the cancel finds no row and writes
 * nothing, so a job is never logged twice.
 *
 * requeue() is PgQueuer's requeue_jobs, except that a held job whose
 * dedupe_key is now taken by an active job is skipped with a NOTICE instead
 * of failing the whole batch with a unique violation.
 *
 * IDENTIFICATION
 *		src/api/cancel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "args.h"
#include "compat.h"
#include "history.h"
#include "notify.h"
#include "plan_shape.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(pgqueuer_cancel);
PG_FUNCTION_INFO_V1(pgqueuer_requeue);

#define CANCEL_SQL_HEAD \
	"WITH del AS (" \
	" DELETE FROM pgqueuer.pgqueuer q WHERE q.id OPERATOR(pg_catalog.=) ANY ($1)" \
	" RETURNING q.id, q.priority, q.entrypoint, q.status, q.queue_manager_id" \
	")"

/* the 'canceled' log rows (history.c) */
#define CANCEL_SQL_LOG \
	"SELECT id, 'canceled'::pgqueuer.pgqueuer_status, priority, entrypoint, NULL::pg_catalog.jsonb FROM del"

static const char *const cancel_sql_tail =
	" SELECT d.id, d.entrypoint, d.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status,"
	"   d.queue_manager_id::pg_catalog.text,"
	"   COALESCE(e.concurrency_limit, 0) OPERATOR(pg_catalog.>) 0"
	" FROM del d LEFT JOIN pgqueuer.pgqueuer_entrypoints e"
	"   ON e.entrypoint OPERATOR(pg_catalog.=) d.entrypoint"
	" ORDER BY d.queue_manager_id NULLS FIRST, d.id";

#define REQUEUE_SQL_HEAD \
	"WITH cand AS (" \
	" SELECT q.id, q.dedupe_key," \
	"   q.dedupe_key IS NOT NULL AND (" \
	"     EXISTS (SELECT 1 FROM pgqueuer.pgqueuer a" \
	"             WHERE a.dedupe_key OPERATOR(pg_catalog.=) q.dedupe_key" \
	"             AND a.status OPERATOR(pg_catalog.=) ANY (ARRAY['queued'::pgqueuer.pgqueuer_status," \
	"                                                          'picked'::pgqueuer.pgqueuer_status]))" \
	"     OR EXISTS (SELECT 1 FROM pgqueuer.pgqueuer b" \
	"             WHERE b.dedupe_key OPERATOR(pg_catalog.=) q.dedupe_key" \
	"             AND b.status OPERATOR(pg_catalog.=) 'failed'::pgqueuer.pgqueuer_status" \
	"             AND b.id OPERATOR(pg_catalog.=) ANY ($1) AND b.id OPERATOR(pg_catalog.<) q.id)) AS clash" \
	" FROM pgqueuer.pgqueuer q WHERE q.id OPERATOR(pg_catalog.=) ANY ($1)" \
	"   AND q.status OPERATOR(pg_catalog.=) 'failed'::pgqueuer.pgqueuer_status" \
	" FOR UPDATE OF q" \
	"), upd AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'queued'::pgqueuer.pgqueuer_status," \
	"   execute_after = pg_catalog.now(), updated = pg_catalog.now(), attempts = 0," \
	"   queue_manager_id = NULL" \
	" FROM cand c WHERE q.id OPERATOR(pg_catalog.=) c.id AND NOT c.clash" \
	" RETURNING q.id, q.priority, q.entrypoint" \
	")"

/* the 'queued' log rows of requeued jobs (history.c) */
#define REQUEUE_SQL_LOG \
	"SELECT id, 'queued'::pgqueuer.pgqueuer_status, priority, entrypoint, NULL::pg_catalog.jsonb FROM upd"

static const char *const requeue_sql_tail =
	" SELECT id, entrypoint, NULL::pg_catalog.text FROM upd"
	" UNION ALL SELECT id, NULL, dedupe_key FROM cand WHERE clash"
	" ORDER BY 1";

/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr cancel_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr requeue_plans[PGQ_LOG_PLAN_SLOTS];

/*
 * run_on_job_ids
 *		Check the job_ids argument (not NULL, no NULL elements), then connect
 *		SPI and run the kept statement head, log rows, tail (history.c) with
 *		it.  Returns the number of result rows, with SPI still connected, or
 *		-1 without connecting when the array is empty (nothing to do).
 */
static int
run_on_job_ids(FunctionCallInfo fcinfo, SPIPlanPtr *cache, const char *head,
			   const char *rows, const char *tail)
{
	static const Oid argtypes[1] = {INT8ARRAYOID};
	ArrayType		*ids;
	Datum			 value;

	pgq_require_arg(fcinfo, 0, "job_ids");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	if (pgq_array_length(ids, "job_ids", false) == 0)
		return -1;
	value = PointerGetDatum(ids);

	pgq_connect();
	return pgq_execute_indexed(pgq_log_plan(cache, PGQ_LOG_OUTCOME, head, rows,
											tail, 1, argtypes),
							   &value, NULL,
							   SPI_OK_SELECT);
}

/*
 * pgqueuer_cancel
 *		cancel(job_ids[]) -> SETOF bigint
 */
Datum
pgqueuer_cancel(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext  callerctx = CurrentMemoryContext;
	MemoryContext  oldctx;
	int			   n;
	int64		  *running;
	char		 **owners;
	char		 **woken;
	int64		  *final_ids;
	int			   nrunning = 0;
	int			   nwoken = 0;

	pgq_init_materialized_srf(fcinfo);
	n = run_on_job_ids(fcinfo, cancel_plans, CANCEL_SQL_HEAD, CANCEL_SQL_LOG,
					   cancel_sql_tail);
	if (n < 0)
		return (Datum) 0;
	oldctx = MemoryContextSwitchTo(callerctx);
	running = palloc(sizeof(int64) * Max(n, 1));
	owners = palloc(sizeof(char *) * Max(n, 1));
	woken = palloc(sizeof(char *) * Max(n, 1));
	final_ids = palloc(sizeof(int64) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool  isnull;
		Datum id = pgq_getdatum(i, 1, &isnull);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &id, &isnull);
		final_ids[i] = DatumGetInt64(id);
		if (DatumGetBool(pgq_getdatum(i, 3, &isnull)))
		{
			Datum qm = pgq_getdatum(i, 4, &isnull);

			owners[nrunning] = isnull ? NULL : TextDatumGetCString(qm);
			running[nrunning++] = DatumGetInt64(id);
		}
		if (DatumGetBool(pgq_getdatum(i, 5, &isnull)))
			woken[nwoken++] = TextDatumGetCString(pgq_getdatum(i, 2, &isnull));
	}
	MemoryContextSwitchTo(oldctx);
	pgq_finish();

	/* rows come sorted by owner: one event (or more) per worker */
	for (int start = 0; start < nrunning;)
	{
		int end = start + 1;

		while (end < nrunning &&
			   ((owners[end] == NULL && owners[start] == NULL) ||
				(owners[end] && owners[start] && strcmp(owners[end], owners[start]) == 0)))
			end++;
		pgq_notify_cancellation(owners[start], running + start, end - start);
		start = end;
	}

	/*
	 * One table_changed_event with every canceled id (PgQueuer's
	 * CompletionWatcher re-reads on it) and the limited entrypoints whose
	 * capacity the removed picked jobs freed.
	 */
	pgq_notify_outcomes("delete", woken, nwoken, final_ids, n);
	return (Datum) 0;
}

/*
 * pgqueuer_requeue
 *		requeue(job_ids[]) -> SETOF bigint
 */
Datum
pgqueuer_requeue(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext  callerctx = CurrentMemoryContext;
	MemoryContext  oldctx;
	int			   n;
	char		 **woken;
	int			   nwoken = 0;

	pgq_init_materialized_srf(fcinfo);
	n = run_on_job_ids(fcinfo, requeue_plans, REQUEUE_SQL_HEAD, REQUEUE_SQL_LOG,
					   requeue_sql_tail);
	if (n < 0)
		return (Datum) 0;
	oldctx = MemoryContextSwitchTo(callerctx);
	woken = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool  isnull;
		bool  nokey;
		Datum id = pgq_getdatum(i, 1, &isnull);
		Datum key = pgq_getdatum(i, 3, &nokey);

		if (!nokey)
		{
			ereport(NOTICE,
					(errmsg("job " INT64_FORMAT " was not requeued: its dedupe_key \"%s\" is in use by an active job",
							DatumGetInt64(id), TextDatumGetCString(key)),
					 errhint("Requeue it once that job has finished.")));
			continue;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &id, &isnull);
		woken[nwoken++] = TextDatumGetCString(pgq_getdatum(i, 2, &isnull));
	}
	MemoryContextSwitchTo(oldctx);
	pgq_finish();

	pgq_notify_entrypoints("update", woken, nwoken);
	return (Datum) 0;
}
