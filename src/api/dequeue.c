/*-------------------------------------------------------------------------
 *
 * dequeue.c
 *		pgqueuer.dequeue(): claim due jobs for a worker.
 *
 * Asked for one entrypoint that is neither paused nor limited (a registry
 * read says so), dequeue claims up to its batch of that entrypoint's jobs
 * at once: a claim over one entrypoint locks only what it takes.  Otherwise
 * it plans its claim before it locks anything:
 *
 *	1. the heads (claim.c): each entrypoint asked for that has a due job,
 *	   with its registry values and its first due job, read without locking;
 *	   nothing due, nothing more to do;
 *	2. the limited entrypoints among them get an estimate of what their
 *	   limits leave (gates.c), counted without their registry locks, and
 *	   those at their limit drop out;
 *	3. only the entrypoints whose head is among the batch's best heads can
 *	   have a job in the batch; when that is one entrypoint without limits,
 *	   the claim takes up to the batch of it at once;
 *	4. otherwise their shares of the batch are read without locking, the
 *	   limited ones with a share are locked and counted exactly (gates.c),
 *	   and the claim takes the shares.  If other workers took some of those
 *	   jobs meanwhile, or a limit was reached, and the claim came back short,
 *	   a second claim over every entrypoint with a head (the limited ones
 *	   only if locked) takes the next ones, so a busy queue does not hand out
 *	   fewer jobs than it has due.
 *
 * So a claim locks about its batch of jobs, however many entrypoints it
 * asks for, and a limited entrypoint it takes nothing of (idle, at its
 * limit, or outranked) is not locked: the workers serving it do not wait
 * for this call.
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
#include "claim.h"
#include "compat.h"
#include "gates.h"
#include "leases.h"
#include "notify.h"
#include "plan_shape.h"
#include "spi_util.h"


PG_FUNCTION_INFO_V1(pgqueuer_dequeue);

/* expired leases rescued per dequeue call at most */
#define DEQUEUE_RESCUE_LIMIT 100

/*
 * The jobs a worker holds.  The subquery names only the worker, so that of
 * the queue's indexes only pgqueuer_queue_manager_id_idx serves it (the
 * partial indexes on picked jobs need the status, which is checked
 * outside the OFFSET 0 fence): it reads that worker's jobs.  A count of
 * its picked jobs in one query, planned while few jobs were picked, could
 * read every picked job through one of those at each dequeue.
 */
static const char *const worker_load_sql =
	"SELECT pg_catalog.count(*) FROM ("
	" SELECT q.status FROM pgqueuer.pgqueuer q"
	"  WHERE q.queue_manager_id OPERATOR(pg_catalog.=) $1 OFFSET 0) w"
	" WHERE w.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status";

/*
 * The claim: per entrypoint the due queued jobs in dequeue order, skipping
 * locked ones, merged and cut to the batch, marked picked and logged.  The
 * rate-limited variant also records the grants and prunes the old ones; a
 * call without rate-limited entrypoints runs the plain one, which has two
 * fewer tables to open.  (A multi-argument unnest() is left unqualified:
 * the parser expands only that spelling, into pg_catalog.unnest() calls.)
 */
static SPIPlanPtr worker_load_plan = NULL;

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
 * One row of pgq_claim_heads: where it is, the head of its jobs due when
 * made (none: made_none), and its best head (priority, id).
 */
typedef struct HeadRow
{
	int	  row;
	int32 made_priority;
	int64 made_id;
	bool  made_none;
	int32 priority;
	int64 id;
} HeadRow;

/* qsort comparator: dequeue order of the heads (priority DESC, id ASC) */
static int
head_order(const void *a, const void *b)
{
	const HeadRow *x = a;
	const HeadRow *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id ? 1 : 0);
}

/*
 * read_heads
 *		The gates of the entrypoints with a due job (pgq_claim_heads), in the
 *		order of their heads (the better of their two paths' heads), each
 *		with cap batch_size, or 0 when paused; the limited ones cut to an
 *		estimate of what their limits leave.  Returns their number in
 *		*ngates (NULL and 0 when nothing is due), and the heads of their jobs
 *		due when made in heads' hp, hid and nohead, indexed like the gates.
 */
