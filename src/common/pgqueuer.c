/*-------------------------------------------------------------------------
 *
 * pgqueuer.c
 *		Module entry point of the pgqueuer extension: _PG_init and the GUCs.
 *
 * IDENTIFICATION
 *		src/common/pgqueuer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "background.h"
#include "history.h"
#include "pgqueuer.h"

PG_MODULE_MAGIC;

int			pgq_lease_timeout_s = 30;
int			pgq_max_attempts = 5;
int			pgq_log_retention_s = 7 * 24 * 3600;
int			pgq_stats_chunk = 10000;
int			pgq_naptime_ms = 1000;
bool		pgq_enabled = true;
char	   *pgq_databases = NULL;
char	   *pgq_schedule_timezone = NULL;
bool		pgq_announce_outcomes = false;
bool		pgq_preloaded = false;

void		_PG_init(void);

/*
 * check_databases
 *		pgqueuer.databases must be a comma-separated list of names.
 */
static bool
check_databases(char **newval, void **extra, GucSource source)
{
	char	   *raw;
	List	   *names;
	bool		ok;

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
 * _PG_init
 *		Define the GUCs and install the planner hook of the queue's
 *		statements (plan_shape.c).  Loaded either by shared_preload_libraries or on the
 *		first call of one of the extension's functions; the SQL functions do
 *		not require preloading.  When preloaded (and not in a binary
 *		upgrade), also set up the shared memory that wakes wait_for() and
 *		the background worker: shared memory, the
 *		utility hook that stops a database's worker before DROP DATABASE and
 *		friends, and the launcher.
 */
void
_PG_init(void)
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

	pgq_define_history_gucs();

	DefineCustomStringVariable("pgqueuer.schedule_timezone",
							   "Time zone of cron schedules registered without one.",
							   "An IANA name such as Europe/Oslo; schedule() stores it with the schedule.",
							   &pgq_schedule_timezone,
							   "UTC",
							   PGC_USERSET, 0,
							   pgq_check_timezone_guc, NULL, NULL);

	MarkGUCPrefixReserved("pgqueuer");

	pgq_install_plan_hook();

	if (!process_shared_preload_libraries_in_progress)
		return;
	pgq_preloaded = true;
	if (IsBinaryUpgrade)
		return;

	pgq_shmem_install_hooks();
	pgq_wait_install_hooks();
	pgq_install_utility_hook();
	pgq_register_launcher();
}
