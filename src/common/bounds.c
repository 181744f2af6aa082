/*-------------------------------------------------------------------------
 *
 * bounds.c
 *		Range checks of stored values, run when they are written.
 *
 * Every check raises 22023 (invalid_parameter_value) naming the argument,
 * the value given and the allowed range, before any row is touched.  The
 * ranges are those of bounds.h; see there for why each exists.
 *
 * IDENTIFICATION
 *		src/common/bounds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "bounds.h"

/*
 * interval_text
 *		An interval as interval_out prints it.
 */
static char *
interval_text(Interval *iv)
{
	return DatumGetCString(DirectFunctionCall1(interval_out,
											   IntervalPGetDatum(iv)));
}

/*
 * interval_between
 *		Whether lo <= iv <= hi, as PostgreSQL compares intervals (a month
 *		counts 30 days).  Infinite intervals (PostgreSQL 17 and later) are
 *		outside any finite range.
 */
static bool
interval_between(Interval *iv, Interval *lo, Interval *hi)
{
	return DatumGetInt32(DirectFunctionCall2(interval_cmp,
											 IntervalPGetDatum(iv),
											 IntervalPGetDatum(lo))) >= 0 &&
		   DatumGetInt32(DirectFunctionCall2(interval_cmp,
											 IntervalPGetDatum(iv),
											 IntervalPGetDatum(hi))) <= 0;
}

/*
 * check_interval_range
 *		Refuse iv outside [lo_secs seconds, hi_days days].
 */
static void
check_interval_range(Interval *iv, const char *argname, int64 lo_secs,
					 int32 hi_days, const char *range)
{
	Interval lo;
	Interval hi;

	memset(&lo, 0, sizeof(lo));
	memset(&hi, 0, sizeof(hi));
	lo.time = lo_secs * USECS_PER_SEC;
	hi.day = hi_days;
	if (!interval_between(iv, &lo, &hi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be between %s", argname, range),
				 errdetail("The value given is %s.", interval_text(iv))));
}

/*
 * pgq_check_lease_timeout
 *		A lease of 1 second to 365 days.
 */
void
pgq_check_lease_timeout(Interval *iv)
{
	check_interval_range(iv, "lease_timeout", PGQ_LEASE_MIN_SECS,
						 PGQ_LEASE_MAX_DAYS, "1 second and 365 days");
}

/*
 * pgq_check_max_attempts
 *		0 to 1000000 attempts, the range of the GUC pgqueuer.max_attempts.
 */
void
pgq_check_max_attempts(int value)
{
	if (value < 0 || value > PGQ_MAX_ATTEMPTS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"max_attempts\" must be between 0 and %d",
						PGQ_MAX_ATTEMPTS_MAX),
				 errdetail("The value given is %d.", value),
				 errhint("Use 0 for no retries, NULL for pgqueuer.max_attempts.")));
}

/*
 * pgq_rate_in_bounds
 *		0 (no limit), or a finite rate from 0.000001 to 1e9 jobs per second.
 *		Below the minimum, one over the rate is no longer an interval
 *		PostgreSQL can add to a timestamp.
 */
bool
pgq_rate_in_bounds(double rate)
{
	return rate == 0 || (rate >= PGQ_RATE_MIN && rate <= PGQ_RATE_MAX);
}

/*
 * pgq_check_rate
 *		Refuse a requests_per_second outside pgq_rate_in_bounds.
 */
void
pgq_check_rate(double rate)
{
	if (!pgq_rate_in_bounds(rate))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"requests_per_second\" must be 0 or between 0.000001 and 1000000000"),
				 errdetail("The value given is %g.", rate),
				 errhint("Use 0 for no rate limit.")));
}

/*
 * pgq_check_backoff
 *		retry_backoff_base and retry_backoff_max: 0 to 365 days.
 */
void
pgq_check_backoff(Interval *iv, const char *argname)
{
	check_interval_range(iv, argname, 0, PGQ_BACKOFF_MAX_DAYS,
						 "0 and 365 days");
}

/*
 * pgq_check_delay
 *		A delay added to now(): at most 36500 days (about 100 years); with
 *		allow_negative (enqueue's execute_after, where negative means due
 *		now) also at least -36500 days, otherwise at least 0.
 */
void
pgq_check_delay(Interval *iv, const char *argname, bool allow_negative)
{
	Interval lo;
	Interval hi;

	memset(&lo, 0, sizeof(lo));
	memset(&hi, 0, sizeof(hi));
	hi.day = PGQ_DELAY_MAX_DAYS;
	if (allow_negative)
		lo.day = -PGQ_DELAY_MAX_DAYS;
	if (!interval_between(iv, &lo, &hi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be between %s and 36500 days",
						argname, allow_negative ? "-36500 days" : "0"),
				 errdetail("The value given is %s.", interval_text(iv))));
}
