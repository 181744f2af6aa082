/*-------------------------------------------------------------------------
 *
 * claim.h
 *		The statements of dequeue's claim: heads, shares and the claim
 *		itself (claim.c).
 *
 * IDENTIFICATION
 *		src/api/claim.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_CLAIM_H
#define PGQ_CLAIM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"

/*
 * The entrypoints one claim asks for, each with the most it may take
 * (caps[]) and the head of its jobs due when made (hp[] and hid[], its
 * priority and id, where nohead[] is false; hp NULL: no heads were read,
 * the claim reads each entrypoint's jobs from the start), and the
 * rate-limited ones among them with their windows (an Interval datum each,
 * for the ledger of grants).
 */
typedef struct PgqClaimList
{
	int	   n;
	char **names;
	int	  *caps;
	int32 *hp;
	int64 *hid;
	bool  *nohead;
	int	   nrated;
	char **rated;
	Datum *windows;
} PgqClaimList;

/*
 * pgq_claim_heads
 *		For each entrypoint of entrypoints (text[], distinct) that has a due
 *		queued job: its registry values and the first due job (head) of each
 *		claim path, read without locking.  Leaves the rows in SPI_tuptable, in
 *		no order: entrypoint text, concurrency_limit int4, requests_per_second
 *		float8, paused bool (0, 0 and false without a registry row), then the
 *		priority int4 and id int8 of the first of its jobs due when made, and
 *		of the first of its deferred jobs whose time has come (NULL where
 *		none).  Returns their number.
 */
extern int pgq_claim_heads(ArrayType *entrypoints);

/*
 * pgq_claim_shares
 *		Cut each cap of cl to the entrypoint's share of a claim of up to
 *		batch_size jobs, read without locking, and drop the entrypoints with
 *		no share.  Returns the jobs found (the shares' sum).
 */
extern int pgq_claim_shares(PgqClaimList *cl, int batch_size);

/*
 * pgq_claim_run
 *		Claim up to batch_size due jobs of the entrypoints of cl, each at most
 *		its cap, for worker qm (uuid datum), with FOR UPDATE SKIP LOCKED:
 *		mark them picked, log them (history.c) and, for the rate-limited
 *		entrypoints of cl, record the grants at now.  Leaves the claimed
 *		pgqueuer.pgqueuer rows in SPI_tuptable, in dequeue order.  When took
 *		is not NULL, subtracts the jobs claimed of each of its entrypoints
 *		from its caps.  Returns the number of jobs claimed.
 */
extern int pgq_claim_run(PgqClaimList *cl, int batch_size, Datum qm,
						 TimestampTz now, PgqClaimList *took);

/*
 * pgq_claim_store
 *		Put na rows of a and nb rows of b (two claims' SPI_tuptable, each in
 *		dequeue order; either may be NULL when its count is 0) in the result
 *		of the set-returning function, merged into dequeue order.
 */
extern void pgq_claim_store(FunctionCallInfo fcinfo, SPITupleTable *a, int na,
							SPITupleTable *b, int nb);

/* Drop the entrypoints with cap 0 from cl. */
extern void pgq_claim_keep_capped(PgqClaimList *cl);

#endif /* PGQ_CLAIM_H */
