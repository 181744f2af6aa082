/*-------------------------------------------------------------------------
 *
 * statistics.c
 *		Folding the log into per-second statistics, and retention.
 *
 * PgQueuer counts the unaggregated log rows its snapshot sees and then
 * marks them, so two concurrent aggregations count the same rows twice.
 * Here a statement first locks a bounded chunk of unaggregated rows with
 * FOR UPDATE SKIP LOCKED (which re-checks "NOT aggregated" on the newest
 * version of a row changed since the snapshot, and skips rows another fold
 * holds), then flips exactly those rows and counts what the UPDATE returned:
 * a row is counted once.
 *
 * That flip rewrites every log row once more (a heap tuple and its index
 * entries), which cost more than the rest of a job's life together.  So the
 * rows pgqueuer writes itself carry aggregated = NULL (history.c) and are
 * folded by time instead, never updated: a watermark W in pgqueuer_settings
 * ('statistics_folded_until') says every such row created before W is
 * counted.  A fold picks a horizon T before which no more rows can appear
 * and counts the rows created in [W, T), then moves W to T, in one
 * transaction, under a lock on the watermark row.  A log row's created is
 * now(), the start of its transaction, so T is the earliest start of a
 * transaction still running in this database (fold_horizon()), read in a
 * statement before the counting one, whose fresh snapshot therefore sees
 * every transaction that started before T.  Rows flipped by the old path
 * (aggregated = false, as PgQueuer's clients and pgqueuer 1.0 write them)
 * are folded as before.
 *
 * Readers that want every row counted (log_statistics()) then flip the few
 * rows after W, under the same lock, so the time fold skips them.
 *
 * A log row whose entrypoint could not be a statistics key (written
 * directly into the log) is skipped with a WARNING rather than failing the
 * fold of all others.
 *
 * IDENTIFICATION
 *		src/api/statistics.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "guc.h"
#include "plan_shape.h"
#include "report_once.h"
#include "spi_util.h"
#include "statistics.h"
#include "validate.h"


/* Log rows and statistics rows deleted per retention statement. */
#define RETENTION_CHUNK 10000

/*
 * Log rows whose entrypoint is longer than this (bytes) are not counted: a
 * statistics row must fit in a btree entry of the unique index.  Only a
 * row written directly into the log can be that long (enqueue's own index
 * on the entrypoint refuses it), and one such row must not stop the fold
 * of all others; it is marked folded and reported instead.
 */
#define FOLD_ENTRYPOINT_MAX		2000
#define FOLD_ENTRYPOINT_MAX_SQL CppAsString2(FOLD_ENTRYPOINT_MAX)

/* PgQueuer's advisory lock key: hashtext of the statistics table's name */
static const char *const lock_sql =
	"SELECT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('pgqueuer.pgqueuer_statistics'))";

/*
 * Whether a bucket's count may grow by n: a count that is negative or
 * would pass the bigint maximum was written by hand (validate.c); such a
 * bucket is skipped and reported rather than failing the whole fold.
 */
#define STATS_COUNT_OK(count, n) \
	"(" count " OPERATOR(pg_catalog.>=) 0 AND " count " OPERATOR(pg_catalog.<=)" \
	" (9223372036854775807::pg_catalog.int8 OPERATOR(pg_catalog.-) " n "))"

/*
 * Its two uses in the fold, as plain names: a function-like macro inside a
 * line of FOLD_SQL_COUNT would make clang-format misalign the lines after it.
 */
#define FOLD_SQL_SUM_OK	   STATS_COUNT_OK("s.count", "EXCLUDED.count")
#define FOLD_SQL_BUCKET_OK STATS_COUNT_OK("s.count", "grp.n")

/*
 * The chunk is locked in a sub-select and updated by id through the primary
 * key: with no join between the log and the chunk, no plan can walk one of
 * them once per row of the other, however few unaggregated rows the
 * statistics of the log claim.
 */
#define FOLD_SQL_FLIP(pending) \
	"WITH upd AS (" \
	" UPDATE pgqueuer.pgqueuer_log l SET aggregated = true" \
	" WHERE l.id OPERATOR(pg_catalog.=) ANY (ARRAY(" \
	"   SELECT id FROM pgqueuer.pgqueuer_log WHERE " pending " LIMIT $1" \
	"   FOR UPDATE SKIP LOCKED))" \
	" RETURNING l.entrypoint, l.priority, l.status, l.created" \
	")"

