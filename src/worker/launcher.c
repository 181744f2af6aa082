/*-------------------------------------------------------------------------
 *
 * launcher.c
 *		The pgqueuer launcher: keeps one worker per served database.
 *
 * A static background worker connected to no database (it reads only the
 * shared catalog pg_database).  On every wake-up (pgqueuer.naptime, a
 * worker starting or stopping, a nudge from CREATE EXTENSION, the end of a
 * database DDL) it
 *
 *	1. scans pg_database: a database is served when it allows connections,
 *	   is no template and is listed in pgqueuer.databases (empty: all);
 *	2. reaps workers that exited and decides when to start them again:
 *	   extension absent -> probe again after ABSENT_RECHECK_MS or at once
 *	   on a CREATE EXTENSION nudge; stopped on request -> at once; error or
 *	   terminated -> exponential back-off from 1 s to 60 s;
 *	3. stops workers no longer wanted (pgqueuer.enabled = off, database
 *	   dropped or no longer listed);
 *	4. starts missing workers (BGW_NEVER_RESTART dynamic workers; the
 *	   launcher is their restart policy), at most MAX_PROBES at once for
 *	   databases where the extension was not seen yet.
 *
 * A worker only connects to its database to find out whether the extension
 * is installed there (the launcher cannot look into other databases); it
 * exits quietly when it is not.  The launcher's state is in its own memory;
 * after a launcher restart it adopts the workers still in the shared slots.
 *
 * IDENTIFICATION
 *		src/worker/launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "background.h"
#include "guc.h"

/* seconds before the postmaster restarts a failed launcher */
#define LAUNCHER_RESTART_S 5

/* back-off of a failing worker: 1 s, 2 s, 4 s ... 60 s */
#define RESTART_BACKOFF_MIN_MS 1000
#define RESTART_BACKOFF_MAX_MS 60000

/* a database without the extension is probed again after this */
#define ABSENT_RECHECK_MS 60000

/* an adopted slot that no worker took within this long is freed */
#define ORPHAN_SLOT_MS 60000

/* probing workers (extension not seen yet) running at once */
#define MAX_PROBES 2

typedef struct DbEntry
{
	Oid						dboid; /* hash key */
	char					name[NAMEDATALEN];
	bool					seen;	 /* in the last scan of pg_database */
	bool					wanted;	 /* passes the filters */
	bool					present; /* a worker found the extension there */
	int						slot;	 /* -1: no worker */
	uint32					generation;
	BackgroundWorkerHandle *handle;	  /* NULL for adopted workers */
	bool					stopping; /* we asked the worker to stop */
	bool					warned;	  /* "could not start" already logged */
	int						failures; /* consecutive failed runs */
	TimestampTz				started_at;
	TimestampTz				next_start; /* do not start before; 0: at once */
	TimestampTz				nudged_at;
} DbEntry;

static HTAB			*databases = NULL;
static MemoryContext launcher_cxt = NULL;

/*
 * pgq_register_launcher
 *		Register the launcher; called from _PG_init when preloaded.
 */
void
pgq_register_launcher(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = LAUNCHER_RESTART_S;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "pgqueuer");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "pgq_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "pgqueuer launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "pgqueuer launcher");
	RegisterBackgroundWorker(&bgw);
}

/*
 * database_listed
 *		True if pgqueuer.databases is empty or names the database.
 */
