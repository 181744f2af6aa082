/*-------------------------------------------------------------------------
 *
 * dequeue.c
 *		pgqueuer.dequeue(): claim due jobs for a worker.
 *
 * The claim is PgQueuer's: per entrypoint, walk the due queued jobs in
 * priority DESC, id ASC order with FOR UPDATE SKIP LOCKED, merge, cut to the
 * batch size, mark them picked and log 'picked'.  It reads two indexes: jobs
 * due when they were made (execute_after <= created, the usual case) in
 * priority order from pgqueuer_ep_due_idx, and deferred jobs whose time has
 * come from pgqueuer_ep_deferred_idx by execute_after, so deferred jobs that
 * are not due yet are never read, however many wait.  Each side locks at
 * most the entrypoint's cap; rows locked by the side that loses the merge
 * stay queued and are free again at commit.
 *
 * Over several entrypoints, or a limited one, the claim is preceded by a
 * read without locks of each entrypoint's share of the batch: the claim then
 * locks about the batch instead of up to a batch per entrypoint, and only
 * the limited entrypoints that get a share have their registry rows locked
 * (gates.c: concurrency and rate limits).
 *
 * IDENTIFICATION
 *		src/api/dequeue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "args.h"
#include "compat.h"
#include "gates.h"
#include "history.h"
#include "leases.h"
#include "notify.h"
#include "plan_shape.h"
#include "spi_util.h"


PG_FUNCTION_INFO_V1(pgqueuer_dequeue);

/* expired leases rescued per dequeue call at most */
#define DEQUEUE_RESCUE_LIMIT 100

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
/* the entrypoints asked for, each with its cap */
#define CLAIM_SQL_ASKED \
	"unnest($1::pg_catalog.text[], $2::pg_catalog.int4[]) AS e(ep, cap)"

/*
 * Per entrypoint of source (ep, cap), up to limit of the jobs of one claim
 * path in the given order, with the given row lock clause (or none).
 */
#define CLAIM_SQL_PATH(name, source, limit, due, order, lock) \
	name " AS (" \
	" SELECT e.ep, e.cap, c.id, c.priority" \
	" FROM " source \
	" CROSS JOIN LATERAL (" \
	"   SELECT q.id, q.priority FROM pgqueuer.pgqueuer q" \
	"   WHERE q.entrypoint OPERATOR(pg_catalog.=) e.ep" \
	"     AND q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status" \
	"     AND " due \
	"   ORDER BY " order \
	"   LIMIT " limit " " lock ") c" \
	")"

/*
 * The two claim paths: jobs due when made in priority order, and deferred
 * jobs whose time has come.  The second sorts by an expression that no index
 * provides, so that no plan walks an index in priority order (through all
 * the deferred jobs not due yet) to save the sort of the few that are due.
 */
#define CLAIM_SQL_PATHS(made, came, source, limit, lock) \
	CLAIM_SQL_PATH(made, source, limit, \
		"q.execute_after OPERATOR(pg_catalog.<=) q.created", \
		"q.priority DESC, q.id ASC", lock) \
	", " CLAIM_SQL_PATH(came, source, limit, \
		"q.execute_after OPERATOR(pg_catalog.>) q.created" \
		" AND q.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now()", \
		"q.priority OPERATOR(pg_catalog.+) 0 DESC, q.id OPERATOR(pg_catalog.+) 0 ASC", \
		lock)

/*
 * Both paths of the entrypoints of source, merged per entrypoint and cut to
 * its cap, then merged and cut to the batch ($3): the jobs a claim takes, in
 * dequeue order.
 */
#define CLAIM_SQL_CAND(source, lock) \
	CLAIM_SQL_PATHS("made_due", "came_due", source, "e.cap", lock) \
	", cand AS (" \
	" SELECT r.ep, r.id, r.priority FROM (" \
	"   SELECT a.ep, a.id, a.priority, a.cap, pg_catalog.row_number() OVER" \
	"     (PARTITION BY a.ep ORDER BY a.priority DESC, a.id ASC) AS rn" \
	"   FROM (SELECT * FROM made_due UNION ALL SELECT * FROM came_due) a) r" \
	" WHERE r.rn OPERATOR(pg_catalog.<=) r.cap" \
	" ORDER BY r.priority DESC, r.id ASC" \
	" LIMIT $3" \
	")"

