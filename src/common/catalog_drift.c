/*-------------------------------------------------------------------------
 *
 * catalog_drift.c
 *		Objects of the extension changed behind its back: the problems that
 *		SQL function pgqueuer.catalog_drift() finds, for verify() and the
 *		background worker.
 *
 * The install and update scripts record, as their last statement, the
 * definition of every object they created in table pgqueuer_catalog
 * (sql/pgqueuer--1.0--1.1.sql, section "Catalog snapshot"); the SQL
 * function compares the live catalog with it.  The knowledge of what the
 * schema looks like thus lives in the scripts only; this file merely asks.
 * A database still at version 1.0 has neither the table nor the function,
 * which is reported as one line asking for ALTER EXTENSION ... UPDATE.  The
 * comparison runs in a subtransaction: a damaged snapshot table or function
 * becomes a problem line, so that neither verify() nor the background
 * worker's maintenance fails because of it.
 *
 * IDENTIFICATION
 *		src/common/catalog_drift.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog_drift.h"
#include "schema_version.h"
#include "spi_util.h"

/*
 * The problems, whether repair() restores each one, and whether it
 * concerns a table or a column.
 */
static const char *const drift_sql =
	"SELECT d.problem, d.repair IS NOT NULL"
	"        AND pg_catalog.cardinality(d.repair) OPERATOR(pg_catalog.>) 0,"
	"       d.object_type OPERATOR(pg_catalog.=) ANY (ARRAY['table', 'column']::pg_catalog.text[])"
	" FROM pgqueuer.catalog_drift() d";

static SPIPlanPtr drift_plan = NULL;

/* what compare_rows() reads and fills */
typedef struct DriftResult
{
	MemoryContext resultcxt;
	List		 *lines;
	bool		  repairable;
	bool		  tables_intact;
} DriftResult;

/*
 * compare_rows
 *		Run catalog_drift() and collect its lines into a DriftResult.
 */
static void
compare_rows(void *arg)
{
	DriftResult *r = (DriftResult *) arg;
	int			 n = pgq_execute(pgq_plan(&drift_plan, drift_sql, 0, NULL),
								 NULL, NULL, SPI_OK_SELECT);

	for (int i = 0; i < n; i++)
	{
		bool		  isnull;
		char		 *line = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		MemoryContext oldctx;

		if (DatumGetBool(pgq_getdatum(i, 2, &isnull)))
			r->repairable = true;
		if (DatumGetBool(pgq_getdatum(i, 3, &isnull)))
			r->tables_intact = false;
		oldctx = MemoryContextSwitchTo(r->resultcxt);
		r->lines = lappend(r->lines, pstrdup(line));
		MemoryContextSwitchTo(oldctx);
	}
}

/*
 * compare
 *		Run catalog_drift() in a subtransaction; its lines in resultcxt, or
 *		one line with the error that stopped it.
 */
static List *
compare(MemoryContext resultcxt, bool *repairable, bool *tables_intact)
{
	DriftResult r = {resultcxt, NIL, false, true};
	ErrorData  *edata = pgq_try_subtransaction(compare_rows, &r);

	if (edata != NULL)
	{
		MemoryContext oldctx = MemoryContextSwitchTo(resultcxt);

		r.repairable = false;
		r.tables_intact = false;
		r.lines = list_make1(psprintf("the extension's objects could not be compared with pgqueuer.pgqueuer_catalog: %s",
									  edata->message));
		MemoryContextSwitchTo(oldctx);
		FreeErrorData(edata);
	}
	*repairable = r.repairable;
	*tables_intact = r.tables_intact;
	return r.lines;
}

/*
 * pgq_catalog_drift
 *		The drift problems, one line each: a List of C strings allocated in
 *		resultcxt (which must outlive SPI_finish), NIL when the extension's
 *		objects are as its scripts left them.  *repairable is set when
 *		pgqueuer.repair() would restore at least one of them;
 *		*tables_intact when no table or column differs (and the comparison
 *		could be made), so that queries naming every column can run.  Must
 *		run inside SPI, with the extension installed.
 */
List *
pgq_catalog_drift(MemoryContext resultcxt, bool *repairable,
				  bool *tables_intact)
{
	Oid			  nspid = get_namespace_oid(PGQ_SCHEMA, false);
	List		 *lines = NIL;
	MemoryContext oldctx;

	*repairable = false;
	*tables_intact = false;
	if (get_relname_relid("pgqueuer_catalog", nspid) == InvalidOid ||
		!SearchSysCacheExists3(PROCNAMEARGSNSP,
							   CStringGetDatum("catalog_drift"),
							   PointerGetDatum(buildoidvector(NULL, 0)),
							   ObjectIdGetDatum(nspid)))
	{
		oldctx = MemoryContextSwitchTo(resultcxt);
		lines = list_make1(pstrdup("the extension's catalog snapshot pgqueuer.pgqueuer_catalog is missing: run ALTER EXTENSION pgqueuer UPDATE"));
		MemoryContextSwitchTo(oldctx);
		return lines;
	}

	*tables_intact = true;
	return compare(resultcxt, repairable, tables_intact);
}
