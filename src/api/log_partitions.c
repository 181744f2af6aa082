/*-------------------------------------------------------------------------
 *
 * log_partitions.c
 *		The day partitions of pgqueuer_log: made ahead, dropped whole once
 *		their day is past log_retention and counted.
 *
 * pgqueuer_log is partitioned by created (sql/pgqueuer--1.1--1.2.sql).  The
 * retention duty calls pgq_maintain_log_partitions() on every pass:
 *
 *	- it makes the partition of each day (UTC) from today to
 *	  LOG_DAYS_AHEAD days ahead that no partition covers yet, named
 *	  pgqueuer_log_pYYYYMMDD, with the persistence and storage parameters
 *	  that set_durability() and autovac() chose for the log, and moves the
 *	  rows of that day that went to the default partition into it;
 *	- it drops each partition whose range ended more than log_retention
 *	  ago, once the statistics have counted all of it: its end is not
 *	  after the time fold's watermark, and it holds no row that PgQueuer's
 *	  clients wrote and the fold has not flipped yet.
 *
 * So retention costs one DROP TABLE per day of history, whatever the day
 * holds, instead of a DELETE and a VACUUM of every row.  Rows that fall in
 * no day partition go to pgqueuer_log_default, which statistics.c prunes
 * row by row as before.
 *
 * Making or dropping a partition takes an ACCESS EXCLUSIVE lock on
 * pgqueuer_log, which every enqueue, dequeue and completion writes.  Each
 * is tried with lock_timeout = LOG_LOCK_TIMEOUT in a subtransaction: a
 * busy log is held up for that long at most, and the duty tries again on
 * its next pass.  Any other failure (a partition made by hand that
 * overlaps a day) is logged once and skipped; rows of that day go to the
 * default partition meanwhile.
 *
 * Bounds are read back from the catalog (pg_get_expr of relpartbound), not
 * from names, so partitions an administrator attached are honoured too.
 *
 * IDENTIFICATION
 *		src/api/log_partitions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "durability.h"
#include "guc.h"
#include "log_partitions.h"
#include "report_once.h"
#include "spi_util.h"
#include "statistics.h"

/* days after today (UTC) whose partitions are made ahead */
#define LOG_DAYS_AHEAD 2

/* the longest a partition's DDL waits for the log's lock, ms */
#define LOG_LOCK_TIMEOUT "100"

/*
 * The partitions of the log with their bounds as timestamps: lo is
 * -infinity for MINVALUE, hi NULL for MAXVALUE; the default partition is
 * left out.
 */
#define PARTS_SQL \
	"WITH part AS (" \
	" SELECT c.relname::pg_catalog.text AS relname, c.reltuples," \
	"   pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound" \
	" FROM pg_catalog.pg_inherits i" \
	" JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid" \
	" WHERE i.inhparent OPERATOR(pg_catalog.=) 'pgqueuer.pgqueuer_log'::pg_catalog.regclass" \
	"), range AS (" \
	" SELECT p.relname, p.reltuples," \
	"   COALESCE(pg_catalog.substring(p.bound, 'FROM \\(''([^'']+)''\\)')::pg_catalog.timestamptz," \
	"            '-infinity'::pg_catalog.timestamptz) AS lo," \
	"   pg_catalog.substring(p.bound, 'TO \\(''([^'']+)''\\)')::pg_catalog.timestamptz AS hi" \
	" FROM part p WHERE p.bound OPERATOR(pg_catalog.<>) 'DEFAULT'" \
	")"

/*
 * The days from today (UTC) to $1 days ahead that no partition covers:
 * the name of each one's partition and its bounds, as literals.
 */
