/*-------------------------------------------------------------------------
 *
 * dequeue.c
 *		pgqueuer.dequeue(): claim due jobs for a worker.
 *
 * PgQueuer's dequeue counts picked rows in the statement's snapshot, so two
 * workers dequeuing at the same instant can both see a free slot and exceed
 * an entrypoint's concurrency_limit (upstream #761).  Here the capacity
 * decision of a limited entrypoint is serialised: dequeue first locks the
 * registry rows of the limited entrypoints it asks for that have due jobs
 * (in name order, so no deadlock; an idle limited entrypoint is not locked,
 * so workers serving it do not wait for one another), and only then counts
 * picked jobs and recent grants in a new statement, whose READ COMMITTED
 * snapshot sees every claim committed by the previous holder of the lock.
 * The lock is held until the claim commits.
 * requests_per_second uses the same lock and a ledger of grants: over any
 * sliding window of one second (1/rate seconds below one per second) at
 * most floor(rate) jobs (one) are handed out, across all workers.
 *
 * The claim itself is PgQueuer's: per entrypoint, walk the due queued jobs
 * in priority DESC, id ASC order with FOR UPDATE SKIP LOCKED, merge, cut to
 * the batch size, mark them picked and log 'picked'.  It reads two indexes:
 * jobs due when they were made (execute_after <= created, the usual case)
 * in priority order from pgqueuer_ep_due_idx, and deferred jobs whose
 * time has come from pgqueuer_ep_deferred_idx by execute_after, so deferred
 * jobs that are not due yet are never read, however many wait.  Each side
 * locks at most the entrypoint's cap; rows locked by the side that loses
 * the merge stay queued and are free again at commit.
 *
 * IDENTIFICATION
 *		src/api/dequeue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "args.h"
#include "bounds.h"
#include "compat.h"
#include "history.h"
#include "leases.h"
#include "notify.h"
#include "plan_shape.h"
#include "row_checks.h"
#include "spi_util.h"


PG_FUNCTION_INFO_V1(pgqueuer_dequeue);

/* expired leases rescued per dequeue call at most */
#define DEQUEUE_RESCUE_LIMIT 100

/*
 * The paused and limited entrypoints among those asked for, read without a
 * lock, and whether each has a due queued job.  Only a limited entrypoint
 * with due jobs needs its registry row locked: with nothing to claim there
 * is no capacity decision to serialise, and workers serving a limited but
 * idle entrypoint do not queue up behind one another's dequeue.
 */
static const char *const gate_sql =
	"SELECT e.entrypoint, e.paused,"
	"       EXISTS (SELECT 1 FROM pgqueuer.pgqueuer q"
	"                WHERE q.entrypoint OPERATOR(pg_catalog.=) e.entrypoint"
	"                  AND q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status"
	"                  AND q.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now())"
	" FROM pgqueuer.pgqueuer_entrypoints e"
	" WHERE e.entrypoint OPERATOR(pg_catalog.=) ANY ($1)"
	"   AND (e.paused OR e.concurrency_limit OPERATOR(pg_catalog.>) 0"
	"        OR e.requests_per_second OPERATOR(pg_catalog.>) 0::pg_catalog.float8)"
	" ORDER BY e.entrypoint";

/* lock (in name order, so no deadlock) and re-read the rows that need it */
static const char *const lock_sql =
	"SELECT entrypoint, concurrency_limit, requests_per_second, paused"
	" FROM pgqueuer.pgqueuer_entrypoints"
	" WHERE entrypoint OPERATOR(pg_catalog.=) ANY ($1)"
	"   AND (paused OR concurrency_limit OPERATOR(pg_catalog.>) 0"
	"        OR requests_per_second OPERATOR(pg_catalog.>) 0::pg_catalog.float8)"
	" ORDER BY entrypoint"
	" FOR NO KEY UPDATE";

