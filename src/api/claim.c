/*-------------------------------------------------------------------------
 *
 * claim.c
 *		The statements of dequeue's claim: heads, shares and the claim.
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
 * Locking up to a batch of each entrypoint before merging hides jobs from
 * other workers until commit and writes a lock per row: asked for a hundred
 * busy entrypoints with a batch of ten, a claim would lock a thousand jobs
 * to take ten.  So dequeue (dequeue.c) first reads the heads: each
 * entrypoint's first due job, without locking.  Only the entrypoints whose
 * head is among the batch's best heads can have a job in the batch (each of
 * the others has a batch of better jobs in front of it, one per
 * entrypoint); when there are several, their shares of the batch are read
 * without locking, and the claim locks about the batch.
 *
 * IDENTIFICATION
 *		src/api/claim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "args.h"
#include "claim.h"
#include "history.h"
#include "plan_shape.h"
#include "spi_util.h"

/* clang-format off */
/*
 * The entrypoints asked for, each with its cap and the head of its jobs due
 * when made (priority and id; NULL when it has none): $1 to $4.
 */
#define CLAIM_SQL_ASKED \
	"unnest($1::pg_catalog.text[], $2::pg_catalog.int4[], $3::pg_catalog.int4[]," \
	"       $4::pg_catalog.int8[]) AS e(ep, cap, hp, hid)"

#define CLAIM_SQL_QUEUED(extra) \
	"SELECT q.id, q.priority FROM pgqueuer.pgqueuer q" \
	" WHERE q.entrypoint OPERATOR(pg_catalog.=) e.ep" \
	"   AND q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status" \
	"   AND " extra

#define CLAIM_MADE_DUE "q.execute_after OPERATOR(pg_catalog.<=) q.created"
#define CLAIM_MADE_ORDER "q.priority DESC, q.id ASC"
#define CLAIM_CAME_DUE \
	"q.execute_after OPERATOR(pg_catalog.>) q.created" \
	" AND q.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now()"
#define CLAIM_CAME_ORDER \
	"q.priority OPERATOR(pg_catalog.+) 0 DESC, q.id OPERATOR(pg_catalog.+) 0 ASC"

/*
 * Per entrypoint, up to its cap of the jobs due when made, in priority
 * order, starting at its head: the jobs of the head's priority from the
 * head's id on, then those of lower priorities.  A queue whose jobs are
 * claimed and deleted from the front leaves the entries of the deleted
 * jobs in the index until VACUUM; a scan from the start of the entrypoint
 * would walk them all again, one started at the head does not.  (A job
 * queued again with an id before the head, or a better priority, since the
 * heads were read, waits for the next dequeue.)
 */
#define CLAIM_SQL_MADE(lock) \
	"made_due AS (" \
	" SELECT e.ep, e.cap, c.id, c.priority FROM " CLAIM_SQL_ASKED \
	" CROSS JOIN LATERAL (" \
	"  SELECT * FROM (" CLAIM_SQL_QUEUED(CLAIM_MADE_DUE \
	"    AND q.priority OPERATOR(pg_catalog.=) e.hp AND q.id OPERATOR(pg_catalog.>=) e.hid") \
	"   ORDER BY q.id ASC LIMIT e.cap " lock ") h" \
	"  UNION ALL" \
	"  SELECT * FROM (" CLAIM_SQL_QUEUED(CLAIM_MADE_DUE " AND q.priority OPERATOR(pg_catalog.<) e.hp") \
	"   ORDER BY " CLAIM_MADE_ORDER " LIMIT e.cap " lock ") l" \
	"  LIMIT e.cap) c" \
	")"

/*
 * The same without a head, from the start of each entrypoint's jobs: the
 * claim over one entrypoint asked for alone, which reads no heads first.
 */
#define CLAIM_SQL_MADE_PLAIN(lock) \
	"made_due AS (" \
	" SELECT e.ep, e.cap, c.id, c.priority FROM " CLAIM_SQL_ASKED \
	" CROSS JOIN LATERAL (" CLAIM_SQL_QUEUED(CLAIM_MADE_DUE) \
	"  ORDER BY " CLAIM_MADE_ORDER " LIMIT e.cap " lock ") c" \
	")"

/*
 * Per entrypoint, up to its cap of the deferred jobs whose time has come.
 * They are sorted by an expression that no index provides, so that no plan
 * walks an index in priority order (through all the deferred jobs not due
 * yet) to save the sort of the few that are due.
 */
#define CLAIM_SQL_CAME(lock) \
	"came_due AS (" \
	" SELECT e.ep, e.cap, c.id, c.priority FROM " CLAIM_SQL_ASKED \
	" CROSS JOIN LATERAL (" CLAIM_SQL_QUEUED(CLAIM_CAME_DUE) \
	"  ORDER BY " CLAIM_CAME_ORDER " LIMIT e.cap " lock ") c" \
	")"

/*
 * Both paths, merged per entrypoint and cut to its cap, then merged and cut
 * to the batch ($5): the jobs a claim takes, in dequeue order.
 */
