/*-------------------------------------------------------------------------
 *
 * wait.c
 *		wait_for(): sleep on the server until jobs reached their outcome.
 *
 * PgQueuer's CompletionWatcher waits in the client: it LISTENs and re-reads
 * job_status() after every table_changed_event.  wait_for() does the same
 * inside the server: it re-reads the jobs whenever a transaction that ended
 * jobs commits (wait_signal.c) and otherwise sleeps, until every job has an
 * outcome or the timeout passes.
 *
 * A job's status is its row's status while it is in the queue table
 * (queued, picked, or failed = held), else its latest log status.  Final:
 * successful, exception, canceled, deleted (PgQueuer's terminal states)
 * and failed (held: the worker reported its outcome, only an operator's
 * requeue changes it).  Ids that are neither in the queue nor in the log
 * are unknown: they are left out of the result and not waited for.
 *
 * Each re-read takes a new snapshot, so the function requires READ
 * COMMITTED; like any running statement it holds back vacuum's horizon
 * while it sleeps, so timeouts should stay reasonable.
 *
 * IDENTIFICATION
 *		src/api/wait.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "args.h"
#include "compat.h"
#include "plan_shape.h"
#include "spi_util.h"
#include "wait_signal.h"

PG_FUNCTION_INFO_V1(pgqueuer_wait_for);

/* at most this many ids per call */
#define PGQ_WAIT_MAX_IDS 10000

/* re-read interval without the shared memory (library not preloaded), ms */
#define PGQ_WAIT_POLL_MS 100

/* status per id, in input order; pending = no outcome yet */
static const char *const wait_sql =
	"SELECT i.id, COALESCE(q.status, l.status),"
	"   COALESCE(q.status OPERATOR(pg_catalog.=) ANY ('{queued,picked}'::pgqueuer.pgqueuer_status[]), false)"
	" FROM pg_catalog.unnest($1::pg_catalog.int8[]) WITH ORDINALITY AS i(id, ord)"
	" LEFT JOIN pgqueuer.pgqueuer q ON q.id OPERATOR(pg_catalog.=) i.id"
	" LEFT JOIN LATERAL ("
	"   SELECT lg.status FROM pgqueuer.pgqueuer_log lg"
	"   WHERE q.id IS NULL AND lg.job_id OPERATOR(pg_catalog.=) i.id"
	"   ORDER BY lg.created DESC, lg.id DESC LIMIT 1) l ON true"
	" WHERE q.id IS NOT NULL OR l.status IS NOT NULL"
	" ORDER BY i.ord";

static SPIPlanPtr wait_plan = NULL;

/*
 * timeout_usecs
 *		The timeout as microseconds (months count 30 days, as in
 *		PostgreSQL's interval arithmetic), saturating instead of overflowing.
 */
static int64
timeout_usecs(Interval *iv)
{
	double usecs = (double) iv->time +
				   ((double) iv->day + (double) iv->month * DAYS_PER_MONTH) * USECS_PER_DAY;

	if (usecs > (double) PG_INT64_MAX / 2)
		return PG_INT64_MAX / 2;
	return (int64) usecs;
}

/*
 * check_jobs
 *		Read the jobs once.  When none has to be waited for any more (none
 *		is queued or picked, or the deadline has passed), the rows become
 *		the function's result and true is returned.
 */
static bool
check_jobs(FunctionCallInfo fcinfo, Datum ids, TimestampTz deadline)
{
	static const Oid argtypes[1] = {INT8ARRAYOID};
	int				 n;
	bool			 done = true;

	pgq_connect();
	n = pgq_execute_indexed(pgq_plan(&wait_plan, wait_sql, 1, argtypes), &ids,
							NULL, SPI_OK_SELECT);
	for (int i = 0; i < n && done; i++)
	{
		bool isnull;

		if (DatumGetBool(pgq_getdatum(i, 3, &isnull)))
			done = false;
	}
	if (!done && GetCurrentTimestamp() >= deadline)
		done = true;
	if (done)
		pgq_store_spi_rows(fcinfo, 2);
	pgq_finish();
	return done;
}

/*
 * wait_loop
 *		Re-read the jobs until check_jobs() is done.  With the shared
 *		memory, sleeps until a commit ends jobs (prepared before each read,
 *		so no commit is missed) or the deadline; without, sleeps on the
 *		latch for PGQ_WAIT_POLL_MS at most.
 */
static void
wait_loop(FunctionCallInfo fcinfo, Datum ids, TimestampTz deadline)
{
	for (;;)
	{
		long remaining_ms;

		if (pgq_wait_available())
			pgq_wait_prepare();
		if (check_jobs(fcinfo, ids, deadline))
			return;
		remaining_ms = (long) Min((deadline - GetCurrentTimestamp() + 999) / 1000,
								  (int64) INT_MAX);
		remaining_ms = Max(remaining_ms, 1);

		if (pgq_wait_available())
			pgq_wait_sleep(remaining_ms);
		else
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(remaining_ms, PGQ_WAIT_POLL_MS), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * pgqueuer_wait_for
 *		wait_for(job_ids[], timeout) -> TABLE(job_id, status)
 *
 * Returns one row per known job, in input order, once none is queued or
 * picked or when the timeout has passed (then the rows still queued or
 * picked tell which jobs are unfinished).  A zero timeout reads once.
 */
Datum
pgqueuer_wait_for(PG_FUNCTION_ARGS)
{
	ArrayType  *ids;
	Datum	   *idvals;
	bool	   *idnulls;
	int			n;
	TimestampTz deadline;

	pgq_init_materialized_srf(fcinfo);
	pgq_require_arg(fcinfo, 0, "job_ids");
	pgq_require_arg(fcinfo, 1, "timeout");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	n = pgq_array_elements(ids, "job_ids", false, &idvals, &idnulls);
	if (n > PGQ_WAIT_MAX_IDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("too many job ids: %d", n),
				 errdetail("wait_for() takes at most %d ids per call.", PGQ_WAIT_MAX_IDS),
				 errhint("Wait for the jobs in several calls.")));
	pgq_check_unique_ids(idvals, n, "job_ids");
	pgq_check_nonnegative_interval(PG_GETARG_INTERVAL_P(1), "timeout");
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pgqueuer.wait_for() requires the READ COMMITTED isolation level"),
				 errdetail("It re-reads the jobs with a new snapshot after each commit that ends jobs."),
				 errhint("Call wait_for in a READ COMMITTED transaction.")));
	if (n == 0)
		return (Datum) 0;

	deadline = GetCurrentTimestamp() + timeout_usecs(PG_GETARG_INTERVAL_P(1));
	if (pgq_wait_available())
	{
		pgq_wait_begin();
		PG_TRY();
		{
			wait_loop(fcinfo, PointerGetDatum(ids), deadline);
		}
		PG_FINALLY();
		{
			pgq_wait_end();
		}
		PG_END_TRY();
	}
	else
		wait_loop(fcinfo, PointerGetDatum(ids), deadline);
	return (Datum) 0;
}