#define CLAIM_SQL_SHARES \
	" SELECT ep, pg_catalog.count(*)::pg_catalog.int4 FROM cand GROUP BY ep"

/*
 * The share of each entrypoint in the batch, read without locking: what a
 * claim over several entrypoints would take from each if no other worker
 * took any meanwhile.
 */
static const char *const share_sql =
	"WITH " CLAIM_SQL_CAND(CLAIM_SQL_ASKED, "") CLAIM_SQL_SHARES;

/*
 * The same for more entrypoints than the batch, reading less: only the
 * entrypoints whose best due job (head) is among the batch's best heads can
 * have a job in the batch (each of the others has a batch of better jobs in
 * front of it, one per entrypoint), so their jobs are read, and of the
 * others only the heads.
 */
static const char *const share_heads_sql =
	"WITH " CLAIM_SQL_PATHS("made_head", "came_head", CLAIM_SQL_ASKED, "1", "")
	", heads AS ("
	" SELECT DISTINCT ON (h.ep) h.ep, h.cap, h.priority, h.id"
	" FROM (SELECT * FROM made_head UNION ALL SELECT * FROM came_head) h"
	" ORDER BY h.ep, h.priority DESC, h.id ASC"
	"), top AS ("
	" SELECT t.ep, t.cap FROM heads t ORDER BY t.priority DESC, t.id ASC LIMIT $3"
	"), " CLAIM_SQL_CAND("top AS e", "") CLAIM_SQL_SHARES;

#define CLAIM_SQL_HEAD \
	"WITH " CLAIM_SQL_CAND(CLAIM_SQL_ASKED, "FOR UPDATE SKIP LOCKED") \
	", upd AS (" \
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

static SPIPlanPtr worker_load_plan = NULL;
static SPIPlanPtr share_plan = NULL;
static SPIPlanPtr share_heads_plan = NULL;
/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr claim_plans[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr claim_rated_plans[PGQ_LOG_PLAN_SLOTS];

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
 * The entrypoints one claim asks for, each with the most it may take, and
 * the rate-limited ones among them with their windows.
 */
typedef struct ClaimList
{
	int	   n;
	char **names;
	int	  *caps;
	int	   nrated;
	char **rated;
	Datum *windows;
} ClaimList;

/*
 * claim_list
 *		The requested entrypoints that this call may claim from (not paused,
 *		cap above 0), each with its cap: batch_size, cut by its gate.
 */
static ClaimList *
claim_list(char **requested, int n, PgqGate *gates, int ngates,
		   int batch_size)
{
	ClaimList *cl = palloc0(sizeof(ClaimList));

	cl->names = palloc(sizeof(char *) * n);
	cl->caps = palloc(sizeof(int) * n);
	cl->rated = palloc(sizeof(char *) * n);
	cl->windows = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		PgqGate *g = pgq_find_gate(gates, ngates, requested[i]);
		int		 cap = batch_size;

		if (g != NULL)
		{
			if (g->paused)
				continue;
			cap = Min(cap, g->cap);
			if (g->rate > 0)
			{
				Interval *win = palloc(sizeof(Interval));
				int		  allowed;

				pgq_rate_window(g->rate, win, &allowed);
				cl->rated[cl->nrated] = requested[i];
				cl->windows[cl->nrated++] = IntervalPGetDatum(win);
			}
		}
		if (cap <= 0)
			continue;
		cl->names[cl->n] = requested[i];
		cl->caps[cl->n++] = cap;
	}
	return cl;
}

/*
 * caps_array
 *		The caps of a claim list as an int4[] datum.
 */
static Datum
caps_array(ClaimList *cl)
{
	Datum *caps = palloc(sizeof(Datum) * Max(cl->n, 1));

	for (int i = 0; i < cl->n; i++)
		caps[i] = Int32GetDatum(cl->caps[i]);
	return PointerGetDatum(construct_array(caps, cl->n, INT4OID, 4, true,
										   TYPALIGN_INT));
}