static PgqGate *
read_heads(ArrayType *entrypoints, int batch_size, int *ngates,
		   PgqClaimList *heads)
{
	int		 n = pgq_claim_heads(entrypoints);
	HeadRow *order;
	PgqGate *gates;
	bool	 limited = false;

	*ngates = n;
	if (n == 0)
		return NULL;
	order = palloc(sizeof(HeadRow) * n);
	for (int r = 0; r < n; r++)
	{
		bool  mnull;
		bool  cnull;
		int32 mp = DatumGetInt32(pgq_getdatum(r, 5, &mnull));
		int64 mid = mnull ? 0 : DatumGetInt64(pgq_getdatum(r, 6, &mnull));
		int32 cp = DatumGetInt32(pgq_getdatum(r, 7, &cnull));
		int64 cid = cnull ? 0 : DatumGetInt64(pgq_getdatum(r, 8, &cnull));

		if (mnull)
			mp = 0;

		order[r].row = r;
		order[r].made_priority = mp;
		order[r].made_id = mid;
		order[r].made_none = mnull;
		if (!mnull && (cnull || mp > cp || (mp == cp && mid < cid)))
		{
			order[r].priority = mp;
			order[r].id = mid;
		}
		else
		{
			order[r].priority = cp;
			order[r].id = cid;
		}
	}
	qsort(order, n, sizeof(HeadRow), head_order);

	gates = palloc0(sizeof(PgqGate) * n);
	heads->hp = palloc(sizeof(int32) * n);
	heads->hid = palloc(sizeof(int64) * n);
	heads->nohead = palloc(sizeof(bool) * n);
	for (int i = 0; i < n; i++)
	{
		int	 r = order[i].row;
		bool isnull;

		pgq_gate_init(&gates[i], TextDatumGetCString(pgq_getdatum(r, 1, &isnull)),
					  DatumGetInt32(pgq_getdatum(r, 2, &isnull)),
					  DatumGetFloat8(pgq_getdatum(r, 3, &isnull)),
					  DatumGetBool(pgq_getdatum(r, 4, &isnull)), batch_size);
		limited |= PGQ_GATE_LIMITED(&gates[i]);
		heads->hp[i] = order[i].made_priority;
		heads->hid[i] = order[i].made_id;
		heads->nohead[i] = order[i].made_none;
	}
	if (limited)
		pgq_estimate_gates(gates, n);
	return gates;
}

/*
 * claim_list
 *		The first max gates (in head order) that may still hand out jobs,
 *		with their caps and heads, as a claim list; the rate-limited ones
 *		with their windows.
 */
static PgqClaimList *
claim_list(PgqGate *gates, int ngates, PgqClaimList *heads, int max)
{
	PgqClaimList *cl = palloc0(sizeof(PgqClaimList));

	cl->names = palloc(sizeof(char *) * ngates);
	cl->caps = palloc(sizeof(int) * ngates);
	cl->hp = palloc(sizeof(int32) * ngates);
	cl->hid = palloc(sizeof(int64) * ngates);
	cl->nohead = palloc(sizeof(bool) * ngates);
	cl->rated = palloc(sizeof(char *) * ngates);
	cl->windows = palloc(sizeof(Datum) * ngates);
	for (int i = 0; i < ngates && cl->n < max; i++)
	{
		PgqGate *g = &gates[i];

		if (g->cap <= 0)
			continue;
		if (g->rate > 0)
		{
			Interval *win = palloc(sizeof(Interval));
			int		  allowed;

			pgq_rate_window(g->rate, win, &allowed);
			cl->rated[cl->nrated] = g->name;
			cl->windows[cl->nrated++] = IntervalPGetDatum(win);
		}
		cl->names[cl->n] = g->name;
		cl->hp[cl->n] = heads->hp[i];
		cl->hid[cl->n] = heads->hid[i];
		cl->nohead[cl->n] = heads->nohead[i];
		cl->caps[cl->n++] = g->cap;
	}
	return cl;
}

/*
 * lock_limits
 *		Lock the limited entrypoints of cl (in name order) and cut their caps
 *		in cl to what their limits leave.  In left, a limited entrypoint gets
 *		that cap if locked, else 0: no claim may take its jobs without its
 *		lock.  Returns the grant time.
 */
