/*-------------------------------------------------------------------------
 *
 * plan_shape.c
 *		Plans of the queue's own statements that do not depend on how big
 *		the queue was when they were made.
 *
 * Every statement of the extension is planned once per backend and kept
 * as a generic plan (spi_util.c), very often while the queue is empty: a
 * worker starts on an idle queue, autovacuum analyses it empty.  Planned
 * for an empty table, a statement that touches ten jobs by id keeps a
 * sequential scan, a hash join, or a nested loop whose outer side is a full
 * index scan of the queue, and once thousands of jobs wait every call reads
 * them all.
 *
 * pgq_execute_indexed() therefore plans the queue's statements as if each
 * of the extension's tables were large (at least PGQ_PLAN_MIN_ROWS rows,
 * through get_relation_info_hook) and with sequential scans, hash joins and
 * merge joins disabled: the only plans left start from the few rows a call
 * handles (ids, a LIMIT, an index range) and reach the queue through its
 * indexes, so their cost follows the jobs they touch.  JIT is off for them:
 * a disabled scan with no alternative (the small registry has no index for
 * every predicate) carries a cost far above jit_above_cost, and compiling
 * would take longer than the statement.  The user's statements are planned
 * as usual, except those a user-defined trigger on the queue's tables runs
 * inside one of the queue's statements, which see the same settings.
 *
 * A few statements count or look for picked jobs.  All the queue's partial
 * indexes on picked jobs look alike to the planner when it saw few picked
 * jobs, and a kept plan could read one that has no column for the
 * condition, every picked job at each call.  pgq_execute_presorted() plans
 * such a statement, written to group or order by the column of the index
 * it needs, with sorts and hashed aggregation off too: that index is then
 * the only plan left.
 *
 * IDENTIFICATION
 *		src/common/plan_shape.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "nodes/pathnodes.h"
#include "jit/jit.h"
#include "optimizer/cost.h"
#include "optimizer/plancat.h"
#include "optimizer/planner.h"
#include "utils/lsyscache.h"

#include "plan_shape.h"
#include "schema_version.h"
#include "spi_util.h"

/* the size the planner assumes, at least, for a table of the extension */
#define PGQ_PLAN_MIN_ROWS 1000000.0
/* rows per heap page assumed with it */
#define PGQ_PLAN_ROWS_PER_PAGE 64.0

static get_relation_info_hook_type prev_get_relation_info_hook = NULL;
static planner_hook_type		   prev_planner_hook = NULL;

/* > 0 while pgq_execute_indexed() runs a statement (and may plan it) */
static int indexed_depth = 0;
/* > 0 while pgq_execute_presorted() does */
static int presorted_depth = 0;

static PlannedStmt *pgq_planner(Query *parse, const char *query_string,
								int cursorOptions, ParamListInfo boundParams);

/*
 * pgq_relation_info
 *		get_relation_info_hook: while one of the queue's statements is
 *		planned, make every table of the pgqueuer schema, and each of its
 *		indexes, partial ones included, look at least PGQ_PLAN_MIN_ROWS
 *		rows big.
 */
static void
pgq_relation_info(PlannerInfo *root, Oid relationObjectId, bool inhparent,
				  RelOptInfo *rel)
{
	Oid		  nsp;
	ListCell *lc;

	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relationObjectId, inhparent, rel);

	if (indexed_depth == 0 || rel->tuples >= PGQ_PLAN_MIN_ROWS)
		return;
	nsp = get_namespace_oid(PGQ_SCHEMA, true);
	if (!OidIsValid(nsp) || get_rel_namespace(relationObjectId) != nsp)
		return;

	rel->tuples = PGQ_PLAN_MIN_ROWS;
	rel->pages = Max(rel->pages,
					 (BlockNumber) (PGQ_PLAN_MIN_ROWS / PGQ_PLAN_ROWS_PER_PAGE));
	/* partial indexes too: the one of queued jobs may hold them all */
	foreach (lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);

		index->tuples = Max(index->tuples, rel->tuples);
		index->pages = Max(index->pages, rel->pages / 4);
	}
}

