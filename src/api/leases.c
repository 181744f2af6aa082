/*-------------------------------------------------------------------------
 *
 * leases.c
 *		Lease expiry: picked jobs whose heartbeat is older than their
 *		entrypoint's lease_timeout go back to the queue.
 *
 * Unlike PgQueuer, which silently re-picks stale jobs with the same attempt
 * count forever, an expired lease counts as an attempt: attempts + 1 and
 * back to queued while attempts < max_attempts, otherwise the job ends per
 * the entrypoint's on_failure (logged exception and deleted, or held as
 * failed), with a traceback JSON that says the lease expired.  Both dequeue
 * (for its own entrypoints) and maintenance (for all) call this.
 *
 * Jobs of an entrypoint whose registry row holds values outside the bounds
 * of bounds.h (written behind register_entrypoint's back) are skipped, and
 * reported by row_checks.c, instead of failing the statement for everyone;
 * the arithmetic is capped as well, since SQL does not promise to test the
 * row before computing with it.
 *
 * IDENTIFICATION
 *		src/api/leases.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "bounds.h"
#include "guc.h"
#include "history.h"
#include "leases.h"
#include "notify.h"
#include "plan_shape.h"
#include "report_once.h"
#include "spi_util.h"
#include "validate.h"
#include "wait_signal.h"

/*
 * A registry row of values within bounds.h, by a name of its own: a
 * function-like macro in a line of EXPIRE_SQL_HEAD would make clang-format
 * misalign the lines after it.
 */
#define EXPIRE_SQL_REGISTRY_OK PGQ_SQL_REGISTRY_ROW_OK("e")

/* picked jobs whose heartbeat is older than the shortest lease in use */
#define EXPIRE_SQL_CANDIDATES \
	" q.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status" \
	" AND q.heartbeat OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-)" \
	"     LEAST($2, (SELECT pg_catalog.min(lease_timeout) FROM pgqueuer.pgqueuer_entrypoints)))" \
	" AND ($1::pg_catalog.text[] IS NULL OR q.entrypoint OPERATOR(pg_catalog.=) ANY ($1))"

#define EXPIRE_SQL_HEAD \
	"WITH stale AS (" \
	" SELECT q.id, q.entrypoint, q.priority, q.attempts, q.queue_manager_id," \
	"   COALESCE(e.max_attempts, $3) AS max_attempts," \
	"   COALESCE(e.on_failure, 'delete'::pg_catalog.text) AS on_failure," \
	"   COALESCE(e.lease_timeout, $2) AS lease" \
	" FROM pgqueuer.pgqueuer q" \
	" LEFT JOIN pgqueuer.pgqueuer_entrypoints e ON e.entrypoint OPERATOR(pg_catalog.=) q.entrypoint" \
	" WHERE" EXPIRE_SQL_CANDIDATES \
	"   AND " PGQ_JOB_VALID_SQL \
	"   AND (e.entrypoint IS NULL OR " EXPIRE_SQL_REGISTRY_OK ")" \
	"   AND q.heartbeat OPERATOR(pg_catalog.<)" \
	"       (pg_catalog.now() OPERATOR(pg_catalog.-) LEAST(COALESCE(e.lease_timeout, $2), " PGQ_LEASE_MAX_SQL "))" \
	" ORDER BY q.heartbeat LIMIT $4" \
	" FOR UPDATE OF q SKIP LOCKED" \
	"), rq AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'queued'::pgqueuer.pgqueuer_status," \
	"   attempts = q.attempts OPERATOR(pg_catalog.+) 1," \
	"   queue_manager_id = NULL, updated = pg_catalog.now()" \
	" FROM stale s WHERE q.id OPERATOR(pg_catalog.=) s.id" \
	"   AND s.attempts OPERATOR(pg_catalog.<) s.max_attempts" \
	" RETURNING s.*, 'queued'::pgqueuer.pgqueuer_status AS outcome" \
	"), hd AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'failed'::pgqueuer.pgqueuer_status," \
	"   queue_manager_id = NULL, updated = pg_catalog.now()" \
	" FROM stale s WHERE q.id OPERATOR(pg_catalog.=) s.id" \
	"   AND s.attempts OPERATOR(pg_catalog.>=) s.max_attempts" \
	"   AND s.on_failure OPERATOR(pg_catalog.=) 'hold'::pg_catalog.text" \
	" RETURNING s.*, 'failed'::pgqueuer.pgqueuer_status AS outcome" \
	"), dl AS (" \
	" DELETE FROM pgqueuer.pgqueuer q USING stale s" \
	" WHERE q.id OPERATOR(pg_catalog.=) s.id" \
	"   AND s.attempts OPERATOR(pg_catalog.>=) s.max_attempts" \
	"   AND s.on_failure OPERATOR(pg_catalog.<>) 'hold'::pg_catalog.text" \
	" RETURNING s.*, 'exception'::pgqueuer.pgqueuer_status AS outcome" \
	"), al AS (SELECT * FROM rq UNION ALL SELECT * FROM hd UNION ALL SELECT * FROM dl" \
	")"

/* the log rows of expired leases, with a traceback record (history.c) */
#define EXPIRE_SQL_LOG \
	"SELECT id, outcome, priority, entrypoint, pg_catalog.jsonb_build_object(" \
	"   'job_id', id, 'timestamp', pg_catalog.now(), 'exception_type', 'LeaseExpired'," \
	"   'exception_message', pg_catalog.format('no heartbeat for %s (attempt %s of %s)'," \
	"     lease, attempts::pg_catalog.int8 OPERATOR(pg_catalog.+) 1," \
	"     max_attempts::pg_catalog.int8 OPERATOR(pg_catalog.+) 1)," \
	"   'traceback', '', 'additional_context', pg_catalog.jsonb_build_object(" \
	"     'entrypoint', entrypoint, 'queue_manager_id', queue_manager_id, 'attempt', attempts))" \
	" FROM al"

