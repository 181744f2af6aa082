/*-------------------------------------------------------------------------
 *
 * worker.c
 *		The per-database pgqueuer worker: runs the maintenance duties every
 *		pgqueuer.naptime, and the deferred wake-ups when a job is due.
 *
 * Started by the launcher with the database OID as bgw_main_arg and its
 * shared slot in bgw_extra.  Each duty (lease expiry, schedules, deferred
 * wake-ups, statistics, retention; see maintenance.c) runs in its own short
 * transaction that first locks the extension (AccessShareLock on the
 * pg_extension object, citus's way), so DROP EXTENSION waits for the duty
 * instead of pulling the tables away under it; nothing is held while the
 * worker sleeps on its latch.  Between passes it also wakes when the
 * earliest deferred job becomes due (or a backend's commit tells it of a
 * new deferred job, see deferred_wakeup.c) and then runs only the deferred
 * wake-up duty, so a LISTENing client hears of a deferred job within
 * milliseconds of its execute_after.  When the extension is absent or
 * has been dropped, the worker exits with code 0 after telling the launcher why.
 *
 * Before each pass the worker checks schema "pgqueuer" (schema_guard.c):
 * an object there that the extension does not own, or a foreign owner,
 * suspends every duty until it is gone; a CREATE grant to a role that is
 * not a superuser is only reported.  Each problem is logged as a WARNING
 * when it appears, not on every pass.
 *
 * Before that it checks that the schema is the version this
 * library serves; while an ALTER EXTENSION pgqueuer UPDATE is pending (or
 * the version is not served at all) it logs why, once, and waits.
 *
 * An ERROR in one duty is logged, the transaction aborted, and that duty
 * retried after a back-off (1 s doubling to 60 s), so a persistent error
 * neither stops the other duties nor floods the log; pg_cancel_backend()
 * cancels the running duty the same way.  SIGTERM (die) and SIGHUP (reload)
 * are handled the standard way.
 *
 * IDENTIFICATION
 *		src/worker/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "background.h"
#include "catalog_drift.h"
#include "deferred_wakeup.h"
#include "guc.h"
#include "maintenance.h"
#include "schema_guard.h"
#include "schema_version.h"
#include "spi_util.h"

/* back-off of a failing duty */
#define DUTY_BACKOFF_MIN_MS 1000
#define DUTY_BACKOFF_MAX_MS 60000

static const char *const duty_activity[PGQ_NDUTIES] = {
	"pgqueuer maintenance: lease_expiry",
	"pgqueuer maintenance: schedules",
	"pgqueuer maintenance: deferred_wakeups",
	"pgqueuer maintenance: statistics",
	"pgqueuer maintenance: retention",
};

static int		   duty_failures[PGQ_NDUTIES];
static TimestampTz duty_retry_at[PGQ_NDUTIES];

/* when the earliest deferred job is due; DT_NOEND if none */
static TimestampTz next_deferred = DT_NOEND;

/* the schema state last seen, and reported to the log when not current */
static PgqSchemaState schema_seen = PGQ_SCHEMA_CURRENT;
static char			  schema_seen_version[NAMEDATALEN];

/* the schema problems last logged (TopMemoryContext), and whether blocking */
static char *guard_logged = NULL;
static bool	 guard_blocked = false;

/* the drift lines already logged, each followed by a newline */
static char *drift_logged = NULL;

/*
 * The drift check compares every object of the extension with its recorded
 * definition (some milliseconds of catalog reads): at most this often.
 */
#define DRIFT_CHECK_INTERVAL_MS 10000
static TimestampTz drift_checked_at = 0;

/*
 * lock_extension
 *		True if the extension is installed; then it stays so until the end
 *		of the transaction.
 */
static bool
lock_extension(void)
{
	Oid extoid = get_extension_oid("pgqueuer", true);

	if (!OidIsValid(extoid))
		return false;
	/* LockDatabaseObject accepts invalidations: the re-check is fresh */
	LockDatabaseObject(ExtensionRelationId, extoid, 0, AccessShareLock);
	return get_extension_oid("pgqueuer", true) == extoid;
}

/*
 * report_schema_state
 *		Log a change of the schema state: why the duties wait (with what to
 *		do), or that they resume.  Once per change, so the log is not
 *		flooded while an update is pending.
 */
