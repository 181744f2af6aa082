/*-------------------------------------------------------------------------
 *
 * args.c
 *		Argument validation shared by the SQL functions.
 *
 * Every check raises a user-facing error with a SQLSTATE, a message, a
 * detail and a hint, before any row is touched, so bad input never causes
 * a partial write.
 *
 * IDENTIFICATION
 *		src/common/args.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "args.h"

/*
 * pgq_array_elements
 *		Deconstruct a one-dimensional array argument.
 *
 * Refuses arrays of more than one dimension and, unless allow_nulls, NULL
 * elements (see pgq_array_length).  Returns the number of elements (0 for
 * an empty array).
 */
int
pgq_array_elements(ArrayType *array, const char *argname, bool allow_nulls,
				   Datum **values, bool **nulls)
{
	Oid	  elemtype = ARR_ELEMTYPE(array);
	int16 typlen;
	bool  typbyval;
	char  typalign;
	int	  n;

	pgq_array_length(array, argname, allow_nulls);
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  values, nulls, &n);
	return n;
}

/*
 * pgq_array_length
 *		Element count of a one-dimensional array argument.  Refuses arrays of
 *		more than one dimension and, unless allow_nulls, NULL elements.
 */
int
pgq_array_length(ArrayType *array, const char *argname, bool allow_nulls)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("argument \"%s\" must be a one-dimensional array", argname),
				 errdetail("The array has %d dimensions.", ARR_NDIM(array))));
	if (!allow_nulls && array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not contain NULL elements", argname),
				 errhint("Remove the NULL elements or give a value for each.")));
	return ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
}

/*
 * pgq_clip
 *		A string given by the caller, for an error message: the first
 *		PGQ_CLIP_BYTES bytes (whole characters) and "..." when longer, so
 *		that a hostile megabyte does not end up in every log line.
 */
const char *
pgq_clip(const char *s)
{
	int len = strlen(s);

	if (len <= PGQ_CLIP_BYTES)
		return s;
	return psprintf("%s...", pnstrdup(s, pg_mbcliplen(s, len, PGQ_CLIP_BYTES)));
}

/*
 * pgq_check_same_length
 *		Parallel arrays must have as many elements as the reference array.
 */
void
pgq_check_same_length(int expected, int actual, const char *argname,
					  const char *refname)
{
	if (expected != actual)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" has %d elements but \"%s\" has %d",
						argname, actual, refname, expected),
				 errdetail("Parallel arrays must have the same length."),
				 errhint("Pass NULL instead of the array to use the default for every job.")));
}

/*
 * pgq_require_arg
 *		Refuse a NULL argument of a function that is not STRICT.
 */
void
pgq_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be NULL", argname)));
}

/*
 * pgq_check_entrypoint
 *		An entrypoint name must not be empty.
 */
void
pgq_check_entrypoint(const char *entrypoint)
{
	if (entrypoint[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("entrypoint name must not be empty"),
				 errhint("Use the name the worker registers its handler under.")));
}

/*
 * pgq_check_nonnegative_interval
 *		Refuse intervals below zero where a negative value makes no sense.
 */
void
pgq_check_nonnegative_interval(Interval *iv, const char *argname)
{
	Interval zero;

	memset(&zero, 0, sizeof(zero));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp,
										  IntervalPGetDatum(iv),
										  IntervalPGetDatum(&zero))) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must not be negative", argname),
				 errdetail("The value given is %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(iv))))));
}

/* qsort comparator for int64 datums */
static int
cmp_int64_datum(const void *a, const void *b)
{
	int64 x = DatumGetInt64(*(const Datum *) a);
	int64 y = DatumGetInt64(*(const Datum *) b);

	return (x > y) - (x < y);
}

/*
 * pgq_check_unique_ids
 *		A job id may appear only once in one call.
 */
void
pgq_check_unique_ids(Datum *ids, int n, const char *argname)
{
	Datum *sorted;

	if (n < 2)
		return;
	sorted = palloc(sizeof(Datum) * n);
	memcpy(sorted, ids, sizeof(Datum) * n);
	qsort(sorted, n, sizeof(Datum), cmp_int64_datum);
	for (int i = 1; i < n; i++)
		if (DatumGetInt64(sorted[i]) == DatumGetInt64(sorted[i - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("job id " INT64_FORMAT " appears more than once in argument \"%s\"",
							DatumGetInt64(sorted[i]), argname),
					 errhint("Give each job once per call.")));
	pfree(sorted);
}

/*
 * pgq_make_text_array
 *		Build a text[] from C strings.
 */
ArrayType *
pgq_make_text_array(char **items, int n)
{
	Datum *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT);
}
