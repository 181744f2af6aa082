/*-------------------------------------------------------------------------
 *
 * gates.c
 *		Concurrency and rate limits of entrypoints at dequeue.
 *
 * PgQueuer's dequeue counts picked rows in the statement's snapshot, so two
 * workers dequeuing at the same instant can both see a free slot and exceed
 * an entrypoint's concurrency_limit (upstream #761).  Here the capacity
 * decision of a limited entrypoint is serialised: dequeue locks the registry
 * rows of the limited entrypoints it is about to claim from (in name order,
 * so no deadlock), and only then counts their picked jobs and recent grants
 * in a new statement, whose READ COMMITTED snapshot sees every claim
 * committed by the previous holder of the lock.  The lock is held until the
 * claim commits.  requests_per_second uses the same lock and a ledger of
 * grants: over any sliding window of one second (1/rate seconds below one
 * per second) at most floor(rate) jobs (one) are handed out, across all
 * workers.
 *
 * Before that, the same counts read without a lock give each limited
 * entrypoint an estimate, with which dequeue decides which entrypoints get
 * a share of the batch; a limited entrypoint that gets none (idle, at its
 * limit, or outranked by other entrypoints' jobs) is not locked, so workers
 * serving it do not queue up behind one another's dequeue.
 *
 * IDENTIFICATION
 *		src/api/gates.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "args.h"
#include "bounds.h"
#include "gates.h"
#include "plan_shape.h"
#include "row_checks.h"
#include "spi_util.h"

/* the registry rows of the paused or limited entrypoints named; locked in
 * name order (so no deadlock) */
#define GATE_SQL \
	"SELECT entrypoint, concurrency_limit, requests_per_second, paused" \
	" FROM pgqueuer.pgqueuer_entrypoints" \
	" WHERE entrypoint OPERATOR(pg_catalog.=) ANY ($1)" \
	"   AND (paused OR concurrency_limit OPERATOR(pg_catalog.>) 0" \
	"        OR requests_per_second OPERATOR(pg_catalog.>) 0::pg_catalog.float8)" \
	" ORDER BY entrypoint"

static const char *const gate_sql = GATE_SQL;
static const char *const lock_sql = GATE_SQL " FOR NO KEY UPDATE";

/*
 * Per entrypoint (in no order): its position in $1 (1-based), its picked
 * jobs, and its grants within its rate window.  The picked jobs of all the entrypoints are
 * counted in one pass grouped by entrypoint, planned with sorts and hashed
 * aggregation off (pgq_execute_presorted), so that it reads
 * pgqueuer_picked_ep_idx, which holds them in that order, and only the
 * entries of the entrypoints asked for.  Planned otherwise while few jobs
 * were picked (a worker's first dequeue, when plans are made and kept), it
 * could read pgqueuer_heartbeat_id_id1_idx, which has no entrypoint column,
 * in full: every picked job, and every entry of a job picked since the
 * last VACUUM, at each dequeue (once per limited entrypoint, when each was
 * counted in a statement of its own).
 */
static const char *const load_sql =
	"WITH p AS ("
	" SELECT q.entrypoint AS ep, pg_catalog.count(*) AS n FROM pgqueuer.pgqueuer q"
	"  WHERE q.status OPERATOR(pg_catalog.=) 'picked'::pgqueuer.pgqueuer_status"
	"    AND q.entrypoint OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])"
	"  GROUP BY q.entrypoint)"
	" SELECT e.ord, COALESCE(p.n, 0),"
	"       (SELECT COALESCE(pg_catalog.sum(g.jobs), 0) FROM pgqueuer.pgqueuer_rate_grants g"
	"         WHERE g.entrypoint OPERATOR(pg_catalog.=) e.ep"
	"           AND g.granted_at OPERATOR(pg_catalog.>) ($2 OPERATOR(pg_catalog.-) e.win))"
	" FROM unnest($1::pg_catalog.text[], $3::interval[]) WITH ORDINALITY AS e(ep, win, ord)"
	" LEFT JOIN p ON p.ep OPERATOR(pg_catalog.=) e.ep";

static SPIPlanPtr gate_plan = NULL;
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr load_plan = NULL;

void
pgq_rate_window(double rate, Interval *window, int *allowed)
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

PgqGate *
pgq_find_gate(PgqGate *gates, int ngates, const char *name)
{
	for (int i = 0; i < ngates; i++)
		if (strcmp(gates[i].name, name) == 0)
			return &gates[i];
	return NULL;
}

void
pgq_gate_init(PgqGate *g, char *name, int concurrency_limit, double rate,
			  bool paused, int cap)
{
	g->name = name;
	g->concurrency_limit = concurrency_limit;
	g->rate = rate;
	g->paused = paused;
	g->locked = false;
	g->cap = paused ? 0 : cap;
	if (!paused && !pgq_rate_in_bounds(rate))
	{
		pgq_report_once(psprintf("entrypoint %s: requests_per_second %g is outside 0 and 0.000001 .. 1000000000; lease expiry skips its jobs and dequeue hands out none of them",
								 pgq_quote_for_log(name), rate));
		g->paused = true;
		g->cap = 0;
	}
}