static void
report_schema_state(PgqSchemaState state, const char *version)
{
	const char *db = get_database_name(MyDatabaseId);

	if (state == PGQ_SCHEMA_PENDING_UPDATE)
		ereport(LOG,
				(errmsg("pgqueuer worker: extension \"pgqueuer\" in database \"%s\" is at version %s, older than library version %s; the background duties wait",
						db, version, PGQ_SCHEMA_VERSION),
				 errhint("Run ALTER EXTENSION pgqueuer UPDATE in database \"%s\"; the duties resume by themselves.",
						 db)));
	else if (state == PGQ_SCHEMA_UNSUPPORTED)
		ereport(LOG,
				(errmsg("pgqueuer worker: extension \"pgqueuer\" in database \"%s\" is at version %s, which library version %s does not serve; the background duties wait",
						db, version, PGQ_SCHEMA_VERSION),
				 errhint("%s", pgq_schema_hint(version))));
	else if (state == PGQ_SCHEMA_CURRENT)
		ereport(LOG,
				(errmsg("pgqueuer worker: extension \"pgqueuer\" in database \"%s\" is at version %s; the background duties resume",
						db, version)));
}

/*
 * schema_ready
 *		Whether the duties may run: the installed schema is the version this
 *		library serves (schema_version.c).  Otherwise the worker waits,
 *		re-checking every naptime.  Sets *present to whether the extension
 *		is installed at all.
 */
static bool
schema_ready(bool *present)
{
	PgqSchemaState state = PGQ_SCHEMA_ABSENT;
	const char	  *version = "";

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	*present = lock_extension();
	if (*present)
		state = pgq_schema_state(&version);
	if (state != PGQ_SCHEMA_ABSENT &&
		(state != schema_seen ||
		 (state != PGQ_SCHEMA_CURRENT && strcmp(version, schema_seen_version) != 0)))
	{
		report_schema_state(state, version);
		schema_seen = state;
		strlcpy(schema_seen_version, version, sizeof(schema_seen_version));
	}
	CommitTransactionCommand();
	return state == PGQ_SCHEMA_CURRENT;
}

/*
 * duty_error_context
 *		Name the duty in errors raised while it runs.
 */
static void
duty_error_context(void *arg)
{
	errcontext("pgqueuer maintenance duty \"%s\"", pgq_duty_names[*(int *) arg]);
}

/*
 * run_duty
 *		One duty in its own transaction.  Returns false if the extension is
 *		not installed (nothing was done).  The deferred wake-up duty also
 *		reads when the next deferred job is due.
 */
static bool
run_duty(int duty, int64 *rows)
{
	bool				 present;
	ErrorContextCallback errcallback;

	errcallback.callback = duty_error_context;
	errcallback.arg = &duty;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, duty_activity[duty]);

	present = lock_extension();
	if (present)
	{
		*rows = pgq_maintenance_duty(duty);
		if (duty == PGQ_DUTY_DEFERRED_WAKEUPS)
			next_deferred = pgq_next_deferred_due();
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	error_context_stack = errcallback.previous;
	return present;
}

/*
 * run_duty_guarded
 *		run_duty(), unless the duty is backing off after an error.  An error
 *		is logged, the transaction aborted, and the duty's back-off grows.
 *		Returns false if the extension is not installed.
 */
static bool
run_duty_guarded(int duty, MemoryContext pass_cxt, int64 *rows)
{
	volatile bool present = true;

	if (duty_failures[duty] > 0 && GetCurrentTimestamp() < duty_retry_at[duty])
		return true;

	PG_TRY();
	{
		/* SIGTERM exits here; a cancel counts as this duty's error */
		CHECK_FOR_INTERRUPTS();
		present = run_duty(duty, rows);
		duty_failures[duty] = 0;
	}
	PG_CATCH();
	{
		long delay = DUTY_BACKOFF_MIN_MS;

		/* log it, clean up, and try this duty again later */
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(pass_cxt);
		EmitErrorReport();
		AbortCurrentTransaction();
		FlushErrorState();
		pgstat_report_activity(STATE_IDLE, NULL);
		RESUME_INTERRUPTS();

		duty_failures[duty]++;
		for (int i = 1; i < duty_failures[duty] && delay < DUTY_BACKOFF_MAX_MS; i++)
			delay *= 2;
		delay = Min(delay, DUTY_BACKOFF_MAX_MS);
		duty_retry_at[duty] = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
	}
	PG_END_TRY();

	MemoryContextSwitchTo(pass_cxt);
	return present;
}

/*
 * printable
 *		s with control characters written as \xNN: the lines name objects
 *		that another role created, and a name may hold a newline that
 *		would otherwise forge a line of the server log.
 */
