/*-------------------------------------------------------------------------
 *
 * log_partitions.c
 *		Retention of pgqueuer_log by day slot: a TRUNCATE per day, not a
 *		DELETE per row.
 *
 * pgqueuer_log is partitioned by day into PGQ_LOG_DAY_SLOTS (history.h)
 * fixed partitions (sql/pgqueuer--1.1--1.2.sql): the rows of day n,
 * counted in days (UTC) since 2000-01-01, are in pgqueuer_log_s<n mod 16>.
 * The retention duty calls pgq_truncate_log_slots() on every pass, which
 * empties each slot whose rows are all
 *
 *	- older than now() - pgqueuer.log_retention,
 *	- older than the time fold's watermark (counted by time), and
 *	- not rows that PgQueuer's clients wrote and the fold has not flipped
 *	  yet (aggregated = false).
 *
 * A slot holds one day at a time: the day of a slot comes 16 days after
 * the one before it, so with a retention of up to 14 days each slot is
 * emptied at least a day before its next day begins, and retention costs
 * one TRUNCATE per day, whatever the day holds.  With a longer retention,
 * or while no maintenance ran for weeks, a slot holds rows of its new day
 * as well as old ones and cannot be emptied; then the row-by-row prune of
 * statistics.c deletes the old rows, as before.
 *
 * The three checks are each an index probe on the slot.  A candidate slot
 * is locked (ACCESS EXCLUSIVE, waiting at most LOG_LOCK_TIMEOUT), checked
 * again and truncated, in a subtransaction: no row can arrive between the
 * check and the TRUNCATE, and a slot that another transaction is reading
 * is left for the next pass (and the row-by-row prune skips the log in
 * this one, which would otherwise delete that slot's rows one by one).
 * Inserts into the log lock only the slot they write, today's, so the lock
 * holds up no enqueue, dequeue or completion; statements that read the
 * whole log (the statistics fold, job_history()) wait for it, 100 ms at
 * most.
 *
 * IDENTIFICATION
 *		src/api/log_partitions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "history.h"
#include "log_partitions.h"
#include "report_once.h"
#include "spi_util.h"
#include "statistics.h"

/* the longest a TRUNCATE waits for a slot's lock, ms */
#define LOG_LOCK_TIMEOUT "100"

/*
 * Whether a slot may be emptied: it has rows, none of them created at or
 * after $1 (the earlier of now() - retention and the watermark), none of
 * them waiting to be flipped by the fold.
 */
#define SLOT_EMPTIABLE(slot) \
	"EXISTS (SELECT 1 FROM pgqueuer." slot ")" \
	" AND NOT EXISTS (SELECT 1 FROM pgqueuer." slot " WHERE created OPERATOR(pg_catalog.>=) $1)" \
	" AND NOT EXISTS (SELECT 1 FROM pgqueuer." slot " WHERE NOT aggregated)"

/* SLOT_EMPTIABLE of a slot named by a %s (three times) */
#define SLOT_EMPTIABLE_FORMAT SLOT_EMPTIABLE("%s")

/*
 * The check of a locked slot: SLOT_EMPTIABLE, and the rows it holds
 * (pg_class.reltuples; counted when the slot was never vacuumed or
 * analyzed).  Five times the slot's name.
 */
#define SLOT_CHECK_SQL \
	"SELECT " SLOT_EMPTIABLE_FORMAT "," \
	" CASE WHEN c.reltuples OPERATOR(pg_catalog.>=) 0 THEN c.reltuples::pg_catalog.int8" \
	" ELSE (SELECT pg_catalog.count(*) FROM pgqueuer.%s) END" \
	" FROM pg_catalog.pg_class c" \
	" WHERE c.oid OPERATOR(pg_catalog.=) 'pgqueuer.%s'::pg_catalog.regclass"

static SPIPlanPtr candidates_plan = NULL;

/*
 * candidates_sql
 *		One row per slot: its number and whether SLOT_EMPTIABLE holds, in a
 *		single statement, so that a pass costs one planned statement.
 */
static char *
candidates_sql(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int n = 0; n < PGQ_LOG_DAY_SLOTS; n++)
	{
		char *slot = pgq_log_slot_name(n);

		if (n > 0)
			appendStringInfoString(&buf, " UNION ALL ");
		appendStringInfo(&buf, "SELECT %d, " SLOT_EMPTIABLE_FORMAT, n, slot, slot, slot);
	}
	return buf.data;
}

/* a slot to empty: what truncate_one() reads and fills */
typedef struct SlotTruncate
{
	const char *slot;	 /* relation name, "pgqueuer_log_sNN" */
	TimestampTz horizon; /* rows created from here on keep the slot */
	int64		rows;	 /* rows it held, or -1 if it was kept */
} SlotTruncate;

/*
 * truncate_one
 *		Lock the slot (lock_timeout = LOG_LOCK_TIMEOUT), check it again and
 *		empty it.
 */
