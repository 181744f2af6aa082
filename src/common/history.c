/*-------------------------------------------------------------------------
 *
 * history.c
 *		What pgqueuer.history (guc.c) keeps, and the one place that spells a
 *		log-row INSERT.
 *
 * PgQueuer's log (pgqueuer.pgqueuer_log) gets a row for every transition
 * of a job: 'queued' at enqueue, 'picked' at each claim, then the outcome.
 * That history is what PgQueuer's dashboard and statistics read, and it is
 * the default here; but each row costs a heap tuple and four index entries,
 * as much as the job itself.  pgqueuer.history chooses:
 *
 *	full		PgQueuer's three rows per job (the default);
 *	finished	only the rows that record how an attempt ended (complete(),
 *				retry(), cancel(), lease expiry);
 *	none		no log rows, hence no statistics, and job_status() and
 *				wait_for() cannot tell how a finished job ended.
 *
 * Every statement that writes log rows builds its text here: the caller
 * gives the statement's head (a WITH list whose CTEs produce the rows), a
 * SELECT of the rows (job_id, status, priority, entrypoint, traceback) and
 * the tail; the log CTE is spliced in only when the current mode keeps that
 * kind of row, and each variant is a kept plan of its own.
 *
 * Rows written here have aggregated = NULL: the statistics fold counts them
 * by time (statistics.c) without updating them, while PgQueuer's own
 * aggregation, which takes "NOT aggregated" rows, leaves them alone.
 *
 * IDENTIFICATION
 *		src/common/history.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "history.h"
#include "schema_version.h"
#include "spi_util.h"

/*
 * pgq_log_wanted
 *		Whether the current mode writes log rows of this kind.
 */
bool
pgq_log_wanted(PgqLogKind kind)
{
	switch (pgq_history)
	{
		case PGQ_HISTORY_FULL:
			return true;
		case PGQ_HISTORY_FINISHED:
			return kind == PGQ_LOG_OUTCOME;
		default:
			return false;
	}
}

/*
 * pgq_log_slot_name
 *		"pgqueuer_log_sNN", the name of day slot day_slot (0 to
 *		PGQ_LOG_DAY_SLOTS - 1) of pgqueuer_log, palloc'd.
 */
char *
pgq_log_slot_name(int day_slot)
{
	return psprintf("pgqueuer_log_s%02d", day_slot);
}

/*
 * pgq_log_plan
 *		The kept plan of head [, log CTE] tail for the current mode.
 *
 * cache points to PGQ_LOG_PLAN_SLOTS plan slots: [0] without the log rows,
 * [1] with rows for a 1.0 or 1.1 schema still waiting for ALTER EXTENSION
 * UPDATE (aggregated = false: the statistics fold flips rows, and its
 * watermark is not kept while the update is pending), [2] with rows
 * counted by time (aggregated = NULL) routed through pgqueuer_log, [3 + d]
 * the same written straight into day slot d.
 *
 * The rows are created at now(), the start of the transaction, so they
 * all belong to the day slot of that time; inserting into the slot rather
 * than through pgqueuer_log spares each statement the routing of its rows
 * (finding and opening the partition), and the slot still checks its
 * partition constraint on every row.  (Only a clock before 2000, whose
 * rows go to the default partition, takes the routed plan.)  A backend
 * keeps the plan of one day slot per statement: the first call of a new
 * day frees the one before.
 *
 * rows is a SELECT whose five columns are job_id, status, priority,
 * entrypoint and traceback (jsonb, may be NULL); head must end inside a
 * WITH list (after a CTE), and tail holds any further CTEs (each starting
 * with a comma) and the statement's final SELECT or DML.  Must be called
 * between SPI_connect and SPI_finish.
 */
SPIPlanPtr
pgq_log_plan(SPIPlanPtr *cache, PgqLogKind kind, const char *head,
			 const char *rows, const char *tail, int nargs,
			 const Oid *argtypes)
{
	int	  slot = 0;
	char *sql;

	if (pgq_log_wanted(kind))
	{
		TimestampTz now = GetCurrentTransactionStartTimestamp();

		if (pgq_schema_state(NULL) != PGQ_SCHEMA_CURRENT)
			slot = 1;
		else if (now < 0)
			slot = 2;
		else
			slot = 3 + (int) ((now / USECS_PER_DAY) % PGQ_LOG_DAY_SLOTS);
	}
	if (cache[slot] != NULL)
		return cache[slot];
	/* a new day: the plan of the day before is not needed again for weeks */
	for (int d = 3; slot > 2 && d < PGQ_LOG_PLAN_SLOTS; d++)
		if (cache[d] != NULL)
		{
			SPI_freeplan(cache[d]);
			cache[d] = NULL;
		}
	if (slot > 2)
		/* a partition has no identity of its own: the log's sequence */
		sql = psprintf("%s, pgq_log AS ("
					   " INSERT INTO pgqueuer.%s"
					   "  (id, job_id, status, priority, entrypoint, traceback, aggregated)"
					   " SELECT pg_catalog.nextval('pgqueuer.pgqueuer_log_id_seq'::pg_catalog.regclass),"
					   "  r.job_id, r.status, r.priority, r.entrypoint, r.traceback, NULL::pg_catalog.bool"
					   " FROM (%s) AS r(job_id, status, priority, entrypoint, traceback)"
					   ") %s",
					   head, pgq_log_slot_name(slot - 3), rows, tail);
	else if (slot > 0)
		sql = psprintf("%s, pgq_log AS ("
					   " INSERT INTO pgqueuer.pgqueuer_log"
					   "  (job_id, status, priority, entrypoint, traceback, aggregated)"
					   " SELECT r.job_id, r.status, r.priority, r.entrypoint, r.traceback,"
					   "  %s::pg_catalog.bool"
					   " FROM (%s) AS r(job_id, status, priority, entrypoint, traceback)"
					   ") %s",
					   head, slot == 1 ? "false" : "NULL", rows, tail);
	else
		sql = psprintf("%s %s", head, tail);
	pgq_plan(&cache[slot], sql, nargs, argtypes);
	pfree(sql);
	return cache[slot];
}