static char *
printable(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			appendStringInfo(&buf, "\\x%02x", *p);
		else
			appendStringInfoChar(&buf, (char) *p);
	}
	return buf.data;
}

/*
 * log_guard
 *		Log the schema problems found by check_schema(), when they differ
 *		from those logged last: a WARNING per problem, and whether the
 *		duties are suspended or resume.
 */
static void
log_guard(List *lines, bool blocking)
{
	StringInfoData all;
	ListCell	  *lc;

	initStringInfo(&all);
	foreach (lc, lines)
		appendStringInfo(&all, "%s\n", (const char *) lfirst(lc));
	if (guard_logged != NULL && strcmp(guard_logged, all.data) == 0 &&
		guard_blocked == blocking)
		return;

	foreach (lc, lines)
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("pgqueuer worker: %s", printable((const char *) lfirst(lc))),
				 errhint("See pgqueuer.verify() and SECURITY.md: only the extension's objects belong in schema \"pgqueuer\", and only superusers may create there.")));
	if (blocking)
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("pgqueuer worker: maintenance of database \"%s\" is suspended while schema \"pgqueuer\" holds objects that the extension does not own",
						get_database_name(MyDatabaseId)),
				 errhint("Drop those objects; the worker resumes within pgqueuer.naptime.")));
	else if (guard_blocked)
		ereport(LOG,
				(errmsg("pgqueuer worker: schema \"pgqueuer\" holds only the extension's objects again; maintenance of database \"%s\" resumes",
						get_database_name(MyDatabaseId))));

	if (guard_logged != NULL)
		pfree(guard_logged);
	guard_logged = MemoryContextStrdup(TopMemoryContext, all.data);
	guard_blocked = blocking;
}

/*
 * log_drift
 *		Log, once each, the extension's objects that differ from what its
 *		scripts created (catalog_drift.c): a WARNING for every problem not
 *		logged in the previous pass, with the way to restore it.  A problem
 *		that goes away and comes back is logged again.
 */
static void
log_drift(List *lines)
{
	StringInfoData all;
	ListCell	  *lc;

	initStringInfo(&all);
	foreach (lc, lines)
	{
		const char *line = (const char *) lfirst(lc);
		char	   *key = psprintf("%s\n", line);

		appendStringInfoString(&all, key);
		if (drift_logged == NULL || strstr(drift_logged, key) == NULL)
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("pgqueuer worker: %s", printable(line)),
					 errdetail("The object differs from what the extension's install and update scripts created."),
					 errhint("Run SELECT * FROM pgqueuer.repair() (or pgq verify --repair) to restore the extension's objects; pgqueuer.repair(dry_run => true) lists the statements.  Objects the extension does not define are left alone.")));
	}
	if (drift_logged != NULL)
		pfree(drift_logged);
	drift_logged = MemoryContextStrdup(TopMemoryContext, all.data);
}

/*
 * check_schema
 *		Look for foreign objects and grants in schema pgqueuer, and (every
 *		DRIFT_CHECK_INTERVAL_MS at most) for objects of the extension
 *		changed behind its back, in a short
 *		transaction of its own; log what changed.  Returns false if the
 *		extension is not installed.  An error here is raised: the launcher
 *		restarts the worker with its back-off.
 */
static bool
check_schema(void)
{
	bool  present;
	bool  blocking = false;
	List *lines = NIL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "pgqueuer: checking schema pgqueuer");

	present = lock_extension();
	if (present)
	{
		bool		repairable;
		bool		intact;
		bool		check_drift;
		List	   *drift = NIL;
		TimestampTz now = GetCurrentTimestamp();

		check_drift = drift_checked_at == 0 ||
					  TimestampDifferenceExceeds(drift_checked_at, now, DRIFT_CHECK_INTERVAL_MS);
		pgq_connect();
		lines = pgq_schema_guard(TopTransactionContext, &blocking);
		if (check_drift)
			drift = pgq_catalog_drift(TopTransactionContext, &repairable, &intact);
		pgq_finish();
		log_guard(lines, blocking);
		if (check_drift)
		{
			log_drift(drift);
			drift_checked_at = now;
		}
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return present;
}

/*
 * run_pass
 *		Every duty that is not backing off, unless schema pgqueuer holds a
 *		foreign object.  Returns false if the extension is not installed.
 */
