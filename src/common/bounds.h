/*-------------------------------------------------------------------------
 *
 * bounds.h
 *		The allowed ranges of the values that pgqueuer stores and later
 *		computes with, and the checks that enforce them when a value is
 *		written.
 *
 * Each bound keeps every later computation with the value inside the
 * ranges of PostgreSQL's types: now() minus a lease, a backoff doubled per
 * attempt, one over a rate, now() plus a delay.  A value outside them would
 * otherwise make every later dequeue, complete() batch or maintenance
 * sweep fail.  The same bounds, as SQL, let the sweeps skip a row written
 * behind the functions' back (PGQ_SQL_REGISTRY_ROW_OK).  docs/limits.md
 * lists them.
 *
 * IDENTIFICATION
 *		src/common/bounds.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_BOUNDS_H
#define PGQUEUER_BOUNDS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* register_entrypoint(): lease_timeout, 1 second to 365 days */
#define PGQ_LEASE_MIN_SECS 1
#define PGQ_LEASE_MAX_DAYS 365

/* register_entrypoint(): max_attempts, as the GUC pgqueuer.max_attempts */
#define PGQ_MAX_ATTEMPTS_MAX 1000000

/* register_entrypoint(): requests_per_second, 0 (none) or this range */
#define PGQ_RATE_MIN 0.000001
#define PGQ_RATE_MAX 1000000000.0

/* register_entrypoint(): retry_backoff_base and retry_backoff_max */
#define PGQ_BACKOFF_MAX_DAYS 365

/* enqueue() execute_after, retry() delay, log_statistics() last */
#define PGQ_DELAY_MAX_DAYS 36500

/* text forms of the bounds, for messages and SQL */
#define PGQ_LEASE_MAX_SQL		 "'365 days'::pg_catalog.interval"
#define PGQ_BACKOFF_MAX_SQL		 "'365 days'::pg_catalog.interval"
#define PGQ_BACKOFF_MAX_SECS_SQL "31536000"

/*
 * A registry row (alias e of pgqueuer.pgqueuer_entrypoints) whose values
 * are all within the bounds above (written out as literals: change them
 * together with the constants, and with the report query of
 * row_checks.c).  The sweeps act only on entrypoints whose row passes (or
 * that have no row); row_checks.c reports the others.
 */
#define PGQ_SQL_REGISTRY_ROW_OK(e) \
	"((" e ".lease_timeout IS NULL OR (" e ".lease_timeout OPERATOR(pg_catalog.>=) '1 second'::pg_catalog.interval" \
	" AND " e ".lease_timeout OPERATOR(pg_catalog.<=) " PGQ_LEASE_MAX_SQL "))" \
	" AND (" e ".max_attempts IS NULL OR " e ".max_attempts OPERATOR(pg_catalog.<=) 1000000)" \
	" AND (" e ".requests_per_second OPERATOR(pg_catalog.=) 0 OR (" e ".requests_per_second OPERATOR(pg_catalog.>=) 0.000001::pg_catalog.float8" \
	" AND " e ".requests_per_second OPERATOR(pg_catalog.<=) 1000000000::pg_catalog.float8))" \
	" AND " e ".retry_backoff_base OPERATOR(pg_catalog.<=) " PGQ_BACKOFF_MAX_SQL \
	" AND " e ".retry_backoff_max OPERATOR(pg_catalog.<=) " PGQ_BACKOFF_MAX_SQL ")"

extern void pgq_check_lease_timeout(Interval *iv);
extern void pgq_check_max_attempts(int value);
extern void pgq_check_rate(double rate);
extern bool pgq_rate_in_bounds(double rate);
extern void pgq_check_backoff(Interval *iv, const char *argname);
extern void pgq_check_delay(Interval *iv, const char *argname, bool allow_negative);

#endif /* PGQUEUER_BOUNDS_H */