static const char *const load_sql =
	"SELECT (SELECT pg_catalog.count(*) FROM pgqueuer.pgqueuer q"
	"         WHERE q.entrypoint OPERATOR(pg_catalog.=) e.ep"
	"           AND q.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status),"
	"       (SELECT COALESCE(pg_catalog.sum(g.jobs), 0) FROM pgqueuer.pgqueuer_rate_grants g"
	"         WHERE g.entrypoint OPERATOR(pg_catalog.=) e.ep"
	"           AND g.granted_at OPERATOR(pg_catalog.>) ($2 OPERATOR(pg_catalog.-) e.win))"
	" FROM unnest($1::pg_catalog.text[], $3::interval[]) WITH ORDINALITY AS e(ep, win, ord)"
	" ORDER BY e.ord";

static const char *const worker_load_sql =
	"SELECT pg_catalog.count(*) FROM pgqueuer.pgqueuer"
	" WHERE queue_manager_id OPERATOR(pg_catalog.=) $1"
	"   AND status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status";

/*
 * The claim: per entrypoint the due queued jobs in dequeue order, skipping
 * locked ones, merged and cut to the batch, marked picked and logged.  The
 * rate-limited variant also records the grants and prunes the old ones; a
 * call without rate-limited entrypoints runs the plain one, which has two
 * fewer tables to open.  (A multi-argument unnest() is left unqualified:
 * the parser expands only that spelling, into pg_catalog.unnest() calls.)
 */
/* clang-format off */
/*
 * Per entrypoint, up to its cap of the jobs of one claim path in the given
 * order.  The path of deferred jobs sorts by an expression that no index
 * provides, so that no plan walks an index in priority order (through all
 * the deferred jobs not due yet) to save the sort of the few that are due.
 */
#define CLAIM_SQL_PATH(name, due, order) \
	name " AS (" \
	" SELECT e.ep, e.cap, c.id, c.priority" \
	" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.int4[]) AS e(ep, cap)" \
	" CROSS JOIN LATERAL (" \
	"   SELECT q.id, q.priority FROM pgqueuer.pgqueuer q" \
	"   WHERE q.entrypoint OPERATOR(pg_catalog.=) e.ep" \
	"     AND q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status" \
	"     AND " due \
	"   ORDER BY " order \
	"   LIMIT e.cap" \
	"   FOR UPDATE SKIP LOCKED) c" \
	")"

#define CLAIM_SQL_HEAD \
	"WITH " CLAIM_SQL_PATH("made_due", \
		"q.execute_after OPERATOR(pg_catalog.<=) q.created", \
		"q.priority DESC, q.id ASC") \
	", " CLAIM_SQL_PATH("came_due", \
		"q.execute_after OPERATOR(pg_catalog.>) q.created" \
		" AND q.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now()", \
		"q.priority OPERATOR(pg_catalog.+) 0 DESC, q.id OPERATOR(pg_catalog.+) 0 ASC") \
	", cand AS (" \
	" SELECT r.id, r.priority FROM (" \
	"   SELECT a.id, a.priority, a.cap, pg_catalog.row_number() OVER" \
	"     (PARTITION BY a.ep ORDER BY a.priority DESC, a.id ASC) AS rn" \
	"   FROM (SELECT * FROM made_due UNION ALL SELECT * FROM came_due) a) r" \
	" WHERE r.rn OPERATOR(pg_catalog.<=) r.cap" \
	" ORDER BY r.priority DESC, r.id ASC" \
	" LIMIT $3" \
	"), upd AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'picked'::pgqueuer.pgqueuer_status," \
	"   updated = pg_catalog.now(), heartbeat = pg_catalog.now(), queue_manager_id = $4" \
	" FROM cand WHERE q.id OPERATOR(pg_catalog.=) cand.id" \
	" RETURNING q.*" \
	")"
/* clang-format on */

/* the 'picked' log rows (history.c) */
#define CLAIM_SQL_LOG \
	"SELECT id, 'picked'::pgqueuer.pgqueuer_status, priority, entrypoint, NULL::pg_catalog.jsonb FROM upd"