static const char *const missing_sql =
	PARTS_SQL
	", day AS ("
	" SELECT pg_catalog.timezone('UTC'::pg_catalog.text,"
	"          pg_catalog.date_trunc('day'::pg_catalog.text,"
	"            pg_catalog.timezone('UTC'::pg_catalog.text, pg_catalog.now())))"
	"        OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => n) AS d"
	" FROM pg_catalog.generate_series(0, $1) AS n"
	")"
	" SELECT 'pgqueuer_log_p' OPERATOR(pg_catalog.||)"
	"          pg_catalog.to_char(pg_catalog.timezone('UTC'::pg_catalog.text, day.d), 'YYYYMMDD'),"
	"        pg_catalog.quote_literal(day.d),"
	"        pg_catalog.quote_literal(day.d OPERATOR(pg_catalog.+) '1 day'::pg_catalog.interval)"
	" FROM day"
	" WHERE NOT EXISTS (SELECT FROM range r"
	"   WHERE r.lo OPERATOR(pg_catalog.<=) day.d"
	"     AND (r.hi IS NULL OR r.hi OPERATOR(pg_catalog.>) day.d))"
	" ORDER BY day.d";

/*
 * The partitions whose range ended before now() - $1 and not after the
 * watermark $2, oldest first, with the rows they are estimated to hold.
 */
static const char *const expired_sql =
	PARTS_SQL
	" SELECT r.relname, GREATEST(r.reltuples, 0)::pg_catalog.int8 FROM range r"
	" WHERE r.hi OPERATOR(pg_catalog.<=) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)"
	"   AND r.hi OPERATOR(pg_catalog.<=) $2"
	" ORDER BY r.hi";

static SPIPlanPtr missing_plan = NULL;
static SPIPlanPtr expired_plan = NULL;

/* a partition to make or drop, read before any of them is touched */
typedef struct LogPartition
{
	char *name; /* relation name, unquoted */
	char *lo;	/* to make: lower bound, a literal */
	char *hi;	/* to make: upper bound, a literal */
	int64 rows; /* to drop: estimated rows */
} LogPartition;

/*
 * run_guarded
 *		Run the utility statements of "sql" (several, separated by
 *		semicolons) in a subtransaction with lock_timeout =
 *		LOG_LOCK_TIMEOUT.  Returns true if they ran; on an error the
 *		subtransaction is rolled back, a lock timeout is left for the next
 *		pass, and any other error is logged once (by its text) with "what".
 *		With a non-NULL "check", that query runs first, in the same
 *		subtransaction after "lock" has been taken: if its single boolean
 *		is true, nothing more runs and the result is false.
 */