/*
 * claim_index
 *		The position of entrypoint "name" in a claim list, or -1.
 */
static int
claim_index(ClaimList *cl, const char *name)
{
	for (int i = 0; i < cl->n; i++)
		if (strcmp(cl->names[i], name) == 0)
			return i;
	return -1;
}

/*
 * share_batch
 *		For a claim over several entrypoints, cut each cap to the entrypoint's
 *		share of the batch, read without locking, and drop the entrypoints
 *		with no share.  Returns the jobs found (the shares' sum).
 *
 * The claim locks up to its cap of due jobs of every entrypoint it asks for
 * (FOR UPDATE SKIP LOCKED inside each per-entrypoint scan) before merging
 * them; asked for a hundred busy entrypoints with a batch of ten it would
 * lock a thousand jobs to take ten, writing each lock, and hide the rest
 * from other workers until it commits.  With the shares it locks about the
 * batch.  Asked for more entrypoints than the batch, the shares are found
 * from the entrypoints' heads (share_heads_sql), which reads about one job
 * per entrypoint instead of a batch.
 */
static int
share_batch(ClaimList *cl, int batch_size)
{
	static const Oid types[3] = {TEXTARRAYOID, INT4ARRAYOID, INT4OID};
	Datum			 values[3];
	SPIPlanPtr		 plan;
	int				 nrows;
	int				 found = 0;
	int				*share = palloc0(sizeof(int) * cl->n);
	int				 kept = 0;

	values[0] = PointerGetDatum(pgq_make_text_array(cl->names, cl->n));
	values[1] = caps_array(cl);
	values[2] = Int32GetDatum(batch_size);
	if (cl->n > batch_size)
		plan = pgq_plan(&share_heads_plan, share_heads_sql, 3, types);
	else
		plan = pgq_plan(&share_plan, share_sql, 3, types);
	nrows = pgq_execute_indexed(plan, values, NULL, SPI_OK_SELECT);
	for (int r = 0; r < nrows; r++)
	{
		bool  isnull;
		char *name = TextDatumGetCString(pgq_getdatum(r, 1, &isnull));
		int	  i = claim_index(cl, name);

		if (i < 0)
			elog(ERROR, "pgqueuer: share of an entrypoint not asked for");
		share[i] = DatumGetInt32(pgq_getdatum(r, 2, &isnull));
		found += share[i];
	}
	for (int i = 0; i < cl->n; i++)
	{
		if (share[i] <= 0)
			continue;
		cl->names[kept] = cl->names[i];
		cl->caps[kept++] = Min(cl->caps[i], share[i]);
	}
	cl->n = kept;
	return found;
}

/*
 * claim_run
 *		Run the claim for a claim list and batch_size; the rows claimed are
 *		left in SPI_tuptable, in dequeue order.  When took is not NULL,
 *		subtract the jobs claimed of each entrypoint from took[] (indexed
 *		like the list).  Returns the number of jobs claimed.
 */
static int
claim_run(ClaimList *cl, int batch_size, Datum qm, TimestampTz now,
		  ClaimList *took)
{
	static const Oid claim_types[7] = {TEXTARRAYOID, INT4ARRAYOID, INT4OID,
									   UUIDOID, TIMESTAMPTZOID, TEXTARRAYOID, INTERVALARRAYOID};
	Datum			 values[7];
	SPIPlanPtr		 plan;
	int				 nrows;

	values[0] = PointerGetDatum(pgq_make_text_array(cl->names, cl->n));
	values[1] = caps_array(cl);
	values[2] = Int32GetDatum(batch_size);
	values[3] = qm;
	values[4] = TimestampTzGetDatum(now);
	values[5] = PointerGetDatum(pgq_make_text_array(cl->rated, cl->nrated));
	values[6] = PointerGetDatum(construct_array(cl->windows, cl->nrated,
												INTERVALOID, sizeof(Interval),
												false, TYPALIGN_DOUBLE));
	if (cl->nrated > 0)
		plan = pgq_log_plan(claim_rated_plans, PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD, CLAIM_SQL_LOG,
							CLAIM_SQL_RATE CLAIM_SQL_TAIL, 7, claim_types);
	else
		plan = pgq_log_plan(claim_plans, PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD, CLAIM_SQL_LOG,
							CLAIM_SQL_TAIL, 4, claim_types);
	nrows = pgq_execute_indexed(plan, values, NULL, SPI_OK_SELECT);
	if (took != NULL && nrows > 0)
	{
		int col = SPI_fnumber(SPI_tuptable->tupdesc, "entrypoint");

		for (int r = 0; r < nrows; r++)
		{
			bool  isnull;
			char *name = TextDatumGetCString(pgq_getdatum(r, col, &isnull));
			int	  i = claim_index(took, name);

			if (i >= 0)
				took->caps[i]--;
		}
	}
	return nrows;
}