#define CLAIM_SQL_RATE \
	", rg AS (" \
	" INSERT INTO pgqueuer.pgqueuer_rate_grants (entrypoint, granted_at, jobs)" \
	" SELECT u.entrypoint, $5, pg_catalog.count(*) FROM upd u" \
	" WHERE u.entrypoint OPERATOR(pg_catalog.=) ANY ($6) GROUP BY u.entrypoint" \
	"), pr AS (" \
	" DELETE FROM pgqueuer.pgqueuer_rate_grants g" \
	" USING unnest($6::pg_catalog.text[], $7::interval[]) AS w(ep, win)" \
	" WHERE g.entrypoint OPERATOR(pg_catalog.=) w.ep" \
	"   AND g.granted_at OPERATOR(pg_catalog.<=) ($5 OPERATOR(pg_catalog.-) w.win)" \
	")"

#define CLAIM_SQL_TAIL " SELECT * FROM upd ORDER BY priority DESC, id ASC"

static SPIPlanPtr gate_plan = NULL;
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr load_plan = NULL;
static SPIPlanPtr worker_load_plan = NULL;
/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr claim_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr claim_rated_plans[PGQ_LOG_PLAN_SLOTS];

/* What the registry says about one requested entrypoint. */
typedef struct EntrypointGate
{
	char  *name;
	int	   concurrency_limit; /* 0 = none */
	double rate;			  /* requests_per_second, 0 = none */
	bool   paused;
	int	   cap; /* jobs this call may still claim */
} EntrypointGate;

/*
 * rate_window
 *		The sliding window of a rate limit and the jobs allowed in it:
 *		floor(rate) per second, or one per 1/rate seconds below 1/s.
 */
static void
rate_window(double rate, Interval *window, int *allowed)
{
	memset(window, 0, sizeof(Interval));
	if (rate >= 1.0)
	{
		window->time = USECS_PER_SEC;
		*allowed = (rate >= (double) INT_MAX) ? INT_MAX : (int) floor(rate);
	}
	else
	{
		window->time = (int64) ceil((double) USECS_PER_SEC / rate);
		*allowed = 1;
	}
}

/*
 * find_gate
 *		The registry entry of entrypoint "name" among gates, or NULL.
 */
static EntrypointGate *
find_gate(EntrypointGate *gates, int ngates, const char *name)
{
	for (int i = 0; i < ngates; i++)
		if (strcmp(gates[i].name, name) == 0)
			return &gates[i];
	return NULL;
}

/*
 * read_gates
 *		The paused and limited entrypoints among those requested, read
 *		without a lock, each with cap 0 (paused, or nothing to claim) or
 *		batch_size; the names of the limited ones with due jobs go to
 *		limited[] (allocated here), their number to *nlimited.  Returns the
 *		gates (NULL if none) and their number in *ngates.
 */
static EntrypointGate *
read_gates(ArrayType *entrypoints, int batch_size, int *ngates,
		   char ***limited, int *nlimited)
{
	Oid				text_types[1] = {TEXTARRAYOID};
	Datum			value = PointerGetDatum(entrypoints);
	EntrypointGate *gates;
	int				n;

	n = pgq_execute_indexed(pgq_plan(&gate_plan, gate_sql, 1, text_types),
							&value, NULL, SPI_OK_SELECT);
	*ngates = n;
	*nlimited = 0;
	*limited = palloc(sizeof(char *) * Max(n, 1));
	if (n == 0)
		return NULL;

	gates = palloc0(sizeof(EntrypointGate) * n);
	for (int i = 0; i < n; i++)
	{
		bool isnull;
		bool due;

		gates[i].name = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		gates[i].paused = DatumGetBool(pgq_getdatum(i, 2, &isnull));
		due = DatumGetBool(pgq_getdatum(i, 3, &isnull));
		/* cap 0 unless locked below: paused, or nothing to claim */
		gates[i].cap = 0;
		if (!gates[i].paused && due)
		{
			gates[i].cap = batch_size;
			(*limited)[(*nlimited)++] = gates[i].name;
		}
	}
	return gates;
}

