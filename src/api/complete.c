/*-------------------------------------------------------------------------
 *
 * complete.c
 *		Outcomes of picked jobs: complete(), retry() and heartbeat().
 *
 * complete() is PgQueuer's log_jobs: successful, exception, canceled and
 * deleted remove the row and log the outcome; failed holds the row.  Ours
 * adds retry-with-backoff of exceptions on registered entrypoints with
 * attempts left, on_failure = 'hold' after the last attempt, and fencing:
 * given the worker's queue_manager_id, only rows that worker still holds
 * change, so a worker whose lease expired cannot complete, heartbeat or
 * retry a job that now belongs to somebody else.  Each call sends one
 * table_changed_event naming the jobs that reached a final outcome (for
 * PgQueuer's CompletionWatcher) and the entrypoints whose capacity freed.
 *
 * IDENTIFICATION
 *		src/api/complete.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "args.h"
#include "bounds.h"
#include "compat.h"
#include "deferred_wakeup.h"
#include "guc.h"
#include "history.h"
#include "notify.h"
#include "plan_shape.h"
#include "spi_util.h"
#include "wait_signal.h"


PG_FUNCTION_INFO_V1(pgqueuer_complete);
PG_FUNCTION_INFO_V1(pgqueuer_retry);
PG_FUNCTION_INFO_V1(pgqueuer_heartbeat);

/* the outcomes in input order, shared by both forms of complete() */
#define COMPLETE_SQL_INPUT \
	"WITH input AS (" \
	" SELECT * FROM unnest($1::pg_catalog.int8[]," \
	"   $2::pg_catalog.text[]::pgqueuer.pgqueuer_status[], $3::pg_catalog.jsonb[])" \
	"   WITH ORDINALITY AS t(id, st, tb, ord)" \
	")"

/*
 * The fence of every outcome of a picked job (complete, retry, heartbeat):
 * only picked jobs (a queued or held job has no outcome to record), and
 * only the holder's when called with a queue_manager_id (parameter qm).
 */
#define PICKED_BY_SQL(qm) \
	"(q.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status" \
	" AND (" qm "::pg_catalog.uuid IS NULL OR q.queue_manager_id OPERATOR(pg_catalog.=) " qm "))"

#define COMPLETE_SQL_FENCE PICKED_BY_SQL("$4")

/*
 * The backoff min(base * 2^attempts, max), computed in seconds as float8
 * with the exponent capped, then capped at the 365 days that
 * register_entrypoint() allows, so no registry row (even one written behind
 * its back) can make the interval arithmetic overflow and fail the batch.
 */
#define COMPLETE_SQL_BACKOFF \
	"pg_catalog.interval_mul('1 second'::pg_catalog.interval, GREATEST(0::pg_catalog.float8," \
	" LEAST(pg_catalog.date_part('epoch'::pg_catalog.text, e.retry_backoff_base)" \
	"   OPERATOR(pg_catalog.*) pg_catalog.power(2::pg_catalog.float8," \
	"     LEAST(GREATEST(q.attempts, 0), 60)::pg_catalog.float8)," \
	"  pg_catalog.date_part('epoch'::pg_catalog.text, e.retry_backoff_max), " PGQ_BACKOFF_MAX_SECS_SQL "::pg_catalog.float8)))"