static bool
run_guarded(const char *lock, const char *check, const char *sql,
			const char *what)
{
	MemoryContext oldctx = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool done = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldctx);
	PG_TRY();
	{
		int	 nestlevel = NewGUCNestLevel();
		bool skip = false;

		(void) set_config_option("lock_timeout", LOG_LOCK_TIMEOUT,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (lock != NULL && SPI_execute(lock, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "pgqueuer: \"%s\" failed", lock);
		if (check != NULL)
		{
			bool isnull;

			if (SPI_execute(check, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
				elog(ERROR, "pgqueuer: \"%s\" failed", check);
			skip = DatumGetBool(pgq_getdatum(0, 1, &isnull));
		}
		if (!skip && SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "pgqueuer: \"%s\" failed", sql);
		AtEOXact_GUC(true, nestlevel);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldctx);
		CurrentResourceOwner = oldowner;
		done = !skip;
	}
	PG_CATCH();
	{
		ErrorData *edata;

		MemoryContextSwitchTo(oldctx);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldctx);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
		{
			char *line = psprintf("pgqueuer: could not %s: %s", what, edata->message);

			if (pgq_first_report_line(line))
				ereport(WARNING,
						(errcode(edata->sqlerrcode),
						 errmsg("could not %s: %s", what, edata->message),
						 errhint("Rows of days without a partition go to pgqueuer.pgqueuer_log_default.")));
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return done;
}

/*
 * make_partitions
 *		Make the missing day partitions; returns how many were made.
 *
 * A partition cannot be added while the default partition holds rows of
 * its range, and it does until the first pass after an install, or after
 * a time without a background worker.  So each partition is made as a
 * table of its own, the default partition's rows of its day move into it,
 * and it is attached, all with the log locked so that no row arrives in
 * between.  Attaching reads the new table and the default partition once
 * to check their ranges.
 */
static int
make_partitions(void)
{
	static const Oid argtypes[1] = {INT4OID};
	Datum			 values[1] = {Int32GetDatum(LOG_DAYS_AHEAD)};
	bool			 logged;
	char			*with;
	LogPartition	*todo;
	int				 n;
	int				 made = 0;

	n = pgq_execute(pgq_plan(&missing_plan, missing_sql, 1, argtypes), values,
					NULL, SPI_OK_SELECT);
	if (n == 0)
		return 0;
	todo = palloc(sizeof(LogPartition) * n);
	for (int i = 0; i < n; i++)
	{
		bool isnull;

		todo[i].name = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		todo[i].lo = TextDatumGetCString(pgq_getdatum(i, 2, &isnull));
		todo[i].hi = TextDatumGetCString(pgq_getdatum(i, 3, &isnull));
	}

	pgq_log_partition_storage(&logged, &with);
	for (int i = 0; i < n; i++)
	{
		const char *name = quote_identifier(todo[i].name);
		char	   *sql;

		sql = psprintf("CREATE %sTABLE pgqueuer.%s"
					   " (LIKE pgqueuer.pgqueuer_log INCLUDING DEFAULTS)%s;"
					   " WITH moved AS (DELETE FROM pgqueuer.pgqueuer_log_default"
					   "   WHERE created OPERATOR(pg_catalog.>=) %s AND created OPERATOR(pg_catalog.<) %s"
					   "   RETURNING *)"
					   " INSERT INTO pgqueuer.%s SELECT * FROM moved;"
					   " ALTER TABLE pgqueuer.pgqueuer_log ATTACH PARTITION pgqueuer.%s"
					   " FOR VALUES FROM (%s) TO (%s)",
					   logged ? "" : "UNLOGGED ", name, with,
					   todo[i].lo, todo[i].hi, name, name, todo[i].lo, todo[i].hi);
		if (run_guarded("LOCK TABLE pgqueuer.pgqueuer_log IN ACCESS EXCLUSIVE MODE",
						NULL, sql,
						psprintf("make log partition pgqueuer.%s", todo[i].name)))
			made++;
	}
	return made;
}

/*
 * drop_partitions
 *		Drop the partitions past retention that the statistics have counted;
 *		returns the rows they were estimated to hold.
 */
static int64
drop_partitions(void)
{
	static const Oid argtypes[2] = {INTERVALOID, TIMESTAMPTZOID};
	Datum			 values[2];
	Interval		 retention;
	LogPartition	*todo;
	int				 n;
	int64			 rows = 0;

	if (pgq_log_retention_s <= 0)
		return 0;
	memset(&retention, 0, sizeof(retention));
	retention.time = (int64) pgq_log_retention_s * USECS_PER_SEC;
	values[0] = IntervalPGetDatum(&retention);
	values[1] = TimestampTzGetDatum(pgq_statistics_watermark());
	n = pgq_execute(pgq_plan(&expired_plan, expired_sql, 2, argtypes), values,
					NULL, SPI_OK_SELECT);
	todo = palloc(sizeof(LogPartition) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bool isnull;

		todo[i].name = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		todo[i].rows = pgq_getint64(i, 2);
	}

	for (int i = 0; i < n; i++)
	{
		const char *name = quote_identifier(todo[i].name);

		/*
		 * With the log locked no row can arrive; a row PgQueuer's clients
		 * wrote that the fold has not flipped yet keeps the partition until
		 * a later pass.
		 */
		if (run_guarded("LOCK TABLE pgqueuer.pgqueuer_log IN ACCESS EXCLUSIVE MODE",
						psprintf("SELECT EXISTS (SELECT 1 FROM pgqueuer.%s WHERE NOT aggregated)", name),
						psprintf("DROP TABLE pgqueuer.%s", name),
						psprintf("drop log partition pgqueuer.%s", name)))
			rows += todo[i].rows;
	}
	return rows;
}

int64
pgq_maintain_log_partitions(void)
{
	make_partitions();
	return drop_partitions();
}
