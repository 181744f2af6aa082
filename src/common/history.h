/*-------------------------------------------------------------------------
 *
 * history.h
 *		How much history pgqueuer writes to the log (pgqueuer.history),
 *		and the one statement piece that writes a log row.
 *
 * IDENTIFICATION
 *		src/common/history.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_HISTORY_H
#define PGQ_HISTORY_H

#include "executor/spi.h"

/* values of pgqueuer.history */
typedef enum PgqHistory
{
	PGQ_HISTORY_FULL,			/* PgQueuer's log: queued, picked, outcome */
	PGQ_HISTORY_FINISHED,		/* outcome rows only */
	PGQ_HISTORY_NONE			/* no log rows at all */
} PgqHistory;

/* which kind of log row a statement writes */
typedef enum PgqLogKind
{
	PGQ_LOG_TRANSITION,			/* 'queued' at enqueue, 'picked' at claim */
	PGQ_LOG_OUTCOME				/* what ended an attempt: complete(), retry(),
								 * cancel(), lease expiry, schedules' jobs */
} PgqLogKind;

extern int	pgq_history;
extern int	pgq_fold_margin_ms;	/* statistics fold's margin, ms */

extern void pgq_define_history_gucs(void);
extern bool pgq_log_wanted(PgqLogKind kind);
extern SPIPlanPtr pgq_log_plan(SPIPlanPtr *cache, PgqLogKind kind,
							   const char *head, const char *rows,
							   const char *tail, int nargs,
							   const Oid *argtypes);

#endif							/* PGQ_HISTORY_H */