static void
truncate_one(void *arg)
{
	SlotTruncate *t = (SlotTruncate *) arg;
	int			  nestlevel = NewGUCNestLevel();
	Oid			  argtypes[1] = {TIMESTAMPTZOID};
	Datum		  values[1] = {TimestampTzGetDatum(t->horizon)};
	const char	 *check;
	bool		  isnull;

	(void) set_config_option("lock_timeout", LOG_LOCK_TIMEOUT,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_execute(psprintf("LOCK TABLE pgqueuer.%s IN ACCESS EXCLUSIVE MODE", t->slot),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "pgqueuer: could not lock pgqueuer.%s", t->slot);
	check = psprintf(SLOT_CHECK_SQL, t->slot, t->slot, t->slot, t->slot, t->slot);
	if (SPI_execute_with_args(check, 1, argtypes, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "pgqueuer: could not check pgqueuer.%s", t->slot);
	if (DatumGetBool(pgq_getdatum(0, 1, &isnull)))
	{
		int64 estimate = pgq_getint64(0, 2);

		if (SPI_execute(psprintf("TRUNCATE pgqueuer.%s", t->slot), false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "pgqueuer: could not truncate pgqueuer.%s", t->slot);
		t->rows = Max(estimate, 0);
	}
	AtEOXact_GUC(true, nestlevel);
}

/*
 * truncate_slot
 *		Lock slot n, check it again with "horizon" and empty it, in a
 *		subtransaction.  Returns the rows it held (pg_class.reltuples, an
 *		estimate; counted when the slot was never vacuumed or analyzed), or
 *		-1 if it was not emptied: it no longer qualifies, or it is left for
 *		the next pass (*deferred is set then): its lock was not granted in
 *		time, or an error, which is logged once.
 */
static int64
truncate_slot(int n, TimestampTz horizon, bool *deferred)
{
	SlotTruncate t = {pgq_log_slot_name(n), horizon, -1};
	ErrorData	*edata = pgq_try_subtransaction(truncate_one, &t);

	if (edata == NULL)
		return t.rows;
	*deferred = true;
	if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE &&
		pgq_first_report_line(psprintf("pgqueuer: could not empty log slot %s: %s",
									   t.slot, edata->message)))
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("could not empty log slot pgqueuer.%s: %s", t.slot, edata->message),
				 errhint("Until it is emptied, retention deletes its old rows one by one.")));
	FreeErrorData(edata);
	return -1;
}

/*
 * pgq_truncate_log_slots
 *		Find the slots that SLOT_EMPTIABLE allows (one statement) and empty
 *		each with truncate_slot(); log_partitions.h says more.
 */
int64
pgq_truncate_log_slots(bool *deferred)
{
	static const Oid argtypes[1] = {TIMESTAMPTZOID};
	Datum			 values[1];
	TimestampTz		 horizon;
	TimestampTz		 watermark;
	bool			 emptiable[PGQ_LOG_DAY_SLOTS];
	int				 n;
	int64			 rows = 0;

	*deferred = false;
	if (pgq_log_retention_s <= 0)
		return 0;
	horizon = GetCurrentTimestamp() - (int64) pgq_log_retention_s * USECS_PER_SEC;
	watermark = pgq_statistics_watermark();
	horizon = Min(horizon, watermark);
	values[0] = TimestampTzGetDatum(horizon);

	/*
	 * The partitioned table first, then its slots, in the order every
	 * statement through pgqueuer_log takes them: otherwise a DDL statement
	 * on the log (ALTER TABLE, repair()) holding the table and waiting for a
	 * slot, and this duty holding the slots and waiting for the table (its
	 * prune), would deadlock.
	 */
	if (SPI_execute("LOCK TABLE pgqueuer.pgqueuer_log IN ACCESS SHARE MODE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "pgqueuer: could not lock pgqueuer.pgqueuer_log");
	if (candidates_plan == NULL)
		pgq_plan(&candidates_plan, candidates_sql(), 1, argtypes);
	n = pgq_execute(candidates_plan, values, NULL, SPI_OK_SELECT);
	memset(emptiable, 0, sizeof(emptiable));
	if (n != PGQ_LOG_DAY_SLOTS)
		elog(ERROR, "pgqueuer: the log has %d day slots, expected %d", n, PGQ_LOG_DAY_SLOTS);
	for (int i = 0; i < n; i++)
	{
		bool isnull;
		int	 slot = DatumGetInt32(pgq_getdatum(i, 1, &isnull));

		if (slot >= 0 && slot < PGQ_LOG_DAY_SLOTS)
			emptiable[slot] = DatumGetBool(pgq_getdatum(i, 2, &isnull));
	}

	for (int s = 0; s < PGQ_LOG_DAY_SLOTS; s++)
	{
		int64 emptied;

		if (!emptiable[s])
			continue;
		emptied = truncate_slot(s, horizon, deferred);
		if (emptied > 0)
			rows += emptied;
	}
	return rows;
}