/*
 * pgq_install_plan_hook
 *		Install the get_relation_info_hook and the planner_hook; called once
 *		from _PG_init.
 */
void
pgq_install_plan_hook(void)
{
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = pgq_relation_info;
	prev_planner_hook = planner_hook;
	planner_hook = pgq_planner;
}

/*
 * pgq_planner
 *		planner_hook: while one of the queue's statements is planned, plan
 *		with sequential scans, hash joins, merge joins and JIT off, and for
 *		pgq_execute_presorted() sorts and hashed aggregation too.
 *
 * Only planning looks at these settings, and a kept generic plan is made
 * once, so they are switched here, where (re)planning happens, rather than
 * around every execution: setting four GUCs at a new nest level and
 * undoing them cost more per call than some of the statements themselves.
 * The planner's own variables are set and restored directly, as a GUC
 * change would set them.
 */
static PlannedStmt *
pgq_planner(Query *parse, const char *query_string, int cursorOptions,
			ParamListInfo boundParams)
{
	bool		 save_seqscan = enable_seqscan;
	bool		 save_hashjoin = enable_hashjoin;
	bool		 save_mergejoin = enable_mergejoin;
	bool		 save_sort = enable_sort;
	bool		 save_hashagg = enable_hashagg;
	bool		 save_jit = jit_enabled;
	PlannedStmt *result;

	if (indexed_depth == 0)
		return prev_planner_hook ? prev_planner_hook(parse, query_string, cursorOptions, boundParams) : standard_planner(parse, query_string, cursorOptions, boundParams);

	enable_seqscan = false;
	enable_hashjoin = false;
	enable_mergejoin = false;
	if (presorted_depth > 0)
	{
		enable_sort = false;
		enable_hashagg = false;
	}
	jit_enabled = false;
	PG_TRY();
	{
		result = prev_planner_hook ? prev_planner_hook(parse, query_string, cursorOptions, boundParams) : standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		enable_seqscan = save_seqscan;
		enable_hashjoin = save_hashjoin;
		enable_mergejoin = save_mergejoin;
		enable_sort = save_sort;
		enable_hashagg = save_hashagg;
		jit_enabled = save_jit;
	}
	PG_END_TRY();
	return result;
}

/*
 * execute_shaped
 *		pgq_execute() with the planner hook's settings on while the
 *		statement runs (and may be planned): those of pgq_execute_indexed(),
 *		and with presorted those of pgq_execute_presorted() too.
 */
static int
execute_shaped(SPIPlanPtr plan, Datum *values, const char *nulls,
			   int expected, bool presorted)
{
	int n;

	indexed_depth++;
	if (presorted)
		presorted_depth++;
	PG_TRY();
	{
		n = pgq_execute(plan, values, nulls, expected);
	}
	PG_FINALLY();
	{
		indexed_depth--;
		if (presorted)
			presorted_depth--;
	}
	PG_END_TRY();
	return n;
}

/*
 * pgq_execute_indexed
 *		pgq_execute() for a statement of the queue: planned (when it is) as
 *		described in the file header.  For statements that touch a bounded
 *		number of rows of the queue or the log, never for joins between two
 *		unbounded inputs, which only nested loops would be left to do.
 */
int
pgq_execute_indexed(SPIPlanPtr plan, Datum *values, const char *nulls,
					int expected)
{
	return execute_shaped(plan, values, nulls, expected, false);
}

/*
 * pgq_execute_presorted
 *		pgq_execute_indexed() for a statement that groups or orders rows an
 *		index holds in that order: planned with sorts and hashed aggregation
 *		off as well, so that it reads that index, the only way left that
 *		needs neither, whatever the statistics say about the rows it holds
 *		(the queue's partial indexes on picked jobs all look alike to the
 *		planner when it saw few picked jobs).  The statement must not sort
 *		anything else.
 */
int
pgq_execute_presorted(SPIPlanPtr plan, Datum *values, const char *nulls,
					  int expected)
{
	return execute_shaped(plan, values, nulls, expected, true);
}