static const char *const expire_sql_tail =
	" SELECT entrypoint, outcome OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status FROM al";

/*
 * Whether any lease may have expired: the oldest of the candidates of the
 * statement above, without their per-entrypoint lease.  It runs first, so
 * that a dequeue on a healthy queue does not set up the four data-modifying
 * steps for nothing.  In heartbeat order, planned without sorts
 * (pgq_execute_presorted), it reads pgqueuer_heartbeat_id_id1_idx from the
 * oldest heartbeat and stops at the first candidate, reading no job whose
 * lease is running; as an EXISTS, planned while few jobs were picked, it
 * could read every picked job through pgqueuer_picked_ep_idx at each
 * dequeue.
 */
static const char *const probe_sql =
	"SELECT 1 FROM pgqueuer.pgqueuer q WHERE" EXPIRE_SQL_CANDIDATES
	"   AND " PGQ_JOB_VALID_SQL
	" ORDER BY q.heartbeat LIMIT 1";

/*
 * Expired picked jobs that the sweep skips because a value is one the
 * extension never writes (validate.h), for the report.
 */
static const char *const invalid_sql =
	"SELECT q.id, q.entrypoint, pg_catalog.octet_length(q.entrypoint)::pg_catalog.int8, q.attempts,"
	"   q.queue_manager_id IS NOT NULL"
	" FROM pgqueuer.pgqueuer q WHERE" EXPIRE_SQL_CANDIDATES
	"   AND NOT " PGQ_JOB_VALID_SQL
	" ORDER BY q.id LIMIT 100";

/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr expire_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr probe_plan = NULL;
static SPIPlanPtr invalid_plan = NULL;

/*
 * report_invalid
 *		Warn once per backend of each expired picked job that the sweep
 *		skips (at most 100 per call).
 */
static void
report_invalid(Datum *values, char *nulls)
{
	static const Oid argtypes[2] = {TEXTARRAYOID, INTERVALOID};
	int				 n;

	n = pgq_execute_indexed(pgq_plan(&invalid_plan, invalid_sql, 2, argtypes),
							values, nulls, SPI_OK_SELECT);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		int64		id = pgq_getint64(i, 1);
		Datum		ep = pgq_getdatum(i, 2, &isnull);
		const char *problem;

		if (!pgq_first_report("pgqueuer", id))
			continue;
		problem = pgq_job_problem(isnull ? NULL : TextDatumGetCString(ep),
								  pgq_getint64(i, 3),
								  DatumGetInt32(pgq_getdatum(i, 4, &isnull)),
								  DatumGetBool(pgq_getdatum(i, 5, &isnull)));
		pgq_report_skipped_row("pgqueuer", id,
							   problem ? problem : "a value is out of range");
	}
}

/*
 * pgq_expire_leases
 *		Expire at most "limit" leases of the given entrypoints (NULL: all).
 *
 * A job with a value that the extension never writes (validate.h) is left
 * alone; the maintenance sweep (entrypoints NULL) reports it once.
 *
 * Must run inside SPI.  Returns the number of jobs whose lease expired;
 * *woken / *nwoken receive the distinct entrypoints that got a job back in
 * the queue (allocated in the caller's context, outside SPI), for the
 * wake-up.
 */
int64
pgq_expire_leases(ArrayType *entrypoints, int limit, char ***woken, int *nwoken)
{
	static const Oid argtypes[4] = {TEXTARRAYOID, INTERVALOID, INT4OID, INT4OID};
	Datum			 values[4];
	char			 nulls[4] = {' ', ' ', ' ', ' '};
	Interval		*lease = palloc0(sizeof(Interval));
	int				 n;

	lease->time = (int64) pgq_lease_timeout_s * USECS_PER_SEC;
	values[0] = PointerGetDatum(entrypoints);
	if (entrypoints == NULL)
		nulls[0] = 'n';
	values[1] = IntervalPGetDatum(lease);
	values[2] = Int32GetDatum(pgq_max_attempts);
	values[3] = Int32GetDatum(limit);

	*nwoken = 0;
	*woken = NULL;
	if (entrypoints == NULL)
		report_invalid(values, nulls);
	if (pgq_execute_presorted(pgq_plan(&probe_plan, probe_sql, 2, argtypes),
							  values, nulls, SPI_OK_SELECT) == 0)
		return 0;
	n = pgq_execute_indexed(pgq_log_plan(expire_plans, PGQ_LOG_OUTCOME,
										 EXPIRE_SQL_HEAD, EXPIRE_SQL_LOG,
										 expire_sql_tail, 4, argtypes),
							values, nulls, SPI_OK_SELECT);
	if (n > 0)
	{
		/* SPI_palloc: the result must outlive SPI_finish */
		*woken = SPI_palloc(sizeof(char *) * n);
		for (int i = 0; i < n; i++)
		{
			bool isnull;

			if (DatumGetBool(pgq_getdatum(i, 2, &isnull)))
			{
				char *ep = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));

				(*woken)[*nwoken] = SPI_palloc(strlen(ep) + 1);
				strcpy((*woken)[(*nwoken)++], ep);
			}
			else
				pgq_wait_signal_outcome(); /* held or ended: wake wait_for() */
		}
		*nwoken = pgq_distinct_strings(*woken, *nwoken);
	}
	return n;
}
