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

#include "catalog/pg_type.h"

#include "pgqueuer.h"
#include "utils/array.h"
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
#define FOLD_ENTRYPOINT_MAX 2000

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
 * The chunk is locked in a sub-select and updated by id through the primary
 * key: with no join between the log and the chunk, no plan can walk one of
 * them once per row of the other, however few unaggregated rows the
 * statistics of the log claim.
 */
static const char *const fold_sql =
"WITH upd AS ("
" UPDATE pgqueuer.pgqueuer_log l SET aggregated = true"
" WHERE l.id OPERATOR(pg_catalog.=) ANY (ARRAY("
"   SELECT id FROM pgqueuer.pgqueuer_log WHERE NOT aggregated LIMIT $1"
"   FOR UPDATE SKIP LOCKED))"
" RETURNING l.entrypoint, l.priority, l.status, l.created"
"), grp AS ("
" SELECT pg_catalog.count(*) AS n, priority, status, entrypoint,"
"   pg_catalog.date_trunc('sec'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, created)) AS sec"
" FROM upd WHERE pg_catalog.octet_length(entrypoint) OPERATOR(pg_catalog.<=) " CppAsString2(FOLD_ENTRYPOINT_MAX)
" GROUP BY priority, status, entrypoint, sec"
"), ins AS ("
" INSERT INTO pgqueuer.pgqueuer_statistics AS s (created, count, priority, status, entrypoint)"
" SELECT pg_catalog.timezone('UTC'::pg_catalog.text, sec), n, priority, status, entrypoint FROM grp"
" ON CONFLICT (priority, pg_catalog.date_trunc('sec'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, created)), status, entrypoint)"
" DO UPDATE SET count = s.count OPERATOR(pg_catalog.+) EXCLUDED.count"
" WHERE " STATS_COUNT_OK("s.count", "EXCLUDED.count")
"), bad AS ("
" SELECT s.id FROM grp JOIN pgqueuer.pgqueuer_statistics s"
"   ON s.priority OPERATOR(pg_catalog.=) grp.priority"
"  AND pg_catalog.date_trunc('sec'::pg_catalog.text, pg_catalog.timezone('UTC'::pg_catalog.text, s.created))"
"      OPERATOR(pg_catalog.=) grp.sec"
"  AND s.status OPERATOR(pg_catalog.=) grp.status"
"  AND s.entrypoint OPERATOR(pg_catalog.=) grp.entrypoint"
" WHERE NOT " STATS_COUNT_OK("s.count", "grp.n")
") SELECT pg_catalog.count(*), ARRAY(SELECT id FROM bad ORDER BY id),"
"   pg_catalog.count(*) FILTER (WHERE pg_catalog.octet_length(entrypoint)"
"     OPERATOR(pg_catalog.>) " CppAsString2(FOLD_ENTRYPOINT_MAX) ") FROM upd";

/*
 * Retention: the oldest chunk by created (through its index), deleted by id
 * (through the primary key), so a pass costs what it deletes.
 */
static const char *const prune_log_sql =
"DELETE FROM pgqueuer.pgqueuer_log WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
" SELECT id FROM pgqueuer.pgqueuer_log"
" WHERE created OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)"
"   AND aggregated IS NOT FALSE"
" ORDER BY created LIMIT $2))";

static const char *const prune_stats_sql =
"DELETE FROM pgqueuer.pgqueuer_statistics WHERE id OPERATOR(pg_catalog.=) ANY (ARRAY("
" SELECT id FROM pgqueuer.pgqueuer_statistics"
" WHERE created OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) $1)"
" ORDER BY id LIMIT $2))";

static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr fold_plan = NULL;
static SPIPlanPtr prune_log_plan = NULL;
static SPIPlanPtr prune_stats_plan = NULL;

/*
 * pgq_fold_statistics
 *		Fold at most "chunk" unaggregated log rows into pgqueuer_statistics.
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
	Datum		value = Int32GetDatum(chunk);
	bool		isnull;
	Datum		bad;
	int64		folded;

	if (single_writer)
	{
		pgq_execute(pgq_plan(&lock_plan, lock_sql, 0, NULL), NULL, NULL,
					SPI_OK_SELECT);
		if (!DatumGetBool(pgq_getdatum(0, 1, &isnull)))
			return 0;
	}
	pgq_execute_indexed(pgq_plan(&fold_plan, fold_sql, 1, argtypes), &value, NULL,
						SPI_OK_SELECT);
	folded = pgq_getint64(0, 1);
	if (pgq_getint64(0, 3) > 0)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgqueuer: " INT64_FORMAT " log rows with an entrypoint longer than %d bytes were not counted in the statistics",
						pgq_getint64(0, 3), FOLD_ENTRYPOINT_MAX),
				 errdetail("Such rows can only have been written into pgqueuer.pgqueuer_log directly.")));
	bad = pgq_getdatum(0, 2, &isnull);
	if (!isnull)
	{
		Datum	   *ids;
		bool	   *nulls;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(bad), INT8OID, 8, true,
						  TYPALIGN_DOUBLE, &ids, &nulls, &n);
		for (int i = 0; i < n; i++)
			if (pgq_first_report("pgqueuer_statistics", DatumGetInt64(ids[i])))
				pgq_report_skipped_row("pgqueuer_statistics", DatumGetInt64(ids[i]),
									   "its count is negative or would pass the bigint maximum");
	}
	return folded;
}

/*
 * prune
 *		Run a chunked retention DELETE until it deletes nothing.
 */
static int64
prune(SPIPlanPtr *cache, const char *sql, Interval *retention)
{
	static const Oid argtypes[2] = {INTERVALOID, INT4OID};
	Datum		values[2];
	int64		total = 0;
	int			n;

	values[0] = IntervalPGetDatum(retention);
	values[1] = Int32GetDatum(RETENTION_CHUNK);
	do
	{
		n = pgq_execute_indexed(pgq_plan(cache, sql, 2, argtypes), values, NULL,
								SPI_OK_DELETE);
		total += n;
	} while (n == RETENTION_CHUNK);
	return total;
}

/*
 * pgq_prune_history
 *		Delete log rows (already folded) and statistics rows older than
 *		pgqueuer.log_retention; nothing when it is 0.  Must run inside SPI.
 *		Returns the number of rows deleted.
 */
int64
pgq_prune_history(void)
{
	Interval	retention;

	if (pgq_log_retention_s <= 0)
		return 0;
	memset(&retention, 0, sizeof(retention));
	retention.time = (int64) pgq_log_retention_s * USECS_PER_SEC;
	return prune(&prune_log_plan, prune_log_sql, &retention) +
		prune(&prune_stats_plan, prune_stats_sql, &retention);
}
