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

/* which kind of log row a statement writes */
typedef enum PgqLogKind
{
	PGQ_LOG_TRANSITION, /* 'queued' at enqueue, 'picked' at claim */
	PGQ_LOG_OUTCOME		/* what ended an attempt: complete(), retry(),
								 * cancel(), lease expiry, schedules' jobs */
} PgqLogKind;

/*
 * The day slots of pgqueuer_log (schema 1.2, sql/pgqueuer--1.1--1.2.sql):
 * a row created at TimestampTz t is in pgqueuer_log_s<t / day mod 16>.
 */
#define PGQ_LOG_DAY_SLOTS 16

/*
 * kept plans per statement: without log rows, with rows for a schema that
 * awaits its update, with rows routed through pgqueuer_log, and with rows
 * for each day slot of the current schema
 */
#define PGQ_LOG_PLAN_SLOTS (3 + PGQ_LOG_DAY_SLOTS)

extern bool		  pgq_log_wanted(PgqLogKind kind);
extern char		 *pgq_log_slot_name(int day_slot);
extern SPIPlanPtr pgq_log_plan(SPIPlanPtr *cache, PgqLogKind kind,
							   const char *head, const char *rows,
							   const char *tail, int nargs,
							   const Oid *argtypes);

#endif /* PGQ_HISTORY_H */