#define CLAIM_SQL_CAND(made, lock) \
	made(lock) ", " CLAIM_SQL_CAME(lock) \
	", cand AS (" \
	" SELECT r.ep, r.id, r.priority FROM (" \
	"   SELECT a.ep, a.id, a.priority, a.cap, pg_catalog.row_number() OVER" \
	"     (PARTITION BY a.ep ORDER BY a.priority DESC, a.id ASC) AS rn" \
	"   FROM (SELECT * FROM made_due UNION ALL SELECT * FROM came_due) a) r" \
	" WHERE r.rn OPERATOR(pg_catalog.<=) r.cap" \
	" ORDER BY r.priority DESC, r.id ASC" \
	" LIMIT $5" \
	")"

#define CLAIM_SQL_HEAD(made) \
	"WITH " CLAIM_SQL_CAND(made, "FOR UPDATE SKIP LOCKED") \
	", upd AS (" \
	" UPDATE pgqueuer.pgqueuer q SET status = 'picked'::pgqueuer.pgqueuer_status," \
	"   updated = pg_catalog.now(), heartbeat = pg_catalog.now(), queue_manager_id = $6" \
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
	" SELECT u.entrypoint, $7, pg_catalog.count(*) FROM upd u" \
	" WHERE u.entrypoint OPERATOR(pg_catalog.=) ANY ($8) GROUP BY u.entrypoint" \
	"), pr AS (" \
	" DELETE FROM pgqueuer.pgqueuer_rate_grants g" \
	" USING unnest($8::pg_catalog.text[], $9::interval[]) AS w(ep, win)" \
	" WHERE g.entrypoint OPERATOR(pg_catalog.=) w.ep" \
	"   AND g.granted_at OPERATOR(pg_catalog.<=) ($7 OPERATOR(pg_catalog.-) w.win)" \
	")"

#define CLAIM_SQL_TAIL " SELECT * FROM upd ORDER BY priority DESC, id ASC"

/* clang-format off */
/*
 * Each entrypoint asked for that has a due job, with its registry values and
 * the heads of its two claim paths.
 */
static const char *const heads_sql =
	"SELECT a.ep, COALESCE(r.concurrency_limit, 0),"
	"       COALESCE(r.requests_per_second, 0::pg_catalog.float8), COALESCE(r.paused, false),"
	"       m.priority, m.id, c.priority, c.id"
	" FROM pg_catalog.unnest($1::pg_catalog.text[]) AS a(ep)"
	" LEFT JOIN pgqueuer.pgqueuer_entrypoints r ON r.entrypoint OPERATOR(pg_catalog.=) a.ep"
	" LEFT JOIN LATERAL ("
	"   SELECT q.priority, q.id FROM pgqueuer.pgqueuer q"
	"   WHERE q.entrypoint OPERATOR(pg_catalog.=) a.ep"
	"     AND q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status"
	"     AND " CLAIM_MADE_DUE
	"   ORDER BY " CLAIM_MADE_ORDER " LIMIT 1) m ON true"
	" LEFT JOIN LATERAL ("
	"   SELECT q.priority, q.id FROM pgqueuer.pgqueuer q"
	"   WHERE q.entrypoint OPERATOR(pg_catalog.=) a.ep"
	"     AND q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status"
	"     AND " CLAIM_CAME_DUE
	"   ORDER BY " CLAIM_CAME_ORDER " LIMIT 1) c ON true"
	" WHERE m.id IS NOT NULL OR c.id IS NOT NULL";

/*
 * The share of each entrypoint in the batch, read without locking: what a
 * claim would take from each if no other worker took any meanwhile.
 */
static const char *const share_sql =
	"WITH " CLAIM_SQL_CAND(CLAIM_SQL_MADE, "")
	" SELECT ep, pg_catalog.count(*)::pg_catalog.int4 FROM cand GROUP BY ep";
/* clang-format on */