/*
 * lock_limited
 *		Lock the registry rows of the limited entrypoints with work (in name
 *		order) and re-read them into their gates.  A row whose limits were
 *		removed meanwhile is not returned: its entrypoint is now unlimited.
 *		A paused one, or one whose rate is out of bounds (written behind
 *		register_entrypoint's back: reported once), gets cap 0.  The names
 *		still limited are left in limited[] with their rate windows in
 *		windows[]; returns their number.
 */
static int
lock_limited(EntrypointGate *gates, int ngates, char **limited, int nlimited,
			 Datum *windows)
{
	Oid	  text_types[1] = {TEXTARRAYOID};
	Datum value = PointerGetDatum(pgq_make_text_array(limited, nlimited));
	int	  nlocked;
	int	  nleft = 0;

	nlocked = pgq_execute_indexed(pgq_plan(&lock_plan, lock_sql, 1, text_types),
								  &value, NULL, SPI_OK_SELECT);
	for (int i = 0; i < nlocked; i++)
	{
		bool			isnull;
		char		   *name = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		EntrypointGate *g = find_gate(gates, ngates, name);
		Interval	   *win = palloc0(sizeof(Interval));
		int				allowed = INT_MAX;

		Assert(g != NULL);
		g->concurrency_limit = DatumGetInt32(pgq_getdatum(i, 2, &isnull));
		g->rate = DatumGetFloat8(pgq_getdatum(i, 3, &isnull));
		g->paused = DatumGetBool(pgq_getdatum(i, 4, &isnull));
		if (g->paused)
		{
			g->cap = 0;
			continue;
		}
		if (!pgq_rate_in_bounds(g->rate))
		{
			pgq_report_once(psprintf("entrypoint %s: requests_per_second %g is outside 0 and 0.000001 .. 1000000000; lease expiry skips its jobs and dequeue hands out none of them",
									 pgq_quote_for_log(g->name), g->rate));
			g->paused = true;
			g->cap = 0;
			continue;
		}
		if (g->rate > 0)
			rate_window(g->rate, win, &allowed);
		limited[nleft] = g->name;
		windows[nleft++] = IntervalPGetDatum(win);
	}
	return nleft;
}

/*
 * apply_load
 *		In a new statement, whose snapshot sees every claim made under the
 *		locks, count each locked entrypoint's picked jobs and recent grants
 *		and cut its cap to what its concurrency limit and rate leave.
 */
static void
apply_load(EntrypointGate *gates, int ngates, char **limited, Datum *windows,
		   int nlimited, TimestampTz now)
{
	Oid	  load_types[3] = {TEXTARRAYOID, TIMESTAMPTZOID, INTERVALARRAYOID};
	Datum values[3];

	values[0] = PointerGetDatum(pgq_make_text_array(limited, nlimited));
	values[1] = TimestampTzGetDatum(now);
	values[2] = PointerGetDatum(construct_array(windows, nlimited, INTERVALOID,
												sizeof(Interval), false,
												TYPALIGN_DOUBLE));
	if (pgq_execute_indexed(pgq_plan(&load_plan, load_sql, 3, load_types),
							values, NULL, SPI_OK_SELECT) != nlimited)
		elog(ERROR, "pgqueuer: unexpected row count computing entrypoint load");

	for (int i = 0; i < nlimited; i++)
	{
		EntrypointGate *g = find_gate(gates, ngates, limited[i]);
		int64			picked = pgq_getint64(i, 1);
		int64			granted = pgq_getint64(i, 2);

		if (g->concurrency_limit > 0)
			g->cap = Min(g->cap, (int) Max(0, g->concurrency_limit - picked));
		if (g->rate > 0)
		{
			Interval win;
			int		 allowed;

			rate_window(g->rate, &win, &allowed);
			g->cap = Min(g->cap, (int) Max(0, allowed - granted));
		}
	}
}

/*
 * lock_gates
 *		Read the paused and limited entrypoints among those requested; lock
 *		the registry rows of the limited ones that have due jobs and re-read
 *		them; then, in a fresh snapshot, compute how many jobs each locked
 *		one may still hand out.  A paused entrypoint, or a limited one with
 *		nothing due, gets cap 0 for this call.  Returns the gates and fills
 *		*now with the grant time of this call.
 */