/*
 * gate_from_row
 *		Refill g from row r of lock_sql, with cap.
 */
static void
gate_from_row(PgqGate *g, int r, int cap)
{
	bool isnull;

	pgq_gate_init(g, g->name, DatumGetInt32(pgq_getdatum(r, 2, &isnull)),
				  DatumGetFloat8(pgq_getdatum(r, 3, &isnull)),
				  DatumGetBool(pgq_getdatum(r, 4, &isnull)), cap);
}

/*
 * apply_load
 *		Count the picked jobs and recent grants of the gates that are limited
 *		and may still hand out jobs (of those named in names[], or of all when
 *		names is NULL), as of now, and cut their caps to what their limits
 *		leave.
 */
static void
apply_load(PgqGate *gates, int ngates, char **names, int n, TimestampTz now)
{
	static const Oid load_types[3] = {TEXTARRAYOID, TIMESTAMPTZOID, INTERVALARRAYOID};
	PgqGate		   **load = palloc(sizeof(PgqGate *) * Max(ngates, 1));
	char		   **loadnames = palloc(sizeof(char *) * Max(ngates, 1));
	Datum			*windows = palloc(sizeof(Datum) * Max(ngates, 1));
	Datum			 values[3];
	int				 nload = 0;

	for (int i = 0; i < (names ? n : ngates); i++)
	{
		PgqGate	 *g = names ? pgq_find_gate(gates, ngates, names[i]) : &gates[i];
		Interval *win = palloc0(sizeof(Interval));
		int		  allowed;

		if (g == NULL || g->cap <= 0 ||
			(g->concurrency_limit <= 0 && g->rate <= 0))
			continue;
		if (g->rate > 0)
			pgq_rate_window(g->rate, win, &allowed);
		load[nload] = g;
		loadnames[nload] = g->name;
		windows[nload++] = IntervalPGetDatum(win);
	}
	if (nload == 0)
		return;

	values[0] = PointerGetDatum(pgq_make_text_array(loadnames, nload));
	values[1] = TimestampTzGetDatum(now);
	values[2] = PointerGetDatum(construct_array(windows, nload, INTERVALOID,
												sizeof(Interval), false,
												TYPALIGN_DOUBLE));
	if (pgq_execute_presorted(pgq_plan(&load_plan, load_sql, 3, load_types),
							  values, NULL, SPI_OK_SELECT) != nload)
		elog(ERROR, "pgqueuer: unexpected row count computing entrypoint load");

	for (int r = 0; r < nload; r++)
	{
		int64	 ord = pgq_getint64(r, 1);
		PgqGate *g;
		int64	 picked = pgq_getint64(r, 2);
		int64	 granted = pgq_getint64(r, 3);

		if (ord < 1 || ord > nload)
			elog(ERROR, "pgqueuer: entrypoint load returned a position out of range");
		g = load[ord - 1];

		if (g->concurrency_limit > 0)
			g->cap = Min(g->cap, (int) Max(0, g->concurrency_limit - picked));
		if (g->rate > 0)
		{
			Interval win;
			int		 allowed;

			pgq_rate_window(g->rate, &win, &allowed);
			g->cap = Min(g->cap, (int) Max(0, allowed - granted));
		}
	}
}

bool
pgq_gated(ArrayType *entrypoints)
{
	static const Oid text_types[1] = {TEXTARRAYOID};
	Datum			 value = PointerGetDatum(entrypoints);

	return pgq_execute_indexed(pgq_plan(&gate_plan, gate_sql, 1, text_types),
							   &value, NULL, SPI_OK_SELECT) > 0;
}

void
pgq_estimate_gates(PgqGate *gates, int ngates)
{
	apply_load(gates, ngates, NULL, 0, GetCurrentTimestamp());
}

TimestampTz
pgq_lock_gates(PgqGate *gates, int ngates, char **names, int n,
			   int batch_size)
{
	static const Oid text_types[1] = {TEXTARRAYOID};
	Datum			 value;
	int				 nlocked;
	TimestampTz		 now;

	if (n == 0)
		return GetCurrentTimestamp();

	/* a row no longer paused or limited is not returned: no limit now */
	for (int i = 0; i < n; i++)
	{
		PgqGate *g = pgq_find_gate(gates, ngates, names[i]);

		Assert(g != NULL);
		pgq_gate_init(g, g->name, 0, 0, false, batch_size);
		g->locked = true;
	}
	value = PointerGetDatum(pgq_make_text_array(names, n));
	nlocked = pgq_execute_indexed(pgq_plan(&lock_plan, lock_sql, 1, text_types),
								  &value, NULL, SPI_OK_SELECT);
	for (int r = 0; r < nlocked; r++)
	{
		bool	 isnull;
		char	*name = TextDatumGetCString(pgq_getdatum(r, 1, &isnull));
		PgqGate *g = pgq_find_gate(gates, ngates, name);

		Assert(g != NULL);
		gate_from_row(g, r, batch_size);
		g->locked = true;
	}
	now = GetCurrentTimestamp();
	apply_load(gates, ngates, names, n, now);
	return now;
}
