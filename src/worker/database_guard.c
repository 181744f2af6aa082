/*-------------------------------------------------------------------------
 *
 * database_guard.c
 *		ProcessUtility hook: keep the background worker out of the way of
 *		database DDL, and tell the launcher about CREATE EXTENSION.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME, ALTER DATABASE ... SET
 * TABLESPACE and CREATE DATABASE ... TEMPLATE refuse to run while another
 * session is connected to the database concerned; PostgreSQL 15 terminates
 * background workers only for DROP DATABASE ... WITH (FORCE).  Before such
 * a statement runs, this hook blocks the database (no worker may start
 * there) and terminates its worker, waiting briefly until it has left; the
 * block is lifted when the transaction ends, and the launcher then starts a
 * worker again if the database still exists (the shape of citus's and
 * timescaledb's "stop the worker before the utility" hooks).
 *
 * After a transaction that ran CREATE EXTENSION commits, the launcher is
 * nudged to probe that database at once, so a new installation is served
 * within a naptime.
 *
 * Installed only when the library is preloaded (the shared memory exists).
 *
 * IDENTIFICATION
 *		src/worker/database_guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/timestamp.h"

#include "background.h"
#include "compat.h"

/* how long DDL waits for the worker to leave before going ahead anyway */
#define GUARD_WAIT_MS 10000

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static bool						xact_callback_registered = false;
static bool						holds_blocks = false;
static bool						nudge_pending = false;

/*
 * guard_xact_callback
 *		At the end of the transaction: release blocks; on commit, send the
 *		CREATE EXTENSION nudge.  Must not fail.
 */
static void
guard_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (nudge_pending)
				pgq_nudge(MyDatabaseId);
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			if (holds_blocks)
				pgq_release_blocks();
			holds_blocks = false;
			nudge_pending = false;
			break;
		default:
			break;
	}
}

static void
ensure_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(guard_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

/*
 * stop_worker_of
 *		Block database "dbname" for the rest of the transaction and wait
 *		until its worker has left.  Does nothing for a database that does
 *		not exist or that the current user does not own: the statement
 *		itself will report the error.
 */
static void
stop_worker_of(const char *dbname)
{
	Oid			dboid;
	TimestampTz deadline;

	if (dbname == NULL)
		return;
	dboid = get_database_oid(dbname, true);
	if (!OidIsValid(dboid) || !pgq_database_ownercheck(dboid, GetUserId()))
		return;

	ensure_xact_callback();
	holds_blocks = true;
	pgq_block_database(dboid);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), GUARD_WAIT_MS);
	while (pgq_database_has_running_worker(dboid) &&
		   GetCurrentTimestamp() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * option_value
 *		The string value of DefElem "name" in options, or NULL.
 */
static char *
option_value(List *options, const char *name)
{
	ListCell *lc;

	foreach (lc, options)
	{
		DefElem *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, name) == 0 && def->arg != NULL)
			return defGetString(def);
	}
	return NULL;
}

static void
pgq_process_utility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	Node *parsetree = pstmt->utilityStmt;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			stop_worker_of(((DropdbStmt *) parsetree)->dbname);
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				stop_worker_of(((RenameStmt *) parsetree)->subname);
			break;
		case T_AlterDatabaseStmt:
			if (option_value(((AlterDatabaseStmt *) parsetree)->options,
							 "tablespace") != NULL)
				stop_worker_of(((AlterDatabaseStmt *) parsetree)->dbname);
			break;
		case T_CreatedbStmt:
		{
			char *tmpl = option_value(((CreatedbStmt *) parsetree)->options,
									  "template");

			stop_worker_of(tmpl ? tmpl : "template1");
			break;
		}
		case T_CreateExtensionStmt:
			ensure_xact_callback();
			nudge_pending = true;
			break;
		default:
			break;
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * pgq_install_utility_hook
 *		Called from _PG_init while shared_preload_libraries is processed.
 */
void
pgq_install_utility_hook(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = pgq_process_utility;
}
