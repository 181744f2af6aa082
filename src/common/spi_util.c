/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *		Kept SPI plans and the small wrappers every API function uses.
 *
 * Each SQL statement of the extension is prepared once per backend, kept
 * with SPI_keepplan() and then only executed.  Statements run with
 * pgq_own_statement_depth raised, which tells the notify trigger on the
 * queue table that the calling function sends its own, better notification.
 *
 * The queue's own statements run through pgq_execute_indexed() instead
 * (plan_shape.c), which makes their plans independent of the queue's size.
 *
 * IDENTIFICATION
 *		src/common/spi_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "executor/spi.h"
#include "funcapi.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "schema_version.h"
#include "spi_util.h"

int pgq_own_statement_depth = 0;

/*
 * pgq_plan
 *		Return the kept plan in *cache, preparing and keeping it on first use.
 *
 * The plan is generic from the first execution on: the plan cache would
 * otherwise try custom plans first and keep re-planning on every call
 * whenever a custom plan looks cheaper, which for the short statements of
 * the queue costs more than running them.
 *
 * Must be called between SPI_connect and SPI_finish.  A failure to prepare
 * is a bug in the extension, hence elog.
 */
SPIPlanPtr
pgq_plan(SPIPlanPtr *cache, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr plan;

	if (*cache != NULL)
		return *cache;

	plan = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes,
							  CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "pgqueuer: could not prepare statement: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "pgqueuer: could not keep prepared statement");
	*cache = plan;
	return plan;
}

/*
 * pgq_execute
 *		Execute a kept plan; error out unless SPI returns "expected".
 *
 * Returns SPI_processed.  While the statement runs the notify trigger stays
 * quiet (see notify.c); the depth is restored even when the statement fails.
 */
int
pgq_execute(SPIPlanPtr plan, Datum *values, const char *nulls, int expected)
{
	int rc;

	pgq_own_statement_depth++;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		pgq_own_statement_depth--;
	}
	PG_END_TRY();

	if (rc != expected)
		elog(ERROR, "pgqueuer: statement returned %s, expected %s",
			 SPI_result_code_string(rc), SPI_result_code_string(expected));
	return (int) SPI_processed;
}

/*
 * pgq_connect / pgq_finish
 *		SPI_connect and SPI_finish with their error checks.  Every SQL
 *		function starts here, so this is also where a schema version this
 *		library does not serve is refused (schema_version.c).
 */
void
pgq_connect(void)
{
	pgq_check_schema_version();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pgqueuer: SPI_connect failed");
}

void
pgq_finish(void)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "pgqueuer: SPI_finish failed");
}

/*
 * pgq_getdatum
 *		Column "col" (1-based) of result row "row" of the last statement.
 */
Datum
pgq_getdatum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
						 col, isnull);
}

/*
 * pgq_getint64
 *		A bigint column of the last statement's result; NULL reads as 0.
 */
int64
pgq_getint64(int row, int col)
{
	bool  isnull;
	Datum d = pgq_getdatum(row, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * pgq_store_spi_rows
 *		Materialize the first ncols columns of the last SPI result as the
 *		result set of the calling set-returning function.
 *
 * The tuplestore lives in the per-query context, so the rows survive
 * SPI_finish.  Column types must match the function's declared result.
 */
void
pgq_store_spi_rows(FunctionCallInfo fcinfo, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		  *values = palloc(sizeof(Datum) * ncols);
	bool		  *nulls = palloc(sizeof(bool) * ncols);

	if (rsinfo->setResult == NULL)
		pgq_init_materialized_srf(fcinfo);

	for (uint64 row = 0; row < SPI_processed; row++)
	{
		for (int col = 0; col < ncols; col++)
			values[col] = pgq_getdatum((int) row, col + 1, &nulls[col]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

ErrorData *
pgq_try_subtransaction(PgqSubxactFn fn, void *arg)
{
	MemoryContext oldctx = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldctx);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldctx);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldctx);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldctx);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();
	return edata;
}
