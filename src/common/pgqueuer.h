/*-------------------------------------------------------------------------
 *
 * pgqueuer.h
 *		Declarations shared by the C files of the pgqueuer extension.
 *
 * The extension's SQL functions are thin: each validates its arguments in C,
 * then runs one or a few SPI statements whose plans are prepared once per
 * backend and kept.  The helpers declared here are the shared plumbing.
 *
 * IDENTIFICATION
 *		src/common/pgqueuer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_H
#define PGQUEUER_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "args.h"
#include "cron.h"
#include "guc.h"

/* The NOTIFY channel, PgQueuer's default. */
#define PGQ_CHANNEL "ch_pgqueuer"

/* the schema of the extension's objects (not relocatable) */
#define PGQ_SCHEMA "pgqueuer"

/* NOTIFY refuses payloads of 8000 bytes or more; stay clear of it. */
#define PGQ_NOTIFY_PAYLOAD_MAX 7900

/*
 * The schema version this library serves: pgqueuer.control's default_version,
 * passed by the Makefile.
 */
#ifndef PGQ_SCHEMA_VERSION
#error "PGQ_SCHEMA_VERSION must be defined (the Makefile takes it from pgqueuer.control)"
#endif

/* schema_version.c */
typedef enum PgqSchemaState
{
	PGQ_SCHEMA_ABSENT,			/* the extension is not installed here */
	PGQ_SCHEMA_CURRENT,			/* PGQ_SCHEMA_VERSION */
	PGQ_SCHEMA_PENDING_UPDATE,	/* older, with an update script to ours */
	PGQ_SCHEMA_UNSUPPORTED		/* any other version: refused */
} PgqSchemaState;
extern PgqSchemaState pgq_schema_state(const char **version);
extern char *pgq_schema_hint(const char *version);
extern void pgq_check_schema_version(void);
extern bool pgq_warn_if_not_preloaded(void);

/* spi_util.c */
extern int	pgq_own_statement_depth;	/* > 0 while our SPI statements run */
extern SPIPlanPtr pgq_plan(SPIPlanPtr *cache, const char *sql,
						   int nargs, const Oid *argtypes);
extern int	pgq_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
						int expected);
extern void pgq_connect(void);
extern void pgq_finish(void);
extern Datum pgq_getdatum(int row, int col, bool *isnull);
extern int64 pgq_getint64(int row, int col);
extern void pgq_store_spi_rows(FunctionCallInfo fcinfo, int ncols);

/* schema_guard.c */
extern List *pgq_schema_guard(MemoryContext resultcxt, bool *blocking);

/* catalog_drift.c */
extern List *pgq_catalog_drift(MemoryContext resultcxt, bool *repairable,
							   bool *tables_intact);

/* the hint of every drift report */
#define PGQ_REPAIR_HINT \
	"run SELECT * FROM pgqueuer.repair() (or pgq verify --repair) to restore the extension's definitions; pgqueuer.repair(dry_run => true) lists the statements"

/* plan_shape.c */
extern void pgq_install_plan_hook(void);
extern int	pgq_execute_indexed(SPIPlanPtr plan, Datum *values,
								const char *nulls, int expected);

/* notify.c */
extern bool pgq_notify_allowed(void);
extern void pgq_notify_table_changed(const char *operation,
									 char **entrypoints, int nentrypoints,
									 int64 jobs);
extern void pgq_notify_cancellation(const char *queue_manager_id,
									int64 *ids, int nids);
extern void pgq_notify_entrypoints(const char *operation, char **entrypoints,
								   int n);
extern int	pgq_distinct_strings(char **items, int n);
extern void pgq_notify_outcomes(const char *operation, char **entrypoints,
								int n, int64 *final_ids, int nfinal);

/* wait_signal.c: waking wait_for() when jobs reach an outcome */
extern void pgq_wait_install_hooks(void);
extern void pgq_wait_signal_outcome(void);
extern bool pgq_wait_available(void);
extern void pgq_wait_begin(void);
extern void pgq_wait_end(void);
extern void pgq_wait_prepare(void);
extern void pgq_wait_sleep(long timeout_ms);

/* leases.c */
extern int64 pgq_expire_leases(ArrayType *entrypoints, int limit,
							   char ***woken, int *nwoken);

/* statistics.c */
extern int64 pgq_fold_statistics(int chunk, bool single_writer);
extern int64 pgq_prune_history(void);

/* schedules.c */
extern int64 pgq_fire_schedules(void);
extern TimestampTz pgq_cron_next_or_error(const char *expression,
										  TimestampTz after, const pg_tz *tz);

/* schedule_tz.c: cron schedules on the wall clock of a time zone */
extern bool pgq_cron_next_in_zone(const CronSchedule *sched, const pg_tz *tz,
								  int64 after, int64 *next);
extern pg_tz *pgq_lookup_timezone(const char *name, const char *argname,
								  const char **canonical);

/* maintenance.c: the duties of the background worker and run_maintenance() */
#define PGQ_DUTY_LEASE_EXPIRY		0
#define PGQ_DUTY_SCHEDULES			1
#define PGQ_DUTY_DEFERRED_WAKEUPS	2
#define PGQ_DUTY_STATISTICS			3
#define PGQ_DUTY_RETENTION			4
#define PGQ_NDUTIES					5
extern const char *const pgq_duty_names[PGQ_NDUTIES];
extern int64 pgq_maintenance_duty(int duty);
extern void pgq_maintenance_pass(int64 *counts);

/* deferred_wakeup.c */
extern void pgq_deferred_changed(void);
extern TimestampTz pgq_next_deferred_due(void);

/* durability.c */
extern List *pgq_durability_statements(const char *level);
extern List *pgq_autovac_statements(bool rollback);
extern void pgq_run_statements(List *statements);
extern bool pgq_valid_durability(const char *level);

#endif							/* PGQUEUER_H */