#define COMPLETE_SQL_HEAD \
	COMPLETE_SQL_INPUT \
	", target AS (" \
	" SELECT q.id, q.entrypoint, q.priority, i.st, i.tb, i.ord," \
	"   CASE WHEN i.st OPERATOR(pg_catalog.=) 'failed'::pgqueuer.pgqueuer_status THEN 'hold'" \
	"        WHEN i.st OPERATOR(pg_catalog.=) 'exception'::pgqueuer.pgqueuer_status AND e.registered" \
	"             AND q.attempts OPERATOR(pg_catalog.<) COALESCE(e.max_attempts, $5) THEN 'retry'" \
	"        WHEN i.st OPERATOR(pg_catalog.=) 'exception'::pgqueuer.pgqueuer_status" \
	"             AND e.on_failure OPERATOR(pg_catalog.=) 'hold'::pg_catalog.text THEN 'hold'" \
	"        ELSE 'delete' END::pg_catalog.text AS action," \
	"   " COMPLETE_SQL_BACKOFF " AS backoff," \
	"   COALESCE(e.concurrency_limit, 0) OPERATOR(pg_catalog.>) 0 AS limited" \
	" FROM input i JOIN pgqueuer.pgqueuer q ON q.id OPERATOR(pg_catalog.=) i.id" \
	" LEFT JOIN pgqueuer.pgqueuer_entrypoints e ON e.entrypoint OPERATOR(pg_catalog.=) q.entrypoint" \
	" WHERE " COMPLETE_SQL_FENCE \
	" FOR UPDATE OF q" \
	"), del AS (" \
	" DELETE FROM pgqueuer.pgqueuer q USING target t" \
	" WHERE q.id OPERATOR(pg_catalog.=) t.id AND t.action OPERATOR(pg_catalog.=) 'delete'::pg_catalog.text" \
	" RETURNING t.id, t.ord, t.st AS logst, t.priority, t.entrypoint, t.tb, t.limited AS wake," \
	"   false AS deferred" \
	"), hd AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'failed'::pgqueuer.pgqueuer_status," \
	"   updated = pg_catalog.now(), queue_manager_id = NULL" \
	" FROM target t WHERE q.id OPERATOR(pg_catalog.=) t.id AND t.action OPERATOR(pg_catalog.=) 'hold'::pg_catalog.text" \
	" RETURNING t.id, t.ord, 'failed'::pgqueuer.pgqueuer_status, t.priority, t.entrypoint, t.tb, t.limited," \
	"   false" \
	"), rt AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'queued'::pgqueuer.pgqueuer_status," \
	"   attempts = q.attempts OPERATOR(pg_catalog.+) 1," \
	"   execute_after = pg_catalog.now() OPERATOR(pg_catalog.+) t.backoff, updated = pg_catalog.now()," \
	"   queue_manager_id = NULL" \
	" FROM target t WHERE q.id OPERATOR(pg_catalog.=) t.id AND t.action OPERATOR(pg_catalog.=) 'retry'::pg_catalog.text" \
	" RETURNING t.id, t.ord, 'queued'::pgqueuer.pgqueuer_status, t.priority, t.entrypoint, t.tb," \
	"   t.limited OR t.backoff OPERATOR(pg_catalog.<=) '0'::interval," \
	"   t.backoff OPERATOR(pg_catalog.>) '0'::interval" \
	"), al AS (SELECT * FROM del UNION ALL SELECT * FROM hd UNION ALL SELECT * FROM rt" \
	")"

/* the outcome log rows (history.c) */
#define COMPLETE_SQL_LOG "SELECT id, logst, priority, entrypoint, tb FROM al"

static const char *const complete_sql_tail =
	" SELECT id, entrypoint, wake, deferred,"
	"   logst OPERATOR(pg_catalog.<>) 'queued'::pgqueuer.pgqueuer_status"
	" FROM al ORDER BY ord";

/*
 * complete() when no outcome is exception or failed: every job is deleted,
 * so the registry is only read for the wake-up, and one DELETE does it.
 */
#define COMPLETE_DELETE_SQL_HEAD \
	COMPLETE_SQL_INPUT \
	", del AS (" \
	" DELETE FROM pgqueuer.pgqueuer q USING input i" \
	" WHERE q.id OPERATOR(pg_catalog.=) i.id AND " COMPLETE_SQL_FENCE \
	" RETURNING i.id, i.ord, i.st, q.priority, q.entrypoint, i.tb" \
	")"

#define COMPLETE_DELETE_SQL_LOG "SELECT id, st, priority, entrypoint, tb FROM del"

static const char *const complete_delete_sql_tail =
	" SELECT d.id, d.entrypoint, COALESCE(e.concurrency_limit, 0) OPERATOR(pg_catalog.>) 0, false, true"
	" FROM del d LEFT JOIN pgqueuer.pgqueuer_entrypoints e"
	"   ON e.entrypoint OPERATOR(pg_catalog.=) d.entrypoint"
	" ORDER BY d.ord";

#define RETRY_SQL_HEAD \
	"WITH u AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'queued'::pgqueuer.pgqueuer_status," \
	"   attempts = q.attempts OPERATOR(pg_catalog.+) 1," \
	"   execute_after = pg_catalog.now() OPERATOR(pg_catalog.+) $2, updated = pg_catalog.now()," \
	"   queue_manager_id = NULL" \
	" WHERE q.id OPERATOR(pg_catalog.=) $1 AND " COMPLETE_SQL_FENCE \
	" RETURNING q.id, q.priority, q.entrypoint" \
	")"

/* the retry's log row, with its traceback (history.c) */
#define RETRY_SQL_LOG \
	"SELECT id, 'queued'::pgqueuer.pgqueuer_status, priority, entrypoint, $3::pg_catalog.jsonb FROM u"

