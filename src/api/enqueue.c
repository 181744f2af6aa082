/*-------------------------------------------------------------------------
 *
 * enqueue.c
 *		pgqueuer.enqueue() and pgqueuer.enqueue_batch().
 *
 * Both run the same kept INSERT: every input row takes an id from the queue
 * sequence in input order (PgQueuer's rule, so ids ascend in input order and
 * skipped rows leave gaps), is inserted as queued with a 'queued' log row,
 * and the ids come back in input order.  Dedupe follows PgQueuer: the partial
 * unique index allows one active job per key; on_conflict 'raise' lets the
 * unique violation abort the whole call, 'skip' turns it into a NULL id.
 * One notification per call names the entrypoints that got due jobs.
 *
 * IDENTIFICATION
 *		src/api/enqueue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "bounds.h"
#include "compat.h"
#include "history.h"
#include "pgqueuer.h"

PG_FUNCTION_INFO_V1(pgqueuer_enqueue);
PG_FUNCTION_INFO_V1(pgqueuer_enqueue_batch);

#define ENQUEUE_SQL_HEAD \
	"WITH input AS MATERIALIZED (" \
	" SELECT pg_catalog.nextval('pgqueuer.pgqueuer_id_seq'::pg_catalog.regclass) AS id, t.*" \
	" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.bytea[], $3::pg_catalog.int4[]," \
	"   $4::interval[], $5::pg_catalog.text[], $6::pg_catalog.jsonb[])" \
	"   WITH ORDINALITY AS t(ep, pl, pr, ea, dk, hd, ord)" \
	"), ins AS (" \
	" INSERT INTO pgqueuer.pgqueuer AS q (id, priority, status, entrypoint, execute_after, dedupe_key, payload, headers)" \
	" SELECT id, COALESCE(pr, 0), 'queued'::pgqueuer.pgqueuer_status, ep," \
	"   pg_catalog.now() OPERATOR(pg_catalog.+) COALESCE(ea, '0'::interval), dk, pl, hd" \
	" FROM input ORDER BY ord"

#define ENQUEUE_SQL_SKIP \
	" ON CONFLICT (dedupe_key) WHERE ((status OPERATOR(pg_catalog.=) ANY (ARRAY['queued'::pgqueuer.pgqueuer_status, 'picked'::pgqueuer.pgqueuer_status])) AND dedupe_key IS NOT NULL) DO NOTHING"

#define ENQUEUE_SQL_RETURNING \
	" RETURNING q.id, q.priority, q.entrypoint, q.execute_after" \
	")"

/* the 'queued' log rows (history.c) */
#define ENQUEUE_SQL_LOG \
	"SELECT id, 'queued'::pgqueuer.pgqueuer_status, priority, entrypoint, NULL::pg_catalog.jsonb FROM ins"

#define ENQUEUE_SQL_TAIL \
	" SELECT ins.id, ins.execute_after OPERATOR(pg_catalog.<=) pg_catalog.now() AS due" \
	" FROM input LEFT JOIN ins ON ins.id OPERATOR(pg_catalog.=) input.id ORDER BY input.ord"

/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr plans_raise[PGQ_LOG_PLAN_SLOTS];
static SPIPlanPtr plans_skip[PGQ_LOG_PLAN_SLOTS];

/*
 * parse_on_conflict
 *		'raise' -> false, 'skip' -> true, anything else is an error.
 */
static bool
parse_on_conflict(FunctionCallInfo fcinfo, int argno)
{
	char	   *mode;

	pgq_require_arg(fcinfo, argno, "on_conflict");
	mode = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(mode, "raise") == 0)
		return false;
	if (strcmp(mode, "skip") == 0)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid on_conflict value \"%s\"", pgq_clip(mode)),
			 errhint("Use 'raise' or 'skip'.")));
	return false;				/* keep compiler quiet */
}

/*
 * check_headers
 *		Headers are a JSON object (PgQueuer's dict) or SQL NULL; element is
 *		the 1-based position in enqueue_batch's array, 0 for enqueue().
 */