static EntrypointGate *
lock_gates(ArrayType *entrypoints, int batch_size, int *ngates,
		   TimestampTz *now)
{
	EntrypointGate *gates;
	char		  **limited;
	Datum		   *windows;
	int				nlimited;

	gates = read_gates(entrypoints, batch_size, ngates, &limited, &nlimited);
	if (nlimited == 0)
	{
		*now = GetCurrentTimestamp();
		return gates;
	}
	windows = palloc(sizeof(Datum) * nlimited);
	nlimited = lock_limited(gates, *ngates, limited, nlimited, windows);
	*now = GetCurrentTimestamp();
	if (nlimited > 0)
		apply_load(gates, *ngates, limited, windows, nlimited, *now);
	return gates;
}

/*
 * distinct_entrypoints
 *		The requested entrypoints as C strings, each once (sorted).  A name
 *		given twice would have its jobs claimed twice over and the merged
 *		list cut to the batch size, returning fewer jobs than are due; when
 *		there are repeats, *entrypoints is replaced by the distinct names
 *		and *n by their count.
 */
static char **
distinct_entrypoints(ArrayType **entrypoints, Datum *epvals, int *n)
{
	char **names = palloc(sizeof(char *) * *n);
	int	   ndistinct;

	for (int i = 0; i < *n; i++)
		names[i] = TextDatumGetCString(epvals[i]);
	ndistinct = pgq_distinct_strings(names, *n);
	if (ndistinct < *n)
	{
		*n = ndistinct;
		*entrypoints = pgq_make_text_array(names, ndistinct);
	}
	return names;
}

/*
 * check_dequeue_args
 *		The arguments' rules: batch_size at least 1, max_concurrent not
 *		negative, READ COMMITTED.  Returns batch_size.
 */
static int
check_dequeue_args(FunctionCallInfo fcinfo)
{
	int batch_size;

	pgq_require_arg(fcinfo, 0, "batch_size");
	pgq_require_arg(fcinfo, 1, "entrypoints");
	pgq_require_arg(fcinfo, 2, "queue_manager_id");
	batch_size = PG_GETARG_INT32(0);
	if (batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1"),
				 errdetail("The value given is %d.", batch_size)));
	if (!PG_ARGISNULL(3) && PG_GETARG_INT32(3) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_concurrent must not be negative"),
				 errdetail("The value given is %d.", PG_GETARG_INT32(3)),
				 errhint("Pass NULL for no per-worker cap.")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pgqueuer.dequeue() requires the READ COMMITTED isolation level"),
				 errdetail("Concurrency and rate limits are decided on a fresh snapshot after a lock."),
				 errhint("Call dequeue in its own READ COMMITTED transaction.")));
	return batch_size;
}

/*
 * worker_cap
 *		batch_size cut to what this worker may still hold under
 *		max_concurrent, all entrypoints together.
 */
static int
worker_cap(Datum qm, int max_concurrent, int batch_size)
{
	static const Oid wtypes[1] = {UUIDOID};
	int64			 mine;

	pgq_execute_indexed(pgq_plan(&worker_load_plan, worker_load_sql, 1, wtypes),
						&qm, NULL, SPI_OK_SELECT);
	mine = pgq_getint64(0, 1);
	return (int) Min((int64) batch_size, Max((int64) 0, (int64) max_concurrent - mine));
}

/*
 * claim
 *		Claim up to batch_size jobs of the requested entrypoints, each at
 *		most its gate's cap, and put them in the function's result.
 */