static TimestampTz
lock_limits(PgqClaimList *cl, PgqClaimList *left, PgqGate *gates, int ngates,
			int batch_size)
{
	char	  **names = palloc(sizeof(char *) * Max(cl->n, 1));
	int			n = 0;
	TimestampTz now;

	for (int i = 0; i < cl->n; i++)
		if (PGQ_GATE_LIMITED(pgq_find_gate(gates, ngates, cl->names[i])))
			names[n++] = cl->names[i];
	n = pgq_distinct_strings(names, n); /* sorted: the lock order */
	now = pgq_lock_gates(gates, ngates, names, n, batch_size);
	for (int i = 0; i < cl->n; i++)
	{
		PgqGate *g = pgq_find_gate(gates, ngates, cl->names[i]);

		if (g->locked)
			cl->caps[i] = Min(cl->caps[i], g->cap);
	}
	for (int i = 0; i < left->n; i++)
	{
		PgqGate *g = pgq_find_gate(gates, ngates, left->names[i]);

		if (g->locked)
			left->caps[i] = Min(left->caps[i], g->cap);
		else if (PGQ_GATE_LIMITED(g))
			left->caps[i] = 0;
	}
	return now;
}

/*
 * claim
 *		Claim up to batch_size due jobs of the entrypoints asked for and put
 *		them in the function's result, in dequeue order (priority DESC, id
 *		ASC); the plan is in the file's header comment.
 */
static void
claim(FunctionCallInfo fcinfo, ArrayType *entrypoints, char **names, int n,
	  int batch_size, Datum qm)
{
	PgqGate		  *gates;
	int			   ngates;
	PgqClaimList   heads;
	PgqClaimList  *cl;
	PgqClaimList  *left;
	TimestampTz	   now;
	int			   found;
	int			   got;
	int			   more;
	bool		   shared;
	SPITupleTable *first;

	/* one entrypoint without limits: claim from the start of its jobs */
	if (n == 1 && !pgq_gated(entrypoints))
	{
		PgqClaimList one = {.n = 1, .names = names, .caps = &batch_size};

		if (pgq_claim_run(&one, batch_size, qm, GetCurrentTimestamp(), NULL) > 0)
			pgq_claim_store(fcinfo, SPI_tuptable, (int) SPI_processed, NULL, 0);
		return;
	}

	gates = read_heads(entrypoints, batch_size, &ngates, &heads);
	cl = claim_list(gates, ngates, &heads, batch_size);
	if (cl->n == 0)
		return;
	if (cl->n == 1 &&
		!PGQ_GATE_LIMITED(pgq_find_gate(gates, ngates, cl->names[0])))
	{
		if (pgq_claim_run(cl, batch_size, qm, GetCurrentTimestamp(), NULL) > 0)
			pgq_claim_store(fcinfo, SPI_tuptable, (int) SPI_processed, NULL, 0);
		return;
	}

	left = claim_list(gates, ngates, &heads, ngates);
	shared = cl->n > 1;
	found = shared ? pgq_claim_shares(cl, batch_size) : cl->caps[0];
	if (found == 0)
		return;
	now = lock_limits(cl, left, gates, ngates, batch_size);
	pgq_claim_keep_capped(cl);
	got = cl->n > 0 ? pgq_claim_run(cl, found, qm, now, left) : 0;
	first = got > 0 ? SPI_tuptable : NULL;

	/* others took part of the shares, or a limit was reached meanwhile */
	pgq_claim_keep_capped(left);
	more = 0;
	if (shared && got < found && left->n > 0)
		more = pgq_claim_run(left, batch_size - got, qm, now, NULL);
	if (got + more > 0)
		pgq_claim_store(fcinfo, first, got, more > 0 ? SPI_tuptable : NULL, more);
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
	char	 **names;
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

	names = distinct_entrypoints(&entrypoints, epvals, &n);

	pgq_connect();

	expired = pgq_expire_leases(entrypoints, DEQUEUE_RESCUE_LIMIT, &woken, &nwoken);

	if (!PG_ARGISNULL(3))
		batch_size = worker_cap(qm, PG_GETARG_INT32(3), batch_size);
	if (batch_size > 0)
		claim(fcinfo, entrypoints, names, n, batch_size, qm);

	pgq_finish();

	/* Jobs came back from expired leases: other workers may want them. */
	if (expired > 0 && nwoken > 0)
		pgq_notify_table_changed("update", woken, nwoken, expired);

	return (Datum) 0;
}