/* the rows of the time fold: created in [$2, $3), never updated */
#define FOLD_SQL_RANGE \
	"WITH upd AS (" \
	" SELECT l.entrypoint, l.priority, l.status, l.created FROM pgqueuer.pgqueuer_log l" \
	" WHERE l.aggregated IS NULL" \
	"   AND l.created OPERATOR(pg_catalog.>=) $2 AND l.created OPERATOR(pg_catalog.<) $3" \
	")"

/* count the rows of upd into their per-second buckets */
#define FOLD_SQL_COUNT \
	", grp AS (" \
	" SELECT pg_catalog.count(*) AS n, priority, status, entrypoint," \
	"   pg_catalog.date_trunc('sec'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, created)) AS sec" \
	" FROM upd WHERE pg_catalog.octet_length(entrypoint) OPERATOR(pg_catalog.<=) " FOLD_ENTRYPOINT_MAX_SQL " GROUP BY priority, status, entrypoint, sec" \
	"), ins AS (" \
	" INSERT INTO pgqueuer.pgqueuer_statistics AS s (created, count, priority, status, entrypoint)" \
	" SELECT pg_catalog.timezone('UTC'::pg_catalog.text, sec), n, priority, status, entrypoint FROM grp" \
	" ON CONFLICT (priority, pg_catalog.date_trunc('sec'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, created)), status, entrypoint)" \
	" DO UPDATE SET count = s.count OPERATOR(pg_catalog.+) EXCLUDED.count" \
	" WHERE " FOLD_SQL_SUM_OK "), bad AS (" \
	" SELECT s.id FROM grp JOIN pgqueuer.pgqueuer_statistics s" \
	"   ON s.priority OPERATOR(pg_catalog.=) grp.priority" \
	"  AND pg_catalog.date_trunc('sec'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, s.created))" \
	"      OPERATOR(pg_catalog.=) grp.sec" \
	"  AND s.status OPERATOR(pg_catalog.=) grp.status" \
	"  AND s.entrypoint OPERATOR(pg_catalog.=) grp.entrypoint" \
	" WHERE NOT " FOLD_SQL_BUCKET_OK ") SELECT pg_catalog.count(*), ARRAY(SELECT id FROM bad ORDER BY id)," \
	"   pg_catalog.count(*) FILTER (WHERE pg_catalog.octet_length(entrypoint)" \
	"     OPERATOR(pg_catalog.>) " FOLD_ENTRYPOINT_MAX_SQL ") FROM upd"

/* the old path: rows written with aggregated = false */
static const char *const fold_sql = FOLD_SQL_FLIP("NOT aggregated") FOLD_SQL_COUNT;

/* readers: the rows after the watermark $2, not yet folded by time */
static const char *const fold_tail_sql =
	FOLD_SQL_FLIP("aggregated IS NULL AND created OPERATOR(pg_catalog.>=) $2") FOLD_SQL_COUNT;

/* the time fold */
static const char *const fold_range_sql = FOLD_SQL_RANGE FOLD_SQL_COUNT;

/*
 * The watermark: locked (a role below superuser cannot: it may not update
 * pgqueuer_settings), and read as microseconds since the Unix epoch.
 */
static const char *const watermark_sql =
	"SELECT value FROM pgqueuer.pgqueuer_settings"
	" WHERE name OPERATOR(pg_catalog.=) 'statistics_folded_until'::pg_catalog.text"
	" FOR UPDATE";

/* the same, unlocked: retention only compares with it */
static const char *const watermark_read_sql =
	"SELECT value FROM pgqueuer.pgqueuer_settings"
	" WHERE name OPERATOR(pg_catalog.=) 'statistics_folded_until'::pg_catalog.text";

static const char *const watermark_set_sql =
	"UPDATE pgqueuer.pgqueuer_settings SET value = $1, updated = pg_catalog.now()"
	" WHERE name OPERATOR(pg_catalog.=) 'statistics_folded_until'::pg_catalog.text";

/* a prepared transaction of this database may still commit old rows */
static const char *const prepared_sql =
	"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_xacts p"
	" WHERE p.database OPERATOR(pg_catalog.=) pg_catalog.current_database())";