/*
 * claimed_first
 *		Whether claimed row a comes before b in dequeue order (priority
 *		DESC, id ASC); pcol and idcol are the columns' numbers.
 */
static bool
claimed_first(HeapTuple a, HeapTuple b, TupleDesc desc, int pcol, int idcol)
{
	bool  isnull;
	int32 pa = DatumGetInt32(heap_getattr(a, pcol, desc, &isnull));
	int32 pb = DatumGetInt32(heap_getattr(b, pcol, desc, &isnull));

	if (pa != pb)
		return pa > pb;
	return DatumGetInt64(heap_getattr(a, idcol, desc, &isnull)) <
		   DatumGetInt64(heap_getattr(b, idcol, desc, &isnull));
}

/*
 * store_merged
 *		Put the rows of two claims (na rows of a, nb of b, each in dequeue
 *		order) in the function's result, merged into dequeue order.
 */
static void
store_merged(FunctionCallInfo fcinfo, SPITupleTable *a, int na,
			 SPITupleTable *b, int nb)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	   desc = a->tupdesc;
	int			   pcol = SPI_fnumber(desc, "priority");
	int			   idcol = SPI_fnumber(desc, "id");
	Datum		  *values = palloc(sizeof(Datum) * desc->natts);
	bool		  *nulls = palloc(sizeof(bool) * desc->natts);
	int			   i = 0;
	int			   j = 0;

	while (i < na || j < nb)
	{
		HeapTuple t;

		if (j >= nb ||
			(i < na && claimed_first(a->vals[i], b->vals[j], desc, pcol, idcol)))
			t = a->vals[i++];
		else
			t = b->vals[j++];
		heap_deform_tuple(t, desc, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * claim_limits
 *		Lock the limited entrypoints of cl (those with a gate, all with a
 *		share) and cut their caps in cl, and in left, to what their limits
 *		leave.  In left, a limited entrypoint that was not locked gets cap 0:
 *		no claim may take its jobs without its lock.  Returns the grant time.
 */
static TimestampTz
claim_limits(ClaimList *cl, ClaimList *left, PgqGate *gates, int ngates,
			 int batch_size)
{
	char	  **names = palloc(sizeof(char *) * cl->n);
	int			n = 0;
	TimestampTz now;

	for (int i = 0; i < cl->n; i++)
		if (pgq_find_gate(gates, ngates, cl->names[i]) != NULL)
			names[n++] = cl->names[i];
	now = pgq_lock_gates(gates, ngates, names, n, batch_size);
	for (int i = 0; i < cl->n; i++)
	{
		PgqGate *g = pgq_find_gate(gates, ngates, cl->names[i]);

		if (g != NULL)
			cl->caps[i] = Min(cl->caps[i], g->cap);
	}
	for (int i = 0; i < left->n; i++)
	{
		PgqGate *g = pgq_find_gate(gates, ngates, left->names[i]);

		if (g != NULL)
			left->caps[i] = g->locked ? Min(left->caps[i], g->cap) : 0;
	}
	return now;
}

/*
 * keep_capped
 *		Drop the entrypoints with cap 0 from a claim list.
 */
static void
keep_capped(ClaimList *cl)
{
	int kept = 0;

	for (int i = 0; i < cl->n; i++)
	{
		if (cl->caps[i] <= 0)
			continue;
		cl->names[kept] = cl->names[i];
		cl->caps[kept++] = cl->caps[i];
	}
	cl->n = kept;
}

/*
 * claim
 *		Claim up to batch_size jobs of the requested entrypoints, each at
 *		most its gate's cap, and put them in the function's result, in
 *		dequeue order (priority DESC, id ASC).
 *
 * Over one unlimited entrypoint the claim runs at once.  Otherwise
 * share_batch() first finds each entrypoint's share without locking, the
 * limited ones with a share are locked and counted (claim_limits), and the
 * claim takes only the shares.  If other workers took some of those jobs
 * meanwhile and the claim came back short, a second claim over every
 * entrypoint it may take from (with what is left of each cap and of the
 * batch) takes the next ones, so a busy queue does not hand out fewer jobs
 * than it has due; the rows of both are merged in dequeue order.
 */
static void
claim(FunctionCallInfo fcinfo, char **requested, int n, PgqGate *gates,
	  int ngates, int batch_size, Datum qm)
{
	ClaimList	  *cl = claim_list(requested, n, gates, ngates, batch_size);
	ClaimList	   left;
	TimestampTz	   now;
	int			   found;
	int			   got;
	int			   more;
	SPITupleTable *first;

	if (cl->n == 0)
		return;
	if (cl->n == 1 && pgq_find_gate(gates, ngates, cl->names[0]) == NULL)
	{
		if (claim_run(cl, batch_size, qm, GetCurrentTimestamp(), NULL) > 0)
			pgq_store_spi_rows(fcinfo, SPI_tuptable->tupdesc->natts);
		return;
	}

	/* what is left of each cap after the first claim */
	left = *cl;
	left.names = palloc(sizeof(char *) * cl->n);
	left.caps = palloc(sizeof(int) * cl->n);
	memcpy(left.names, cl->names, sizeof(char *) * cl->n);
	memcpy(left.caps, cl->caps, sizeof(int) * cl->n);

	found = share_batch(cl, batch_size);
	if (found == 0)
		return;
	now = claim_limits(cl, &left, gates, ngates, batch_size);
	keep_capped(cl);
	got = cl->n > 0 ? claim_run(cl, found, qm, now, &left) : 0;
	first = got > 0 ? SPI_tuptable : NULL;

	/* others took part of the shares, or a limit was reached meanwhile */
	keep_capped(&left);
	if (got < found && left.n > 0 &&
		(more = claim_run(&left, batch_size - got, qm, now, NULL)) > 0)
	{
		if (first != NULL)
			store_merged(fcinfo, first, got, SPI_tuptable, more);
		else
			pgq_store_spi_rows(fcinfo, SPI_tuptable->tupdesc->natts);
	}
	else if (got > 0)
		store_merged(fcinfo, first, got, first, 0);
}

/*
 * pgqueuer_dequeue
 *		dequeue(batch_size, entrypoints[], queue_manager_id, max_concurrent)
 *		-> SETOF pgqueuer.pgqueuer
 */
Datum
pgqueuer_dequeue(PG_FUNCTION_ARGS)
{
	int		   batch_size;
	ArrayType *entrypoints;
	Datum	   qm;
	Datum	  *epvals;
	bool	  *epnulls;
	int		   n;
	int		   ngates;
	PgqGate	  *gates;
	char	 **requested;
	char	 **woken;
	int		   nwoken;
	int64	   expired;

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

	if (!PG_ARGISNULL(3))
		batch_size = worker_cap(qm, PG_GETARG_INT32(3), batch_size);
	if (batch_size > 0)
	{
		/* one entrypoint: its share is its due jobs, no estimate needed */
		gates = pgq_read_gates(entrypoints, batch_size, n > 1, &ngates);
		claim(fcinfo, requested, n, gates, ngates, batch_size, qm);
	}

	pgq_finish();

	/* Jobs came back from expired leases: other workers may want them. */
	if (expired > 0 && nwoken > 0)
		pgq_notify_table_changed("update", woken, nwoken, expired);

	return (Datum) 0;
}
