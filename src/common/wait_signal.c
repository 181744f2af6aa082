/*-------------------------------------------------------------------------
 *
 * wait_signal.c
 *		How backends sleeping in pgqueuer.wait_for() learn that jobs reached
 *		an outcome: a condition variable in shared memory, broadcast when a
 *		transaction that ended jobs commits.
 *
 * A backend cannot receive its own LISTEN notifications while a function
 * runs, so wait_for() cannot sleep on ch_pgqueuer.  Instead:
 *
 *	- a transaction that deletes rows of the queue table (every final
 *	  outcome: successful, exception, canceled, deleted), or holds a job as
 *	  failed, calls pgq_wait_signal_outcome() (the statement trigger of the
 *	  queue table does it for every writer, our functions and PgQueuer's
 *	  raw SQL alike; complete() and lease expiry also do it for holds);
 *	- at commit (XACT_EVENT_COMMIT, which runs after the transaction became
 *	  visible to new snapshots) the backend bumps a generation counter and
 *	  broadcasts the condition variable, but only while somebody waits, so
 *	  the queue's hot path pays one atomic read per committing transaction;
 *	- a waiter prepares to sleep on the variable before it re-reads the
 *	  jobs, so a commit between its check and its sleep is never lost.
 *
 * The variable is shared by all databases: a commit wakes every waiter,
 * each re-reads its own jobs with one indexed statement.
 *
 * The shared memory exists only with pgqueuer in shared_preload_libraries.
 * Without it pgq_wait_shared stays NULL and wait_for() falls back to a
 * bounded sleep on its own latch, re-reading every PGQ_WAIT_POLL_MS (see
 * src/api/wait.c).
 *
 * IDENTIFICATION
 *		src/common/wait_signal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "wait_signal.h"

/* the name of the shared memory struct */
#define PGQ_WAIT_SHMEM_NAME "pgqueuer wait_for"

typedef struct PgqWaitShared
{
	pg_atomic_uint32  nwaiters;	  /* backends inside wait_for() */
	pg_atomic_uint64  generation; /* bumped by every signalling commit */
	ConditionVariable cv;		  /* broadcast by every signalling commit */
} PgqWaitShared;

static PgqWaitShared *pgq_wait_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this transaction ended or held jobs */
static bool outcome_pending = false;
static bool callback_registered = false;

static void
wait_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgqWaitShared)));
}

static void
wait_shmem_startup(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgq_wait_shared = ShmemInitStruct(PGQ_WAIT_SHMEM_NAME,
									  sizeof(PgqWaitShared), &found);
	if (!found)
	{
		pg_atomic_init_u32(&pgq_wait_shared->nwaiters, 0);
		pg_atomic_init_u64(&pgq_wait_shared->generation, 0);
		ConditionVariableInit(&pgq_wait_shared->cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * pgq_wait_install_hooks
 *		Called from _PG_init while shared_preload_libraries is processed.
 */
void
pgq_wait_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = wait_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = wait_shmem_startup;
}

/*
 * wait_xact_callback
 *		At commit, wake the waiters if this transaction ended jobs; forget
 *		it at abort.
 */
static void
wait_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (!outcome_pending)
				break;
			/* our commit is visible: now a waiter either sees it or is counted */
			pg_memory_barrier();
			if (pg_atomic_read_u32(&pgq_wait_shared->nwaiters) > 0)
			{
				pg_atomic_fetch_add_u64(&pgq_wait_shared->generation, 1);
				ConditionVariableBroadcast(&pgq_wait_shared->cv);
			}
			outcome_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction commits elsewhere: waiters see it on
			 * their next wake-up or at their timeout */
			outcome_pending = false;
			break;
		default:
			break;
	}
}

/*
 * pgq_wait_signal_outcome
 *		The current transaction ended or held jobs: wake the waiters when it
 *		commits.  Cheap to call once per statement.
 */
void
pgq_wait_signal_outcome(void)
{
	if (pgq_wait_shared == NULL || outcome_pending)
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(wait_xact_callback, NULL);
		callback_registered = true;
	}
	outcome_pending = true;
}

/*
 * pgq_wait_available
 *		True when commits wake waiters (the library was preloaded).
 */
bool
pgq_wait_available(void)
{
	return pgq_wait_shared != NULL;
}

/* this backend is counted in nwaiters */
static bool counted = false;
static bool exit_callback_registered = false;

/*
 * wait_exit_callback
 *		A backend that exits while waiting (FATAL, terminate) skips
 *		pgq_wait_end(): uncount it here.
 */
static void
wait_exit_callback(int code, Datum arg)
{
	if (counted)
	{
		pg_atomic_fetch_sub_u32(&pgq_wait_shared->nwaiters, 1);
		counted = false;
	}
}

/*
 * pgq_wait_begin / pgq_wait_end
 *		Register this backend as a waiter, so that commits broadcast; every
 *		pgq_wait_begin() needs a pgq_wait_end(), also on error (an exit is
 *		covered by wait_exit_callback).
 */
void
pgq_wait_begin(void)
{
	if (!exit_callback_registered)
	{
		before_shmem_exit(wait_exit_callback, (Datum) 0);
		exit_callback_registered = true;
	}
	pg_atomic_fetch_add_u32(&pgq_wait_shared->nwaiters, 1);
	counted = true;
}

void
pgq_wait_end(void)
{
	ConditionVariableCancelSleep();
	if (counted)
	{
		pg_atomic_fetch_sub_u32(&pgq_wait_shared->nwaiters, 1);
		counted = false;
	}
}

/*
 * pgq_wait_prepare
 *		Call before re-reading the jobs: a commit from now on ends the next
 *		pgq_wait_sleep() at once.
 */
void
pgq_wait_prepare(void)
{
	ConditionVariablePrepareToSleep(&pgq_wait_shared->cv);
}

/*
 * pgq_wait_sleep
 *		Sleep until a signalling commit (since pgq_wait_prepare) or for
 *		timeout_ms.  Interrupts (cancel, terminate) are served while asleep.
 */
void
pgq_wait_sleep(long timeout_ms)
{
	(void) ConditionVariableTimedSleep(&pgq_wait_shared->cv, timeout_ms,
									   PG_WAIT_EXTENSION);
}