/*
 * Retention of what the day slots' TRUNCATE (log_partitions.c) leaves: the
 * oldest chunk by created (through its index), deleted by id (through the
 * primary key), so a pass costs what it deletes.  $3 is the time fold's
 * watermark: a row pgqueuer wrote goes only once counted.  Once the slots
 * are emptied in time this finds nothing.
 */
static const char *const prune_log_sql =
	"DELETE FROM pgqueuer.pgqueuer_log WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
	" SELECT id FROM pgqueuer.pgqueuer_log"
	" WHERE created OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)"
	"   AND (aggregated OR (aggregated IS NULL AND created OPERATOR(pg_catalog.<) $3))"
	" ORDER BY created LIMIT $2))";

static const char *const prune_stats_sql =
	"DELETE FROM pgqueuer.pgqueuer_statistics WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
	" SELECT id FROM pgqueuer.pgqueuer_statistics"
	" WHERE created OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)"
	" ORDER BY id LIMIT $2))";

static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr fold_plan = NULL;
static SPIPlanPtr fold_tail_plan = NULL;
static SPIPlanPtr fold_range_plan = NULL;
static SPIPlanPtr watermark_plan = NULL;
static SPIPlanPtr watermark_read_plan = NULL;
static SPIPlanPtr watermark_set_plan = NULL;
static SPIPlanPtr prepared_plan = NULL;
static SPIPlanPtr prune_log_plan = NULL;
static SPIPlanPtr prune_stats_plan = NULL;

/*
 * report_fold_result
 *		The warnings of one fold statement, whose result row is (rows
 *		folded, ids of buckets out of range, rows with too long an
 *		entrypoint).  Returns the rows folded.
 */
static int64
report_fold_result(void)
{
	bool  isnull;
	Datum bad;

	if (pgq_getint64(0, 3) > 0)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgqueuer: " INT64_FORMAT " log rows with an entrypoint longer than %d bytes were not counted in the statistics",
						pgq_getint64(0, 3), FOLD_ENTRYPOINT_MAX),
				 errdetail("Such rows can only have been written into pgqueuer.pgqueuer_log directly.")));
	bad = pgq_getdatum(0, 2, &isnull);
	if (!isnull)
	{
		Datum *ids;
		bool  *nulls;
		int	   n;

		deconstruct_array(DatumGetArrayTypeP(bad), INT8OID, 8, true,
						  TYPALIGN_DOUBLE, &ids, &nulls, &n);
		for (int i = 0; i < n; i++)
			if (pgq_first_report("pgqueuer_statistics", DatumGetInt64(ids[i])))
				pgq_report_skipped_row("pgqueuer_statistics", DatumGetInt64(ids[i]),
									   "its count is negative or would pass the bigint maximum");
	}
	return pgq_getint64(0, 1);
}

/*
 * parse_watermark
 *		The stored watermark, "seconds[.fraction]" since the Unix epoch (as
 *		EXTRACT(epoch ...) prints it), exactly, as a TimestampTz; false when
 *		the text is not that.
 */