static const char *const retry_sql_tail = " SELECT entrypoint FROM u";

static const char *const heartbeat_sql =
	"UPDATE pgqueuer.pgqueuer q SET heartbeat = pg_catalog.now()"
	" WHERE q.id OPERATOR(pg_catalog.=) ANY ($1) AND " PICKED_BY_SQL("$2");

/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr complete_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr complete_delete_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr retry_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr heartbeat_plan = NULL;

/*
 * check_terminal_statuses
 *		complete() records outcomes; queued and picked are not outcomes.
 *		Returns the statuses as text[]: the kept plan takes text, so that it
 *		does not depend on the OID of the enum type.  Clears *all_deleted
 *		when an outcome may keep the job (exception, failed).
 */
static ArrayType *
check_terminal_statuses(Datum *statuses, int n, bool *all_deleted)
{
	char **labels = palloc(sizeof(char *) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		char *label = DatumGetCString(DirectFunctionCall1(enum_out, statuses[i]));

		labels[i] = label;
		if (strcmp(label, "exception") == 0 || strcmp(label, "failed") == 0)
			*all_deleted = false;

		if (strcmp(label, "queued") == 0 || strcmp(label, "picked") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("status \"%s\" is not an outcome", label),
					 errdetail("Element %d of argument \"statuses\".", i + 1),
					 errhint("Use successful, exception, canceled, deleted or failed; retry() puts a job back in the queue.")));
	}
	return pgq_make_text_array(labels, n);
}

/*
 * check_complete_args
 *		job_ids and statuses given, of the same length (and tracebacks, when
 *		given), ids unique, statuses outcomes.  Returns the number of jobs
 *		and the statuses as text[] in *labels; clears *all_deleted when an
 *		outcome may keep the job.
 */
static int
check_complete_args(FunctionCallInfo fcinfo, ArrayType **labels,
					bool *all_deleted)
{
	Datum *idvals;
	Datum *stvals;
	bool  *idnulls;
	bool  *stnulls;
	int	   n;

	pgq_require_arg(fcinfo, 0, "job_ids");
	pgq_require_arg(fcinfo, 1, "statuses");
	n = pgq_array_elements(PG_GETARG_ARRAYTYPE_P(0), "job_ids", false, &idvals, &idnulls);
	pgq_check_same_length(n, pgq_array_elements(PG_GETARG_ARRAYTYPE_P(1), "statuses", false, &stvals, &stnulls),
						  "statuses", "job_ids");
	if (!PG_ARGISNULL(2))
		pgq_check_same_length(n, pgq_array_length(PG_GETARG_ARRAYTYPE_P(2), "tracebacks", true),
							  "tracebacks", "job_ids");
	pgq_check_unique_ids(idvals, n, "job_ids");
	*labels = check_terminal_statuses(stvals, n, all_deleted);
	return n;
}

/*
 * collect_outcomes
 *		Put the ids of the statement's "done" result rows (id, entrypoint,
 *		wake, deferred, final) in the function's result, and gather, in the
 *		caller's memory context, the entrypoints to wake and the ids that
 *		reached a final outcome.
 */
static void
collect_outcomes(FunctionCallInfo fcinfo, int done, MemoryContext callerctx,
				 char ***woken, int *nwoken, int64 **final_ids, int *nfinal)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext  oldctx = MemoryContextSwitchTo(callerctx);

	*woken = palloc(sizeof(char *) * Max(done, 1));
	*final_ids = palloc(sizeof(int64) * Max(done, 1));
	*nwoken = 0;
	*nfinal = 0;
	for (int i = 0; i < done; i++)
	{
		bool  isnull;
		Datum id = pgq_getdatum(i, 1, &isnull);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &id, &isnull);
		if (DatumGetBool(pgq_getdatum(i, 3, &isnull)))
			(*woken)[(*nwoken)++] = TextDatumGetCString(pgq_getdatum(i, 2, &isnull));
		if (DatumGetBool(pgq_getdatum(i, 4, &isnull)))
			pgq_deferred_changed();
		if (DatumGetBool(pgq_getdatum(i, 5, &isnull)))
			(*final_ids)[(*nfinal)++] = DatumGetInt64(id);
	}
	MemoryContextSwitchTo(oldctx);
}

/*
 * pgqueuer_complete
 *		complete(job_ids[], statuses[], tracebacks[], queue_manager_id)
 *		-> SETOF bigint (the ids that changed, in input order)
 */