static void
claim(FunctionCallInfo fcinfo, char **requested, int n, EntrypointGate *gates,
	  int ngates, int batch_size, Datum qm, TimestampTz now)
{
	static const Oid claim_types[7] = {TEXTARRAYOID, INT4ARRAYOID, INT4OID,
									   UUIDOID, TIMESTAMPTZOID, TEXTARRAYOID, INTERVALARRAYOID};
	char		   **names = palloc(sizeof(char *) * n);
	Datum			*caps = palloc(sizeof(Datum) * n);
	char		   **rated = palloc(sizeof(char *) * n);
	Datum			*windows = palloc(sizeof(Datum) * n);
	int				 nclaim = 0;
	int				 nrated = 0;
	Datum			 values[7];
	SPIPlanPtr		 plan;

	for (int i = 0; i < n; i++)
	{
		EntrypointGate *g = find_gate(gates, ngates, requested[i]);
		int				cap = batch_size;

		if (g != NULL)
		{
			if (g->paused)
				continue;
			cap = Min(cap, g->cap);
			if (g->rate > 0)
			{
				Interval *win = palloc(sizeof(Interval));
				int		  allowed;

				rate_window(g->rate, win, &allowed);
				rated[nrated] = requested[i];
				windows[nrated++] = IntervalPGetDatum(win);
			}
		}
		if (cap <= 0)
			continue;
		names[nclaim] = requested[i];
		caps[nclaim++] = Int32GetDatum(cap);
	}
	if (nclaim == 0)
		return;

	values[0] = PointerGetDatum(pgq_make_text_array(names, nclaim));
	values[1] = PointerGetDatum(construct_array(caps, nclaim, INT4OID, 4,
												true, TYPALIGN_INT));
	values[2] = Int32GetDatum(batch_size);
	values[3] = qm;
	values[4] = TimestampTzGetDatum(now);
	values[5] = PointerGetDatum(pgq_make_text_array(rated, nrated));
	values[6] = PointerGetDatum(construct_array(windows, nrated, INTERVALOID,
												sizeof(Interval), false,
												TYPALIGN_DOUBLE));
	if (nrated > 0)
		plan = pgq_log_plan(claim_rated_plans, PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD, CLAIM_SQL_LOG,
							CLAIM_SQL_RATE CLAIM_SQL_TAIL, 7, claim_types);
	else
		plan = pgq_log_plan(claim_plans, PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD, CLAIM_SQL_LOG,
							CLAIM_SQL_TAIL, 4, claim_types);
	pgq_execute_indexed(plan, values, NULL, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, SPI_tuptable->tupdesc->natts);
}

/*
 * pgqueuer_dequeue
 *		dequeue(batch_size, entrypoints[], queue_manager_id, max_concurrent)
 *		-> SETOF pgqueuer.pgqueuer
 */
Datum
pgqueuer_dequeue(PG_FUNCTION_ARGS)
{
	int				batch_size;
	ArrayType	   *entrypoints;
	Datum			qm;
	Datum		   *epvals;
	bool		   *epnulls;
	int				n;
	int				ngates;
	EntrypointGate *gates;
	TimestampTz		now;
	char		  **requested;
	char		  **woken;
	int				nwoken;
	int64			expired;

	pgq_init_materialized_srf(fcinfo);
	batch_size = check_dequeue_args(fcinfo);
	entrypoints = PG_GETARG_ARRAYTYPE_P(1);
	qm = PG_GETARG_DATUM(2);

	n = pgq_array_elements(entrypoints, "entrypoints", false, &epvals, &epnulls);
	if (n == 0)
		return (Datum) 0;

	requested = distinct_entrypoints(&entrypoints, epvals, &n);

	pgq_connect();

	expired = pgq_expire_leases(entrypoints, DEQUEUE_RESCUE_LIMIT, &woken, &nwoken);

	gates = lock_gates(entrypoints, batch_size, &ngates, &now);

	if (!PG_ARGISNULL(3))
		batch_size = worker_cap(qm, PG_GETARG_INT32(3), batch_size);
	if (batch_size > 0)
		claim(fcinfo, requested, n, gates, ngates, batch_size, qm, now);

	pgq_finish();

	/* Jobs came back from expired leases: other workers may want them. */
	if (expired > 0 && nwoken > 0)
		pgq_notify_table_changed("update", woken, nwoken, expired);

	return (Datum) 0;
}
