/*-------------------------------------------------------------------------
 *
 * guc.h
 *		The GUC variables of the pgqueuer extension (defined in guc.c).
 *
 * IDENTIFICATION
 *		src/common/guc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_GUC_H
#define PGQ_GUC_H

extern int	 pgq_lease_timeout_s;	/* default lease of unregistered entrypoints, s */
extern int	 pgq_max_attempts;		/* default max_attempts of unregistered entrypoints */
extern int	 pgq_log_retention_s;	/* log and statistics retention, s; 0 = keep */
extern int	 pgq_stats_chunk;		/* log rows folded per statistics statement */
extern int	 pgq_naptime_ms;		/* background worker pause between passes, ms */
extern bool	 pgq_enabled;			/* background worker on/off */
extern char *pgq_databases;			/* databases served, comma-separated; "" = all */
extern char *pgq_schedule_timezone; /* zone of schedules made without one */
extern bool	 pgq_announce_outcomes; /* complete()/cancel() announce outcomes */

/* values of pgqueuer.history */
typedef enum PgqHistory
{
	PGQ_HISTORY_FULL,	  /* PgQueuer's log: queued, picked, outcome */
	PGQ_HISTORY_FINISHED, /* outcome rows only */
	PGQ_HISTORY_NONE	  /* no log rows at all */
} PgqHistory;

extern int pgq_history;		   /* pgqueuer.history, a PgqHistory */
extern int pgq_fold_margin_ms; /* pgqueuer.statistics_fold_margin, ms */

/* not a GUC: set by _PG_init when loaded by shared_preload_libraries */
extern bool pgq_preloaded;

extern void pgq_define_gucs(void);

#endif /* PGQ_GUC_H */
