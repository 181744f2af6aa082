/*-------------------------------------------------------------------------
 *
 * guc.c
 *		The GUCs of the pgqueuer extension: their variables, their
 *		definitions (pgq_define_gucs, the one place that lists them) and
 *		their check hooks.
 *
 * To add a GUC: its variable below, its extern in guc.h, its
 * DefineCustom*Variable call in pgq_define_gucs(), and its entry in
 * docs/configuration.md.
 *
 * IDENTIFICATION
 *		src/common/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "pgtime.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "args.h"
#include "guc.h"

int	  pgq_lease_timeout_s = 30;
int	  pgq_max_attempts = 5;
int	  pgq_log_retention_s = 7 * 24 * 3600;
int	  pgq_stats_chunk = 10000;
int	  pgq_naptime_ms = 1000;
bool  pgq_enabled = true;
char *pgq_databases = NULL;
char *pgq_schedule_timezone = NULL;
bool  pgq_announce_outcomes = false;
int	  pgq_history = PGQ_HISTORY_FULL;
int	  pgq_fold_margin_ms = 1000;

/* set by _PG_init: loaded by shared_preload_libraries */
bool pgq_preloaded = false;

/* the values of pgqueuer.history (history.c says what each writes) */
static const struct config_enum_entry history_options[] = {
	{"full", PGQ_HISTORY_FULL, false},
	{"finished", PGQ_HISTORY_FINISHED, false},
	{"none", PGQ_HISTORY_NONE, false},
	{NULL, 0, false}};

/*
 * check_databases
 *		pgqueuer.databases must be a comma-separated list of names.
 */
static bool
check_databases(char **newval, void **extra, GucSource source)
{
	char *raw;
	List *names;
	bool  ok;

	if (*newval == NULL)
		return true;
	raw = pstrdup(*newval);
	ok = SplitGUCList(raw, ',', &names);

	if (!ok)
		GUC_check_errdetail("List syntax is invalid.");
	list_free(names);
	pfree(raw);
	return ok;
}

/*
 * check_timezone
 *		check_hook of pgqueuer.schedule_timezone: a zone pg_tzset knows,
 *		without leap seconds.
 */
static bool
check_timezone(char **newval, void **extra, GucSource source)
{
	pg_tz *tz;

	if (*newval == NULL)
		return true;
	tz = pg_tzset(*newval);
	if (tz == NULL)
	{
		GUC_check_errdetail("Time zone \"%s\" is not known.", pgq_clip(*newval));
		return false;
	}
	if (!pg_tz_acceptable(tz))
	{
		GUC_check_errdetail("Time zone \"%s\" uses leap seconds.", pgq_clip(*newval));
		return false;
	}
	return true;
}

/*
 * pgq_define_gucs
 *		Define every GUC of the extension and reserve the prefix.  Called
 *		once, by _PG_init (init.c).
 *
 * Long because it is the one list of the extension's GUCs, a
 * DefineCustom*Variable call each: a new GUC goes here, next to the others.
 */
void
pgq_define_gucs(void)
{
	DefineCustomIntVariable("pgqueuer.lease_timeout",
							"Lease (heartbeat timeout) of entrypoints that are not registered.",
							"A picked job whose heartbeat is older than this returns to the queue with attempts + 1.",
							&pgq_lease_timeout_s,
							30, 1, 7 * 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgqueuer.max_attempts",
							"Attempts allowed to entrypoints that are not registered, and the default of register_entrypoint().",
							"A job whose lease expires with this many attempts behind it ends as exception.",
							&pgq_max_attempts,
							5, 0, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgqueuer.log_retention",
							"How long log and statistics rows are kept.",
							"Rows older than this are deleted by maintenance; 0 keeps them forever.",
							&pgq_log_retention_s,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgqueuer.statistics_chunk",
							"Log rows folded into statistics per statement.",
							NULL,
							&pgq_stats_chunk,
							10000, 1, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pgqueuer.naptime",
							"Pause of the background worker between maintenance passes.",
							"Also how often the launcher looks for new databases.",
							&pgq_naptime_ms,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pgqueuer.enabled",
							 "Run the background worker.",
							 "Off: the launcher starts no workers and stops running ones.",
							 &pgq_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pgqueuer.databases",
							   "Databases the background worker serves, comma-separated; empty: all.",
							   "Only databases where the extension is installed get a worker.",
							   &pgq_databases,
							   "",
							   PGC_SIGHUP, 0,
							   check_databases, NULL, NULL);

	DefineCustomBoolVariable("pgqueuer.notify_outcomes",
							 "Announce the jobs that complete() and cancel() ended on ch_pgqueuer.",
							 "For PgQueuer's CompletionWatcher: one notification per call, which serialises the commits of every notifying transaction; wait_for() does not need them.",
							 &pgq_announce_outcomes,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	/*
	 * PGC_SUSET: a role below superuser must not switch off the record of
	 * what its own session does; a superuser sets it per database or role
	 * with ALTER DATABASE / ALTER ROLE ... SET, or in postgresql.conf.
	 */
	DefineCustomEnumVariable("pgqueuer.history",
							 "How much job history pgqueuer writes to pgqueuer_log.",
							 "full: PgQueuer's queued, picked and outcome rows; finished: outcome rows only; none: no rows (no statistics, no outcomes for job_status() and wait_for()).",
							 &pgq_history,
							 PGQ_HISTORY_FULL,
							 history_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pgqueuer.statistics_fold_margin",
							"How long the statistics fold stays behind the earliest transaction start it sees.",
							"Covers a transaction whose start time is taken but not yet reported (statistics.c); tests set 0.",
							&pgq_fold_margin_ms,
							1000, 0, 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pgqueuer.schedule_timezone",
							   "Time zone of cron schedules registered without one.",
							   "An IANA name such as Europe/Oslo; schedule() stores it with the schedule.",
							   &pgq_schedule_timezone,
							   "UTC",
							   PGC_USERSET, 0,
							   check_timezone, NULL, NULL);

	MarkGUCPrefixReserved("pgqueuer");
}