static SPIPlanPtr heads_plan = NULL;
static SPIPlanPtr share_plan = NULL;
/* the variants of pgq_log_plan() (history.c), with and without heads */
static SPIPlanPtr claim_plans[2][PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr claim_rated_plans[2][PGQ_LOG_PLAN_SLOTS];

int
pgq_claim_heads(ArrayType *entrypoints)
{
	static const Oid types[1] = {TEXTARRAYOID};
	Datum			 value = PointerGetDatum(entrypoints);

	return pgq_execute_indexed(pgq_plan(&heads_plan, heads_sql, 1, types),
							   &value, NULL, SPI_OK_SELECT);
}

/*
 * list_values
 *		The first four parameters of share_sql and of the claim for cl:
 *		names, caps and heads as arrays.
 */
static void
list_values(PgqClaimList *cl, Datum *values)
{
	Datum *caps = palloc(sizeof(Datum) * Max(cl->n, 1));
	Datum *hp = palloc(sizeof(Datum) * Max(cl->n, 1));
	Datum *hid = palloc(sizeof(Datum) * Max(cl->n, 1));
	int	   dims[1] = {cl->n};
	int	   lbs[1] = {1};

	for (int i = 0; i < cl->n; i++)
	{
		caps[i] = Int32GetDatum(cl->caps[i]);
		hp[i] = Int32GetDatum(cl->hp ? cl->hp[i] : 0);
		hid[i] = Int64GetDatum(cl->hid ? cl->hid[i] : 0);
	}
	values[0] = PointerGetDatum(pgq_make_text_array(cl->names, cl->n));
	values[1] = PointerGetDatum(construct_array(caps, cl->n, INT4OID, 4, true,
												TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_md_array(hp, cl->hp ? cl->nohead : NULL, 1, dims, lbs,
												   INT4OID, 4, true,
												   TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_md_array(hid, cl->hp ? cl->nohead : NULL, 1, dims, lbs,
												   INT8OID, 8, FLOAT8PASSBYVAL,
												   TYPALIGN_DOUBLE));
}

/*
 * claim_index
 *		The position of entrypoint "name" in a claim list, or -1.
 */
static int
claim_index(PgqClaimList *cl, const char *name)
{
	for (int i = 0; i < cl->n; i++)
		if (strcmp(cl->names[i], name) == 0)
			return i;
	return -1;
}

/*
 * pgq_claim_shares
 *		The shares of the batch (share_sql) cut into cl's caps.
 */
int
pgq_claim_shares(PgqClaimList *cl, int batch_size)
{
	static const Oid types[5] = {TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
								 INT8ARRAYOID, INT4OID};
	Datum			 values[5];
	int				 nrows;
	int				 found = 0;
	int				*share = palloc0(sizeof(int) * cl->n);

	list_values(cl, values);
	values[4] = Int32GetDatum(batch_size);
	nrows = pgq_execute_indexed(pgq_plan(&share_plan, share_sql, 5, types),
								values, NULL, SPI_OK_SELECT);
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
		cl->caps[i] = Min(cl->caps[i], share[i]);
	pgq_claim_keep_capped(cl);
	return found;
}

/*
 * pgq_claim_run
 *		The claim (CLAIM_SQL_HEAD, its log rows, and the rate ledger when cl
 *		has rate-limited entrypoints).
 */
int
pgq_claim_run(PgqClaimList *cl, int batch_size, Datum qm, TimestampTz now,
			  PgqClaimList *took)
{
	static const Oid claim_types[9] = {TEXTARRAYOID, INT4ARRAYOID, INT4ARRAYOID,
									   INT8ARRAYOID, INT4OID, UUIDOID,
									   TIMESTAMPTZOID, TEXTARRAYOID, INTERVALARRAYOID};
	Datum			 values[9];
	SPIPlanPtr		 plan;
	int				 nrows;

	list_values(cl, values);
	values[4] = Int32GetDatum(batch_size);
	values[5] = qm;
	values[6] = TimestampTzGetDatum(now);
	values[7] = PointerGetDatum(pgq_make_text_array(cl->rated, cl->nrated));
	values[8] = PointerGetDatum(construct_array(cl->windows, cl->nrated,
												INTERVALOID, sizeof(Interval),
												false, TYPALIGN_DOUBLE));
	if (cl->nrated > 0 && cl->hp != NULL)
		plan = pgq_log_plan(claim_rated_plans[0], PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD(CLAIM_SQL_MADE), CLAIM_SQL_LOG,
							CLAIM_SQL_RATE CLAIM_SQL_TAIL, 9, claim_types);
	else if (cl->nrated > 0)
		plan = pgq_log_plan(claim_rated_plans[1], PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD(CLAIM_SQL_MADE_PLAIN), CLAIM_SQL_LOG,
							CLAIM_SQL_RATE CLAIM_SQL_TAIL, 9, claim_types);
	else if (cl->hp != NULL)
		plan = pgq_log_plan(claim_plans[0], PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD(CLAIM_SQL_MADE), CLAIM_SQL_LOG,
							CLAIM_SQL_TAIL, 6, claim_types);
	else
		plan = pgq_log_plan(claim_plans[1], PGQ_LOG_TRANSITION,
							CLAIM_SQL_HEAD(CLAIM_SQL_MADE_PLAIN), CLAIM_SQL_LOG,
							CLAIM_SQL_TAIL, 6, claim_types);
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
 * pgq_claim_store
 *		The rows of two claims merged into the function's result.
 */
void
pgq_claim_store(FunctionCallInfo fcinfo, SPITupleTable *a, int na,
				SPITupleTable *b, int nb)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	   desc = (na > 0 ? a : b)->tupdesc;
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
 * pgq_claim_keep_capped
 *		Drop the entrypoints with cap 0 from a claim list.
 */
void
pgq_claim_keep_capped(PgqClaimList *cl)
{
	int kept = 0;

	for (int i = 0; i < cl->n; i++)
	{
		if (cl->caps[i] <= 0)
			continue;
		cl->names[kept] = cl->names[i];
		if (cl->hp != NULL)
		{
			cl->hp[kept] = cl->hp[i];
			cl->hid[kept] = cl->hid[i];
			cl->nohead[kept] = cl->nohead[i];
		}
		cl->caps[kept++] = cl->caps[i];
	}
	cl->n = kept;
}