Datum
pgqueuer_complete(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[5] = {INT8ARRAYOID, TEXTARRAYOID, JSONBARRAYOID,
									UUIDOID, INT4OID};
	MemoryContext	 callerctx = CurrentMemoryContext;
	ArrayType		*labels;
	int				 done;
	char		   **woken;
	int				 nwoken;
	int64			*final_ids;
	int				 nfinal;
	bool			 all_deleted = true;
	SPIPlanPtr		 plan;
	Datum			 values[5];
	char			 nulls[5] = {' ', ' ', ' ', ' ', ' '};

	pgq_init_materialized_srf(fcinfo);
	if (check_complete_args(fcinfo, &labels, &all_deleted) == 0)
		return (Datum) 0;

	values[0] = PG_GETARG_DATUM(0);
	values[1] = PointerGetDatum(labels);
	values[2] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';
	values[3] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	nulls[3] = PG_ARGISNULL(3) ? 'n' : ' ';
	values[4] = Int32GetDatum(pgq_max_attempts);

	pgq_connect();
	if (all_deleted)
		plan = pgq_log_plan(complete_delete_plans, PGQ_LOG_OUTCOME,
							COMPLETE_DELETE_SQL_HEAD, COMPLETE_DELETE_SQL_LOG,
							complete_delete_sql_tail, 4, argtypes);
	else
		plan = pgq_log_plan(complete_plans, PGQ_LOG_OUTCOME,
							COMPLETE_SQL_HEAD, COMPLETE_SQL_LOG,
							complete_sql_tail, 5, argtypes);
	done = pgq_execute_indexed(plan, values, nulls, SPI_OK_SELECT);
	collect_outcomes(fcinfo, done, callerctx, &woken, &nwoken, &final_ids, &nfinal);
	pgq_finish();

	/* holds are final too: wake wait_for() (the trigger covers deletions) */
	if (nfinal > 0)
		pgq_wait_signal_outcome();
	pgq_notify_outcomes("delete", woken, nwoken, final_ids, nfinal);
	return (Datum) 0;
}

/*
 * pgqueuer_retry
 *		retry(job_id, delay, traceback, queue_manager_id) -> boolean
 */
Datum
pgqueuer_retry(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[4] = {INT8OID, INTERVALOID, JSONBOID, UUIDOID};
	Datum			 values[4];
	char			 nulls[4] = {' ', ' ', ' ', ' '};
	Interval		*delay;
	char			*entrypoint = NULL;
	bool			 changed;
	MemoryContext	 callerctx = CurrentMemoryContext;

	pgq_require_arg(fcinfo, 0, "job_id");
	pgq_require_arg(fcinfo, 1, "delay");
	delay = PG_GETARG_INTERVAL_P(1);
	pgq_check_delay(delay, "delay", false);

	for (int i = 0; i < 4; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	pgq_connect();
	changed = pgq_execute_indexed(pgq_log_plan(retry_plans, PGQ_LOG_OUTCOME,
											   RETRY_SQL_HEAD, RETRY_SQL_LOG,
											   retry_sql_tail, 4, argtypes),
								  values, nulls, SPI_OK_SELECT) > 0;
	if (changed)
	{
		bool isnull;

		MemoryContext oldctx = MemoryContextSwitchTo(callerctx);

		entrypoint = TextDatumGetCString(pgq_getdatum(0, 1, &isnull));
		MemoryContextSwitchTo(oldctx);
	}
	pgq_finish();

	/* a retry due now is work for an idle worker, a later one a wake-up */
	if (changed && delay->time == 0 && delay->day == 0 && delay->month == 0)
		pgq_notify_table_changed("update", &entrypoint, 1, 1);
	else if (changed)
		pgq_deferred_changed();

	PG_RETURN_BOOL(changed);
}

/*
 * pgqueuer_heartbeat
 *		heartbeat(job_ids[], queue_manager_id) -> integer
 */
Datum
pgqueuer_heartbeat(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[2] = {INT8ARRAYOID, UUIDOID};
	Datum			 values[2];
	char			 nulls[2] = {' ', ' '};
	int				 n;

	pgq_require_arg(fcinfo, 0, "job_ids");
	if (pgq_array_length(PG_GETARG_ARRAYTYPE_P(0), "job_ids", false) == 0)
		PG_RETURN_INT32(0);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[1] = PG_ARGISNULL(1) ? 'n' : ' ';

	pgq_connect();
	n = pgq_execute_indexed(pgq_plan(&heartbeat_plan, heartbeat_sql, 2, argtypes),
							values, nulls, SPI_OK_UPDATE);
	pgq_finish();
	PG_RETURN_INT32(n);
}