static void
check_headers(Datum headers, int element)
{
	Jsonb	   *jb = DatumGetJsonbP(headers);
	const char *kind;

	if (JB_ROOT_IS_OBJECT(jb))
		return;
	kind = JB_ROOT_IS_SCALAR(jb) ? "scalar" : "array";
	if (element > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("headers must be JSON objects"),
				 errdetail("Element %d of argument \"headers\" is a JSON %s.", element, kind),
				 errhint("Pass objects such as {\"trace_id\": \"abc\"}, or NULL for no headers.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("headers must be a JSON object"),
			 errdetail("The value given is a JSON %s.", kind),
			 errhint("Pass an object such as {\"trace_id\": \"abc\"}, or NULL for no headers.")));
}

/*
 * enqueue_rows
 *		Insert n jobs described by the six arrays (any but the first may be
 *		NULL, meaning the default for every row).  Fills ids[i]/skipped[i]
 *		in input order and notifies once.  Arrays were validated by the
 *		caller.
 */
static void
enqueue_rows(int n, ArrayType *entrypoints, ArrayType *payloads,
			 ArrayType *priorities, ArrayType *delays, ArrayType *keys,
			 ArrayType *headers, bool skip, int64 *ids, bool *skipped)
{
	static const Oid argtypes[6] = {TEXTARRAYOID, BYTEAARRAYOID, INT4ARRAYOID,
	INTERVALARRAYOID, TEXTARRAYOID, JSONBARRAYOID};
	Datum		values[6];
	char		nulls[6];
	ArrayType  *arrays[6] = {entrypoints, payloads, priorities, delays, keys, headers};
	SPIPlanPtr	plan;
	Datum	   *epvals;
	bool	   *epnulls;
	char	  **woken;
	int			nwoken = 0;
	MemoryContext oldctx;
	MemoryContext callerctx = CurrentMemoryContext;

	pgq_array_elements(entrypoints, "entrypoints", false, &epvals, &epnulls);
	woken = palloc(sizeof(char *) * n);
	for (int i = 0; i < 6; i++)
	{
		values[i] = PointerGetDatum(arrays[i]);
		nulls[i] = arrays[i] ? ' ' : 'n';
	}

	pgq_connect();
	if (skip)
		plan = pgq_log_plan(plans_skip, PGQ_LOG_TRANSITION,
							ENQUEUE_SQL_HEAD ENQUEUE_SQL_SKIP ENQUEUE_SQL_RETURNING,
							ENQUEUE_SQL_LOG, ENQUEUE_SQL_TAIL, 6, argtypes);
	else
		plan = pgq_log_plan(plans_raise, PGQ_LOG_TRANSITION,
							ENQUEUE_SQL_HEAD ENQUEUE_SQL_RETURNING,
							ENQUEUE_SQL_LOG, ENQUEUE_SQL_TAIL, 6, argtypes);
	if (pgq_execute(plan, values, nulls, SPI_OK_SELECT) != n)
		elog(ERROR, "pgqueuer: enqueue returned an unexpected number of rows");

	oldctx = MemoryContextSwitchTo(callerctx);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		id = pgq_getdatum(i, 1, &isnull);

		skipped[i] = isnull;
		ids[i] = isnull ? 0 : DatumGetInt64(id);
		if (isnull)
			continue;
		if (DatumGetBool(pgq_getdatum(i, 2, &isnull)))
			woken[nwoken++] = TextDatumGetCString(epvals[i]);
		else
			pgq_deferred_changed();
	}
	MemoryContextSwitchTo(oldctx);
	pgq_finish();

	pgq_notify_entrypoints("insert", woken, nwoken);
}

/*
 * one_element_array
 *		Argument argno as a one-element array of typid, or NULL if it is NULL.
 */
static ArrayType *
one_element_array(FunctionCallInfo fcinfo, int argno, Oid typid)
{
	Datum		d;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (PG_ARGISNULL(argno))
		return NULL;
	d = PG_GETARG_DATUM(argno);
	get_typlenbyvalalign(typid, &typlen, &typbyval, &typalign);
	return construct_array(&d, 1, typid, typlen, typbyval, typalign);
}

/*
 * pgqueuer_enqueue
 *		enqueue(entrypoint, payload, priority, execute_after, dedupe_key,
 *				headers, on_conflict) -> bigint
 */