static bool
parse_watermark(const char *text, TimestampTz *result)
{
	int64		secs = 0;
	int64		usecs = 0;
	int			digits = 0;
	const char *p = text;
	bool		negative = false;

	if (*p == '-')
	{
		negative = true;
		p++;
	}
	if (!isdigit((unsigned char) *p))
		return false;
	while (isdigit((unsigned char) *p))
	{
		if (secs > INT64CONST(100000000000)) /* past year 5000: not ours */
			return false;
		secs = secs * 10 + (*p++ - '0');
	}
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
		{
			if (digits < 6)
			{
				usecs = usecs * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
	}
	if (*p != '\0')
		return false;
	for (; digits < 6; digits++)
		usecs *= 10;
	*result = (negative ? -1 : 1) * (secs * USECS_PER_SEC + usecs) -
			  ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	return true;
}

/*
 * format_watermark
 *		A TimestampTz as parse_watermark() reads it.
 */
static char *
format_watermark(TimestampTz t)
{
	int64 unix_us = t + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	int64 magnitude = unix_us < 0 ? -unix_us : unix_us;

	return psprintf("%s" INT64_FORMAT ".%06d", unix_us < 0 ? "-" : "",
					magnitude / USECS_PER_SEC,
					(int) (magnitude % USECS_PER_SEC));
}

/*
 * read_watermark
 *		The watermark's value in *w, the row locked when lock is true.
 *		False when there is no row (the extension script makes it) or it
 *		cannot be read; the time fold then does nothing, and verify() says
 *		why.
 */
static bool
read_watermark(bool lock, TimestampTz *w)
{
	bool	   isnull;
	Datum	   d;
	SPIPlanPtr plan = lock ? pgq_plan(&watermark_plan, watermark_sql, 0, NULL) : pgq_plan(&watermark_read_plan, watermark_read_sql, 0, NULL);

	if (pgq_execute(plan, NULL, NULL, SPI_OK_SELECT) != 1)
		return false;
	d = pgq_getdatum(0, 1, &isnull);
	return !isnull && parse_watermark(TextDatumGetCString(d), w);
}

/*
 * fold_horizon
 *		A time before which no more log rows can appear in this database:
 *		the earliest start of a transaction still running here (a log
 *		row's created is its transaction's now()), less a margin for a
 *		transaction whose start is not reported yet; no later than now less
 *		the margin.  The margin (pgqueuer.statistics_fold_margin) is there
 *		because a backend takes its transaction's start time when the
 *		statement arrives and reports it a few instructions later: one
 *		preempted in between is covered for that long.  Client backends,
 *		background workers and WAL senders count; autovacuum cannot write
 *		the log.  With a prepared
 *		transaction in this database, whose start is unknown, returns
 *		DT_NOBEGIN: nothing can be folded until it ends.
 *
 * Reads the backend status entries afresh (not the snapshot that
 * pg_stat_activity may have cached in this transaction), as the superuser
 * the statistics need, whoever calls.
 */
static TimestampTz
fold_horizon(void)
{
	TimestampTz horizon = GetCurrentTimestamp();
	int			n;

	if (max_prepared_xacts > 0)
	{
		bool isnull;

		pgq_execute(pgq_plan(&prepared_plan, prepared_sql, 0, NULL), NULL, NULL,
					SPI_OK_SELECT);
		if (DatumGetBool(pgq_getdatum(0, 1, &isnull)))
			return DT_NOBEGIN;
	}

	pgstat_clear_snapshot();
	n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgq_local_beentry(i);
		PgBackendStatus		 *be;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_databaseid != MyDatabaseId ||
			(be->st_backendType != B_BACKEND &&
			 be->st_backendType != B_BG_WORKER &&
			 be->st_backendType != B_WAL_SENDER))
			continue;
		if (be->st_xact_start_timestamp != 0)
			horizon = Min(horizon, be->st_xact_start_timestamp);
		/* a statement under way whose transaction is not reported yet */
		if (be->st_state != STATE_IDLE && be->st_state != STATE_UNDEFINED &&
			be->st_activity_start_timestamp != 0)
			horizon = Min(horizon, be->st_activity_start_timestamp);
	}
	pgstat_clear_snapshot();
	return horizon - (TimestampTz) pgq_fold_margin_ms * 1000;
}

/*
 * fold_by_time
 *		Count the log rows created in [W, horizon) that pgqueuer wrote
 *		(aggregated IS NULL) and move W to the horizon.  Needs a statement
 *		snapshot per statement (READ COMMITTED); returns 0 otherwise.
 */
