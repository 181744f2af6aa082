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

/* What the registry says about one entrypoint a dequeue may claim from. */
typedef struct PgqGate
{
	char  *name;
	int	   concurrency_limit; /* 0 = none */
	double rate;			  /* requests_per_second, 0 = none */
	bool   paused;
	bool   locked; /* registry row locked, cap exact */
	int	   cap;	   /* jobs this call may still claim */
} PgqGate;

/* whether gate g has a concurrency limit or a rate limit */
#define PGQ_GATE_LIMITED(g) ((g)->concurrency_limit > 0 || (g)->rate > 0)

/*
 * pgq_gate_init
 *		A gate for entrypoint name (kept, not copied) with its registry
 *		values (0 for an entrypoint without a row) and cap; cap 0 when
 *		paused, or when rate is out of bounds (written behind
 *		register_entrypoint's back: reported once, then treated as paused).
 */
extern void pgq_gate_init(PgqGate *g, char *name, int concurrency_limit,
						  double rate, bool paused, int cap);

/*
 * pgq_gated
 *		Whether any of entrypoints (text[]) is paused, or has a concurrency or
 *		rate limit, read without a lock.  Between SPI_connect and SPI_finish.
 */
extern bool pgq_gated(ArrayType *entrypoints);

/*
 * pgq_estimate_gates
 *		Cut the cap of every limited gate with a cap above 0 to what its
 *		limits leave, counting its picked jobs and recent grants without its
 *		registry lock: an estimate, made exact by pgq_lock_gates.  Runs no
 *		statement when no gate is limited.  Between SPI_connect and
 *		SPI_finish.
 */
extern void pgq_estimate_gates(PgqGate *gates, int ngates);

/* The gate of entrypoint name among gates, or NULL. */
extern PgqGate *pgq_find_gate(PgqGate *gates, int ngates, const char *name);

/*
 * pgq_lock_gates
 *		Lock the registry rows of the n limited entrypoints names[] (sorted;
 *		each with a gate), re-read them and set each gate's cap exactly: the jobs its
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
