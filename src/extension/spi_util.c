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
 * A kept plan is built once per backend (and again only after an
 * invalidation), very often while the queue is empty: a worker starts on an
 * idle queue.  Planned on an empty table, a statement that touches a few
 * jobs by id or through an index would keep a sequential scan or a hash
 * join over the whole table, and once thousands of jobs wait every call
 * would read them all.  The queue's own statements therefore run through
 * pgq_execute_indexed(), which plans them with sequential scans, hash joins
 * and merge joins disabled: their cost then follows the jobs they touch,
 * whatever the size of the queue was when they were planned.  JIT is off
 * for them too: a disabled scan that has no alternative (a tiny registry
 * table without a fitting index) carries a cost far above jit_above_cost,
 * and compiling would take longer than the statement.
 *
 * IDENTIFICATION
 *		src/extension/spi_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "funcapi.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "pgqueuer.h"

int			pgq_own_statement_depth = 0;

/*
 * pgq_plan
 *		Return the kept plan in *cache, preparing and keeping it on first use.
 *
 * Must be called between SPI_connect and SPI_finish.  A failure to prepare
 * is a bug in the extension, hence elog.
 */
SPIPlanPtr
pgq_plan(SPIPlanPtr *cache, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;

	plan = SPI_prepare(sql, nargs, (Oid *) argtypes);
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
	int			rc;

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
 * pgq_execute_indexed
 *		pgq_execute() with the planner restricted to index scans and nested
 *		loops, and without JIT (see the file header).  For statements that touch a bounded
 *		number of rows of the queue or the log, never for joins between two
 *		unbounded inputs.
 *
 * The settings are made at a new GUC nest level, as a function's SET clause
 * does, so they apply to (re)planning inside SPI_execute_plan and are undone
 * afterwards, or by the transaction's abort if the statement fails.
 */
int
pgq_execute_indexed(SPIPlanPtr plan, Datum *values, const char *nulls,
					int expected)
{
	static const char *const disabled[] = {
		"enable_seqscan", "enable_hashjoin", "enable_mergejoin", "jit"
	};
	int			nestlevel = NewGUCNestLevel();
	int			n;

	for (int i = 0; i < lengthof(disabled); i++)
		(void) set_config_option(disabled[i], "off", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
								 false);
	n = pgq_execute(plan, values, nulls, expected);
	AtEOXact_GUC(true, nestlevel);
	return n;
}

/*
 * pgq_connect / pgq_finish
 *		SPI_connect and SPI_finish with their error checks.
 */
void
pgq_connect(void)
{
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
	bool		isnull;
	Datum		d = pgq_getdatum(row, col, &isnull);

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
	Datum	   *values = palloc(sizeof(Datum) * ncols);
	bool	   *nulls = palloc(sizeof(bool) * ncols);

	if (rsinfo->setResult == NULL)
		pgq_init_materialized_srf(fcinfo);

	for (uint64 row = 0; row < SPI_processed; row++)
	{
		for (int col = 0; col < ncols; col++)
			values[col] = pgq_getdatum((int) row, col + 1, &nulls[col]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}