static int64
fold_by_time(void)
{
	static const Oid argtypes[3] = {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	static const Oid settypes[1] = {TEXTOID};
	TimestampTz		 w;
	TimestampTz		 horizon;
	Datum			 values[3];
	int64			 folded;

	if (IsolationUsesXactSnapshot() || !read_watermark(true, &w))
		return 0;
	horizon = fold_horizon();
	if (horizon <= w)
		return 0;

	/* new statement, new snapshot: every transaction begun before horizon */
	values[0] = Int32GetDatum(0);
	values[1] = TimestampTzGetDatum(w);
	values[2] = TimestampTzGetDatum(horizon);
	pgq_execute_indexed(pgq_plan(&fold_range_plan, fold_range_sql, 3, argtypes),
						values, NULL, SPI_OK_SELECT);
	folded = report_fold_result();

	values[0] = CStringGetTextDatum(format_watermark(horizon));
	pgq_execute(pgq_plan(&watermark_set_plan, watermark_set_sql, 1, settypes),
				values, NULL, SPI_OK_UPDATE);
	return folded;
}

/*
 * pgq_fold_statistics
 *		Fold at most "chunk" log rows written with aggregated = false into
 *		pgqueuer_statistics, then, when fewer were left, the rows pgqueuer
 *		wrote up to the time fold's horizon.
 *
 * With single_writer, first take PgQueuer's transaction-level advisory lock
 * and do nothing (return 0) if another session holds it.  A bucket whose
 * count was written out of range by hand is left alone and reported once.
 * Must run inside SPI.  Returns the number of log rows folded.
 */
int64
pgq_fold_statistics(int chunk, bool single_writer)
{
	static const Oid argtypes[1] = {INT4OID};
	Datum			 value = Int32GetDatum(chunk);
	bool			 isnull;
	int64			 folded;

	if (single_writer)
	{
		pgq_execute(pgq_plan(&lock_plan, lock_sql, 0, NULL), NULL, NULL,
					SPI_OK_SELECT);
		if (!DatumGetBool(pgq_getdatum(0, 1, &isnull)))
			return 0;
	}
	pgq_execute_indexed(pgq_plan(&fold_plan, fold_sql, 1, argtypes), &value, NULL,
						SPI_OK_SELECT);
	folded = report_fold_result();
	if (folded < chunk)
		folded += fold_by_time();
	return folded;
}

/*
 * pgq_fold_statistics_tail
 *		For readers: after pgq_fold_statistics(), count the rows pgqueuer
 *		wrote after the watermark by flipping them (at most "chunk" per
 *		call), so that the statistics include every committed row.  Must
 *		run inside SPI.  Returns the number of log rows folded.
 */
int64
pgq_fold_statistics_tail(int chunk)
{
	static const Oid argtypes[2] = {INT4OID, TIMESTAMPTZOID};
	Datum			 values[2];
	TimestampTz		 w;

	if (!read_watermark(true, &w))
		return 0;
	values[0] = Int32GetDatum(chunk);
	values[1] = TimestampTzGetDatum(w);
	pgq_execute_indexed(pgq_plan(&fold_tail_plan, fold_tail_sql, 2, argtypes),
						values, NULL, SPI_OK_SELECT);
	return report_fold_result();
}

/*
 * pgq_statistics_watermark
 *		The time fold's watermark (DT_NOBEGIN when there is none), for
 *		retention: rows pgqueuer wrote are deleted only once counted.
 */
TimestampTz
pgq_statistics_watermark(void)
{
	TimestampTz w;

	return read_watermark(false, &w) ? w : DT_NOBEGIN;
}

/*
 * prune
 *		Run a chunked retention DELETE until it deletes nothing: $1 the
 *		retention, $2 the chunk, and with nargs 3, $3 the watermark.
 */
static int64
prune(SPIPlanPtr *cache, const char *sql, int nargs, Interval *retention,
	  TimestampTz watermark)
{
	static const Oid argtypes[3] = {INTERVALOID, INT4OID, TIMESTAMPTZOID};
	Datum			 values[3];
	int64			 total = 0;
	int				 n;

	values[0] = IntervalPGetDatum(retention);
	values[1] = Int32GetDatum(RETENTION_CHUNK);
	values[2] = TimestampTzGetDatum(watermark);
	do
	{
		n = pgq_execute_indexed(pgq_plan(cache, sql, nargs, argtypes), values, NULL,
								SPI_OK_DELETE);
		total += n;
	} while (n == RETENTION_CHUNK);
	return total;
}

/*
 * pgq_prune_history
 *		Delete log rows (already folded; only with log_too) and statistics
 *		rows older than pgqueuer.log_retention; nothing when it is 0.  Must
 *		run inside SPI.  Returns the number of rows deleted.  Runs after
 *		pgq_truncate_log_slots(), so it finds log rows only where a slot
 *		could not be emptied.
 */
int64
pgq_prune_history(bool log_too)
{
	Interval	retention;
	TimestampTz w;

	if (pgq_log_retention_s <= 0)
		return 0;
	memset(&retention, 0, sizeof(retention));
	retention.time = (int64) pgq_log_retention_s * USECS_PER_SEC;
	w = pgq_statistics_watermark();
	return (log_too ? prune(&prune_log_plan, prune_log_sql, 3, &retention, w) : 0) +
		   prune(&prune_stats_plan, prune_stats_sql, 2, &retention, w);
}