static bool
run_pass(MemoryContext pass_cxt)
{
	int64 rows[PGQ_NDUTIES] = {0};
	bool  any = false;

	if (!check_schema())
		return false;
	if (guard_blocked)
	{
		/* no deferred wake-ups either, until the next pass */
		next_deferred = DT_NOEND;
		pgq_slot_mark_healthy();
		return true;
	}

	for (int duty = 0; duty < PGQ_NDUTIES; duty++)
	{
		if (!run_duty_guarded(duty, pass_cxt, &rows[duty]))
			return false;
		if (rows[duty] != 0)
			any = true;
	}

	if (any)
		elog(DEBUG1, "pgqueuer worker: lease_expiry " INT64_FORMAT ", schedules " INT64_FORMAT ", deferred_wakeups " INT64_FORMAT ", statistics " INT64_FORMAT ", retention " INT64_FORMAT,
			 rows[0], rows[1], rows[2], rows[3], rows[4]);
	pgq_slot_mark_healthy();
	return true;
}

/*
 * sleep_until
 *		Wait on the latch until wake_at at most (rounded up to whole
 *		milliseconds, so that the worker does not wake just before a job is
 *		due).
 */
static void
sleep_until(TimestampTz wake_at)
{
	TimestampTz now = GetCurrentTimestamp();
	long		timeout_ms;

	if (wake_at <= now)
		return;
	timeout_ms = (long) Min((wake_at - now + 999) / 1000, (TimestampTz) INT_MAX);
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * worker_start
 *		Take the slot the launcher reserved (or exit when it is not ours any
 *		more), connect to the database and fix the settings the duties' SQL
 *		relies on.
 */
static void
worker_start(Oid dboid)
{
	PgqWorkerArgs args;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* not ours any more, database being dropped, or asked to stop */
	if (!pgq_slot_attach(args.slot, args.generation, dboid))
	{
		elog(DEBUG1, "pgqueuer worker: slot %d (generation %u) is not ours to run; exiting",
			 args.slot, args.generation);
		proc_exit(0);
	}

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("pgqueuer worker");

	/*
	 * What the duties' SQL relies on, whatever postgresql.conf says.  Schema
	 * pgqueuer is not on search_path: an operator or function planted there
	 * could otherwise win over pg_catalog's (the SQL is qualified anyway).
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off",
					PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * pgq_worker_main
 *		Entry point of a per-database worker.
 */
void
pgq_worker_main(Datum main_arg)
{
	Oid			  dboid = DatumGetObjectId(main_arg);
	MemoryContext pass_cxt;
	TimestampTz	  last_pass = 0;
	TimestampTz	  next_pass = 0; /* the first pass runs at once */
	bool		  present = true;

	worker_start(dboid);

	pass_cxt = AllocSetContextCreate(TopMemoryContext, "pgqueuer worker pass",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz now;
		TimestampTz deferred_at;
		bool		recheck;

		/* a cancel that arrived while sleeping has nothing to cancel */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			next_pass = TimestampTzPlusMilliseconds(last_pass, pgq_naptime_ms);
		}

		MemoryContextSwitchTo(pass_cxt);
		now = GetCurrentTimestamp();
		recheck = pgq_slot_take_deferred_recheck();
		if (now >= next_pass)
		{
			if (schema_ready(&present))
				present = run_pass(pass_cxt);
			else
			{
				next_deferred = DT_NOEND;
				/* alive and attached, waiting for the right schema */
				if (present)
					pgq_slot_mark_healthy();
			}
			last_pass = now;
			next_pass = TimestampTzPlusMilliseconds(now, pgq_naptime_ms);
		}
		else if ((recheck || now >= next_deferred) &&
				 schema_seen == PGQ_SCHEMA_CURRENT && !guard_blocked)
		{
			int64 rows = 0;

			present = run_duty_guarded(PGQ_DUTY_DEFERRED_WAKEUPS, pass_cxt, &rows);
		}
		if (!present)
		{
			elog(DEBUG1, "pgqueuer worker: extension \"pgqueuer\" is not installed in this database; exiting");
			pgq_slot_set_exit_reason(PGQ_EXIT_ABSENT);
			proc_exit(0);
		}
		MemoryContextReset(pass_cxt);

		/* a failing deferred duty waits for its back-off */
		deferred_at = next_deferred;
		if (duty_failures[PGQ_DUTY_DEFERRED_WAKEUPS] > 0)
			deferred_at = Max(deferred_at, duty_retry_at[PGQ_DUTY_DEFERRED_WAKEUPS]);
		sleep_until(Min(next_pass, deferred_at));
	}
}