static bool
database_listed(const char *name)
{
	char	 *raw;
	List	 *names;
	ListCell *lc;
	bool	  listed = false;

	if (pgq_databases == NULL || pgq_databases[0] == '\0')
		return true;
	raw = pstrdup(pgq_databases);
	if (!SplitGUCList(raw, ',', &names))
		return false; /* the check hook refuses such values */
	foreach (lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			listed = true;
	return listed;
}

/*
 * scan_databases
 *		Refresh the entries from pg_database (autovacuum's
 *		get_database_list pattern: catalog scan in a short transaction).
 */
static void
scan_databases(void)
{
	MemoryContext	cxt = CurrentMemoryContext;
	HASH_SEQ_STATUS seq;
	DbEntry		   *e;
	Relation		rel;
	TableScanDesc	scan;
	HeapTuple		tup;

	hash_seq_init(&seq, databases);
	while ((e = hash_seq_search(&seq)) != NULL)
		e->seen = false;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		bool			 found;
		MemoryContext	 old = MemoryContextSwitchTo(cxt);

		e = hash_search(databases, &db->oid, HASH_ENTER, &found);
		if (!found)
		{
			memset(((char *) e) + sizeof(Oid), 0, sizeof(DbEntry) - sizeof(Oid));
			e->slot = -1;
		}
		e->seen = true;
		strlcpy(e->name, NameStr(db->datname), NAMEDATALEN);
		e->wanted = db->datallowconn && !db->datistemplate &&
#ifdef DATCONNLIMIT_INVALID_DB
					db->datconnlimit != DATCONNLIMIT_INVALID_DB &&
#endif
					database_listed(e->name);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

/*
 * new_entry
 *		The entry of dboid, created unseen if there is none.
 */
static DbEntry *
new_entry(Oid dboid)
{
	bool	 found;
	DbEntry *e = hash_search(databases, &dboid, HASH_ENTER, &found);

	if (!found)
	{
		memset(((char *) e) + sizeof(Oid), 0, sizeof(DbEntry) - sizeof(Oid));
		e->slot = -1;
		snprintf(e->name, NAMEDATALEN, "%u", dboid);
	}
	return e;
}

/*
 * adopt_workers
 *		After a launcher restart: take over the workers still in the slots.
 */
static void
adopt_workers(void)
{
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	for (int i = 0; i < pgq_shared->nslots; i++)
	{
		PgqWorkerSlot *s = &pgq_shared->slots[i];
		DbEntry		  *e;

		if (s->state == PGQ_SLOT_EXITED)
			s->state = PGQ_SLOT_FREE;
		if (s->state == PGQ_SLOT_FREE)
			continue;
		e = new_entry(s->dboid);
		if (e->slot >= 0)
		{
			/* two workers for one database: should not happen; stop one */
			s->stop_requested = true;
			if (s->pid != 0)
				kill(s->pid, SIGTERM);
			continue;
		}
		e->slot = i;
		e->generation = s->generation;
		e->handle = NULL;
		e->present = s->healthy;
		e->started_at = s->registered_at;
	}
	LWLockRelease(pgq_shared_lock);
}

/*
 * backoff_ms
 *		Delay before the next start after "failures" failed runs.
 */
static long
backoff_ms(int failures)
{
	long ms = RESTART_BACKOFF_MIN_MS;

	for (int i = 1; i < failures && ms < RESTART_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return Min(ms, RESTART_BACKOFF_MAX_MS);
}

/*
 * reap_worker
 *		If the worker of e has gone, free its slot and schedule the next
 *		start according to why it left.
 */
static void
reap_worker(DbEntry *e, TimestampTz now)
{
	BgwHandleStatus status = BGWH_STARTED;
	PgqWorkerSlot	s;
	bool			gone = false;
	pid_t			pid;

	/* the handle first: once it says stopped, the slot is final */
	if (e->handle != NULL)
		status = GetBackgroundWorkerPid(e->handle, &pid);

	LWLockAcquire(pgq_shared_lock, LW_SHARED);
	s = pgq_shared->slots[e->slot];
	LWLockRelease(pgq_shared_lock);

	if (s.generation != e->generation)
	{
		gone = true;
		s.reason = PGQ_EXIT_ERROR;
		s.healthy = false;
	}
	else if (s.state == PGQ_SLOT_EXITED)
		gone = true;
	else if (s.state == PGQ_SLOT_REGISTERED)
	{
		/* never attached: failed to start, or died first */
		if ((e->handle != NULL && status != BGWH_STARTED &&
			 status != BGWH_NOT_YET_STARTED) ||
			(e->handle == NULL &&
			 TimestampDifferenceExceeds(s.registered_at, now, ORPHAN_SLOT_MS)))
		{
			gone = true;
			if (s.stop_requested)
				s.reason = PGQ_EXIT_STOPPED;
		}
	}
	if (s.healthy)
		e->present = true;
	if (!gone)
		return;

	pgq_slot_free(e->slot, e->generation);
	e->slot = -1;
	if (e->handle != NULL)
		pfree(e->handle);
	e->handle = NULL;

	if (e->stopping || s.reason == PGQ_EXIT_STOPPED)
	{
		e->failures = 0;
		e->next_start = 0;
	}
	else if (s.reason == PGQ_EXIT_ABSENT)
	{
		e->present = false;
		e->failures = 0;
		e->next_start = e->nudged_at >= e->started_at ? 0 :
														TimestampTzPlusMilliseconds(now, ABSENT_RECHECK_MS);
	}
	else
	{
		e->failures = s.healthy ? 1 : e->failures + 1;
		e->next_start = TimestampTzPlusMilliseconds(now, backoff_ms(e->failures));
		elog(DEBUG1, "pgqueuer launcher: worker for database \"%s\" failed; restart in %ld ms",
			 e->name, backoff_ms(e->failures));
	}
	e->stopping = false;
}

/*
 * start_worker
 *		Register the worker of e.  Returns true if it was registered.
 */
static bool
start_worker(DbEntry *e, uint64 epoch, TimestampTz now)
{
	BackgroundWorker bgw;
	PgqWorkerArgs	 args;
	MemoryContext	 old;
	bool			 ok;

	args.slot = pgq_slot_reserve(e->dboid, epoch, &args.generation);
	if (args.slot == -1)
		return false; /* blocked, or scan again first */

	if (args.slot >= 0)
	{
		memset(&bgw, 0, sizeof(bgw));
		bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
		bgw.bgw_restart_time = BGW_NEVER_RESTART;
		snprintf(bgw.bgw_library_name, BGW_MAXLEN, "pgqueuer");
		snprintf(bgw.bgw_function_name, BGW_MAXLEN, "pgq_worker_main");
		snprintf(bgw.bgw_name, BGW_MAXLEN, "pgqueuer worker for database %s", e->name);
		snprintf(bgw.bgw_type, BGW_MAXLEN, "pgqueuer worker");
		bgw.bgw_main_arg = ObjectIdGetDatum(e->dboid);
		memcpy(bgw.bgw_extra, &args, sizeof(args));
		bgw.bgw_notify_pid = MyProcPid;

		old = MemoryContextSwitchTo(launcher_cxt);
		ok = RegisterDynamicBackgroundWorker(&bgw, &e->handle);
		MemoryContextSwitchTo(old);
		if (ok)
		{
			e->slot = args.slot;
			e->generation = args.generation;
			e->started_at = now;
			e->stopping = false;
			e->warned = false;
			return true;
		}
		pgq_slot_free(args.slot, args.generation);
		e->handle = NULL;
	}

	if (!e->warned)
		ereport(WARNING,
				(errmsg("pgqueuer launcher: could not start a worker for database \"%s\"",
						e->name),
				 errhint("Raise max_worker_processes.")));
	e->warned = true;
	e->failures++;
	e->next_start = TimestampTzPlusMilliseconds(now, backoff_ms(e->failures));
	return false;
}

/*
 * launcher_pass
 *		One round of scan, reap, stop and start.  Returns how long to sleep.
 */
static long
launcher_pass(void)
{
	HASH_SEQ_STATUS seq;
	DbEntry		   *e;
	Oid				nudges[PGQ_MAX_NUDGES];
	bool			nudge_all;
	int				nnudges;
	int				probes = 0;
	uint64			epoch;
	TimestampTz		now;
	long			sleep_ms = pgq_naptime_ms;

	pgq_clear_orphaned_blocks();
	epoch = pgq_block_epoch();
	scan_databases();
	now = GetCurrentTimestamp();

	nnudges = pgq_take_nudges(nudges, &nudge_all);
	hash_seq_init(&seq, databases);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		bool nudged = nudge_all;

		for (int i = 0; i < nnudges && !nudged; i++)
			nudged = nudges[i] == e->dboid;
		if (nudged)
		{
			e->nudged_at = now;
			if (e->slot < 0 && !e->present)
				e->next_start = 0;
		}

		if (e->slot >= 0)
			reap_worker(e, now);

		if (e->slot >= 0 && !e->stopping &&
			(!pgq_enabled || !e->seen || !e->wanted))
		{
			pgq_slot_request_stop(e->slot, e->generation);
			e->stopping = true;
		}
		if (e->slot >= 0 && !e->present)
			probes++;
	}

	hash_seq_init(&seq, databases);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (!e->seen && e->slot < 0)
		{
			hash_search(databases, &e->dboid, HASH_REMOVE, NULL);
			continue;
		}
		if (!pgq_enabled || !e->seen || !e->wanted || e->slot >= 0)
			continue;
		if (e->next_start > now)
		{
			long wait_ms = (long) ((e->next_start - now + 999) / 1000);

			sleep_ms = Min(sleep_ms, wait_ms);
			continue;
		}
		if (!e->present && probes >= MAX_PROBES)
			continue;
		if (start_worker(e, epoch, now) && !e->present)
			probes++;
	}
	return Max(sleep_ms, 1L);
}

/*
 * pgq_launcher_main
 *		Entry point of the launcher.
 */
void
pgq_launcher_main(Datum main_arg)
{
	HASHCTL		  ctl;
	MemoryContext pass_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("pgqueuer launcher");
	pgq_launcher_attach();

	launcher_cxt = AllocSetContextCreate(TopMemoryContext, "pgqueuer launcher",
										 ALLOCSET_DEFAULT_SIZES);
	pass_cxt = AllocSetContextCreate(launcher_cxt, "pgqueuer launcher pass",
									 ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(DbEntry);
	ctl.hcxt = launcher_cxt;
	databases = hash_create("pgqueuer databases", 16, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	MemoryContextSwitchTo(pass_cxt);
	scan_databases();
	adopt_workers();

	for (;;)
	{
		long sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(pass_cxt);
		sleep_ms = launcher_pass();
		MemoryContextReset(pass_cxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