Datum
pgqueuer_enqueue(PG_FUNCTION_ARGS)
{
	Datum		ep;
	bool		skip;
	int64		id;
	bool		skipped;

	pgq_require_arg(fcinfo, 0, "entrypoint");
	pgq_require_arg(fcinfo, 2, "priority");
	skip = parse_on_conflict(fcinfo, 6);
	ep = PG_GETARG_DATUM(0);
	pgq_check_entrypoint(TextDatumGetCString(ep));
	if (!PG_ARGISNULL(3))
		pgq_check_delay(PG_GETARG_INTERVAL_P(3), "execute_after", true);
	if (!PG_ARGISNULL(5))
		check_headers(PG_GETARG_DATUM(5), 0);

	enqueue_rows(1,
				 one_element_array(fcinfo, 0, TEXTOID),
				 one_element_array(fcinfo, 1, BYTEAOID),
				 one_element_array(fcinfo, 2, INT4OID),
				 one_element_array(fcinfo, 3, INTERVALOID),
				 one_element_array(fcinfo, 4, TEXTOID),
				 one_element_array(fcinfo, 5, JSONBOID),
				 skip, &id, &skipped);

	if (skipped)
		PG_RETURN_NULL();
	PG_RETURN_INT64(id);
}

/*
 * optional_array
 *		A parallel array argument: NULL stays NULL, otherwise its length must
 *		match the entrypoints array.
 */
static ArrayType *
optional_array(FunctionCallInfo fcinfo, int argno, const char *argname,
			   bool allow_nulls, int n)
{
	ArrayType  *a;

	if (PG_ARGISNULL(argno))
		return NULL;
	a = PG_GETARG_ARRAYTYPE_P(argno);
	pgq_check_same_length(n, pgq_array_length(a, argname, allow_nulls),
						  argname, "entrypoints");
	return a;
}

/*
 * check_batch_values
 *		Every execute_after within bounds, every headers value an object.
 */
static void
check_batch_values(ArrayType *delays, ArrayType *headers)
{
	Datum	   *values;
	bool	   *nulls;
	int			n;

	if (delays != NULL)
	{
		n = pgq_array_elements(delays, "execute_after", false, &values, &nulls);
		for (int i = 0; i < n; i++)
			pgq_check_delay(DatumGetIntervalP(values[i]), "execute_after", true);
	}
	if (headers != NULL)
	{
		n = pgq_array_elements(headers, "headers", true, &values, &nulls);
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				check_headers(values[i], i + 1);
	}
}

/*
 * pgqueuer_enqueue_batch
 *		enqueue_batch(entrypoints[], payloads[], priorities[],
 *					  execute_after[], dedupe_keys[], headers[], on_conflict)
 *		-> SETOF bigint, in input order, NULL where skipped.
 */
Datum
pgqueuer_enqueue_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *eps;
	ArrayType  *pls,
			   *prs,
			   *eas,
			   *dks,
			   *hds;
	Datum	   *epvals;
	bool	   *epnulls;
	int			n;
	bool		skip;
	int64	   *ids;
	bool	   *skipped;

	pgq_init_materialized_srf(fcinfo);
	pgq_require_arg(fcinfo, 0, "entrypoints");
	skip = parse_on_conflict(fcinfo, 6);
	eps = PG_GETARG_ARRAYTYPE_P(0);
	n = pgq_array_elements(eps, "entrypoints", false, &epvals, &epnulls);
	for (int i = 0; i < n; i++)
		pgq_check_entrypoint(TextDatumGetCString(epvals[i]));
	pls = optional_array(fcinfo, 1, "payloads", true, n);
	prs = optional_array(fcinfo, 2, "priorities", false, n);
	eas = optional_array(fcinfo, 3, "execute_after", false, n);
	dks = optional_array(fcinfo, 4, "dedupe_keys", true, n);
	hds = optional_array(fcinfo, 5, "headers", true, n);
	check_batch_values(eas, hds);

	if (n == 0)
		return (Datum) 0;

	ids = palloc(sizeof(int64) * n);
	skipped = palloc(sizeof(bool) * n);
	enqueue_rows(n, eps, pls, prs, eas, dks, hds, skip, ids, skipped);

	for (int i = 0; i < n; i++)
	{
		Datum		v = Int64GetDatum(ids[i]);
		bool		isnull = skipped[i];

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &v, &isnull);
	}
	return (Datum) 0;
}
