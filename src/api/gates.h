/*-------------------------------------------------------------------------
 *
 * gates.h
 *		The concurrency and rate limits of entrypoints as dequeue applies
 *		them (gates.c).
 *
 * IDENTIFICATION
 *		src/api/gates.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_GATES_H
#define PGQ_GATES_H

#include "datatype/timestamp.h"
#include "utils/array.h"

/* What the registry says about one paused or limited entrypoint. */
typedef struct PgqGate
{
	char  *name;
	int	   concurrency_limit; /* 0 = none */
	double rate;			  /* requests_per_second, 0 = none */
	bool   paused;
	bool   locked; /* registry row locked, cap exact */
	int	   cap;	   /* jobs this call may still claim */
} PgqGate;

/*
 * pgq_read_gates
 *		The paused and limited entrypoints among entrypoints (text[]), read
 *		without a lock, each with cap batch_size (0 when paused), cut when
 *		estimate is true to an estimate of what its limits leave (its picked
 *		jobs and grants counted without the lock).  Returns the gates (NULL
 *		when none) and their number in *ngates.  Between SPI_connect and
 *		SPI_finish.
 */
extern PgqGate *pgq_read_gates(ArrayType *entrypoints, int batch_size,
							   bool estimate, int *ngates);

/* The gate of entrypoint name, or NULL when it is neither paused nor limited. */
extern PgqGate *pgq_find_gate(PgqGate *gates, int ngates, const char *name);

/*
 * pgq_lock_gates
 *		Lock the registry rows of the n entrypoints names[] (sorted; each with
 *		a gate), re-read them and set each gate's cap exactly: the jobs its
 *		concurrency limit and rate leave, counted in a new statement that sees
 *		every claim committed under the lock (at most batch_size, 0 when now
 *		paused).  Marks them locked; the locks are held until the transaction
 *		ends.  Returns the grant time for the rate ledger.
 */
extern TimestampTz pgq_lock_gates(PgqGate *gates, int ngates, char **names,
								  int n, int batch_size);

/*
 * pgq_rate_window
 *		The sliding window of a rate limit (requests_per_second, above 0)
 *		and the jobs allowed in it: floor(rate) per second, or one per
 *		1/rate seconds below 1/s.
 */
extern void pgq_rate_window(double rate, Interval *window, int *allowed);

#endif /* PGQ_GATES_H */
