/*-------------------------------------------------------------------------
 *
 * worker_slots.c
 *		Shared memory of the background worker: worker slots, database
 *		blocks and CREATE EXTENSION nudges (see background.h).
 *
 * Everything is protected by one LWLock of the "pgqueuer" tranche.  The
 * memory exists only when the library is in shared_preload_libraries;
 * pgq_shared stays NULL otherwise and every caller checks it.
 *
 * Protocol: the launcher reserves a slot (REGISTERED) before registering a
 * worker and passes its index and generation in bgw_extra.  The worker
 * attaches (RUNNING) before it connects to its database, unless its
 * database is blocked or a stop was requested meanwhile; it marks the slot
 * EXITED from an on_shmem_exit callback, so also after an ERROR or FATAL.
 * A backend about to drop a database first blocks it, then terminates the
 * RUNNING worker there: since attaching and blocking happen under the same
 * lock, no worker can connect to a blocked database.
 *
 * IDENTIFICATION
 *		src/worker/worker_slots.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"

#include "background.h"

PgqShared *pgq_shared = NULL;
LWLock	  *pgq_shared_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this worker's slot, once attached */
static int my_slot = -1;

static Size
shmem_size(void)
{
	return add_size(offsetof(PgqShared, slots),
					mul_size(max_worker_processes, sizeof(PgqWorkerSlot)));
}

static void
pgq_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shmem_size());
	RequestNamedLWLockTranche(PGQ_SHMEM_NAME, 1);
}

static void
pgq_shmem_startup(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgq_shared = ShmemInitStruct(PGQ_SHMEM_NAME, shmem_size(), &found);
	if (!found)
	{
		memset(pgq_shared, 0, shmem_size());
		pgq_shared->nslots = max_worker_processes;
		pgq_shared->next_generation = 1;
	}
	pgq_shared_lock = &(GetNamedLWLockTranche(PGQ_SHMEM_NAME))->lock;
	LWLockRelease(AddinShmemInitLock);
}

/*
 * pgq_shmem_install_hooks
 *		Called from _PG_init while shared_preload_libraries is processed.
 */
void
pgq_shmem_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgq_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgq_shmem_startup;
}

/*
 * pgq_database_blocked_locked
 *		True if some backend is about to drop/rename/move/copy the database.
 *		Caller holds pgq_shared_lock.
 */
bool
pgq_database_blocked_locked(Oid dboid)
{
	for (int i = 0; i < PGQ_MAX_BLOCKS; i++)
		if (pgq_shared->blocks[i].dboid == dboid)
			return true;
	return false;
}

/*
 * pgq_block_epoch
 *		Launcher: the count of block releases so far.  Read it before
 *		scanning pg_database and pass it to pgq_slot_reserve: a release in
 *		between may have been the commit of a DROP DATABASE the scan missed.
 */
uint64
pgq_block_epoch(void)
{
	uint64 epoch;

	LWLockAcquire(pgq_shared_lock, LW_SHARED);
	epoch = pgq_shared->block_epoch;
	LWLockRelease(pgq_shared_lock);
	return epoch;
}

/*
 * pgq_slot_reserve
 *		Launcher: reserve a free slot for a worker of dboid.  Returns the slot
 *		index and its generation; -1 when the database is blocked or blocks
 *		were released since "epoch" (scan again first); -2 when no slot is
 *		free.
 */
int
pgq_slot_reserve(Oid dboid, uint64 epoch, uint32 *generation)
{
	int result = -1;

	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	if (!pgq_database_blocked_locked(dboid) &&
		pgq_shared->block_epoch == epoch)
	{
		result = -2;
		for (int i = 0; i < pgq_shared->nslots; i++)
		{
			PgqWorkerSlot *slot = &pgq_shared->slots[i];

			if (slot->state != PGQ_SLOT_FREE)
				continue;
			memset(slot, 0, sizeof(*slot));
			slot->state = PGQ_SLOT_REGISTERED;
			slot->dboid = dboid;
			slot->generation = pgq_shared->next_generation++;
			slot->reason = PGQ_EXIT_ERROR;
			slot->registered_at = GetCurrentTimestamp();
			*generation = slot->generation;
			result = i;
			break;
		}
	}
	LWLockRelease(pgq_shared_lock);
	return result;
}

/*
 * pgq_slot_free
 *		Launcher: give back a slot whose worker exited or never started.  A
 *		worker that starts late finds another generation and leaves.
 */
void
pgq_slot_free(int slot, uint32 generation)
{
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	if (pgq_shared->slots[slot].generation == generation)
	{
		pgq_shared->slots[slot].state = PGQ_SLOT_FREE;
		pgq_shared->slots[slot].generation = 0;
		pgq_shared->slots[slot].dboid = InvalidOid;
	}
	LWLockRelease(pgq_shared_lock);
}

/*
 * pgq_slot_request_stop
 *		Launcher: ask the worker of a slot to stop.  A running worker gets
 *		SIGTERM; one that has not attached yet leaves when it does.
 */
void
pgq_slot_request_stop(int slot, uint32 generation)
{
	pid_t pid = 0;

	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	if (pgq_shared->slots[slot].generation == generation)
	{
		pgq_shared->slots[slot].stop_requested = true;
		if (pgq_shared->slots[slot].state == PGQ_SLOT_RUNNING)
			pid = pgq_shared->slots[slot].pid;
	}
	LWLockRelease(pgq_shared_lock);
	if (pid != 0)
		kill(pid, SIGTERM);
}

/*
 * slot_detach
 *		on_shmem_exit callback of a worker: mark its slot exited.
 */
static void
slot_detach(int code, Datum arg)
{
	PgqWorkerSlot *slot;

	if (my_slot < 0)
		return;
	slot = &pgq_shared->slots[my_slot];
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	if (slot->pid == MyProcPid)
	{
		slot->state = PGQ_SLOT_EXITED;
		slot->pid = 0;
		slot->latch = NULL;
		if (slot->stop_requested && slot->reason == PGQ_EXIT_ERROR)
			slot->reason = PGQ_EXIT_STOPPED;
	}
	LWLockRelease(pgq_shared_lock);
	my_slot = -1;
}

/*
 * pgq_slot_attach
 *		Worker: take the slot the launcher reserved.  Returns false (the
 *		slot marked exited as stopped, when it is still ours) if the worker
 *		must not run: the database is blocked, a stop was requested, or the
 *		slot was given away meanwhile.
 */
bool
pgq_slot_attach(int slot, uint32 generation, Oid dboid)
{
	PgqWorkerSlot *s;
	bool		   ok = false;

	if (pgq_shared == NULL || slot < 0 || slot >= pgq_shared->nslots)
		return false;
	s = &pgq_shared->slots[slot];
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	if (s->generation == generation && s->dboid == dboid &&
		s->state == PGQ_SLOT_REGISTERED)
	{
		if (s->stop_requested || pgq_database_blocked_locked(dboid))
		{
			s->state = PGQ_SLOT_EXITED;
			s->reason = PGQ_EXIT_STOPPED;
		}
		else
		{
			s->state = PGQ_SLOT_RUNNING;
			s->pid = MyProcPid;
			s->latch = MyLatch;
			s->deferred_recheck = false;
			my_slot = slot;
			ok = true;
		}
	}
	LWLockRelease(pgq_shared_lock);
	if (ok)
		on_shmem_exit(slot_detach, (Datum) 0);
	return ok;
}

/*
 * pgq_slot_set_exit_reason
 *		Worker: record why it is about to exit.
 */
void
pgq_slot_set_exit_reason(PgqExitReason reason)
{
	if (my_slot < 0)
		return;
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	pgq_shared->slots[my_slot].reason = reason;
	LWLockRelease(pgq_shared_lock);
}

/*
 * pgq_slot_mark_healthy
 *		Worker: a pass succeeded (the extension is there); the launcher
 *		resets its back-off when such a worker fails later.
 */
void
pgq_slot_mark_healthy(void)
{
	if (my_slot < 0 || pgq_shared->slots[my_slot].healthy)
		return;
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	pgq_shared->slots[my_slot].healthy = true;
	LWLockRelease(pgq_shared_lock);
}

/*
 * pgq_slot_signal_deferred
 *		Backend, after commit: a deferred job exists in dboid; make its
 *		running worker re-read when the next one is due.
 */
void
pgq_slot_signal_deferred(Oid dboid)
{
	if (pgq_shared == NULL)
		return;
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	for (int i = 0; i < pgq_shared->nslots; i++)
	{
		PgqWorkerSlot *s = &pgq_shared->slots[i];

		if (s->state == PGQ_SLOT_RUNNING && s->dboid == dboid && s->latch)
		{
			s->deferred_recheck = true;
			SetLatch(s->latch);
		}
	}
	LWLockRelease(pgq_shared_lock);
}

/*
 * pgq_slot_take_deferred_recheck
 *		Worker: true if a backend signalled a deferred job since the last
 *		call; clears the flag.
 */
bool
pgq_slot_take_deferred_recheck(void)
{
	bool result;

	if (my_slot < 0)
		return false;
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	result = pgq_shared->slots[my_slot].deferred_recheck;
	pgq_shared->slots[my_slot].deferred_recheck = false;
	LWLockRelease(pgq_shared_lock);
	return result;
}

/*
 * pgq_block_database
 *		Backend: keep workers out of dboid until this transaction ends
 *		(pgq_release_blocks), and SIGTERM the one running there.  Waits for
 *		a free block entry if all are taken.
 */
void
pgq_block_database(Oid dboid)
{
	for (;;)
	{
		bool  blocked = false;
		pid_t pids[64];
		int	  npids = 0;

		LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
		for (int i = 0; i < PGQ_MAX_BLOCKS && !blocked; i++)
		{
			if (pgq_shared->blocks[i].dboid == InvalidOid)
			{
				pgq_shared->blocks[i].dboid = dboid;
				pgq_shared->blocks[i].owner = MyProcPid;
				blocked = true;
			}
		}
		if (blocked)
		{
			for (int i = 0; i < pgq_shared->nslots && npids < lengthof(pids); i++)
			{
				PgqWorkerSlot *s = &pgq_shared->slots[i];

				if (s->dboid != dboid || s->state == PGQ_SLOT_FREE ||
					s->state == PGQ_SLOT_EXITED)
					continue;
				s->stop_requested = true;
				if (s->state == PGQ_SLOT_RUNNING)
					pids[npids++] = s->pid;
			}
		}
		LWLockRelease(pgq_shared_lock);

		if (blocked)
		{
			for (int i = 0; i < npids; i++)
				kill(pids[i], SIGTERM);
			return;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * pgq_database_has_running_worker
 *		True while a worker is attached to dboid.
 */
bool
pgq_database_has_running_worker(Oid dboid)
{
	bool found = false;

	LWLockAcquire(pgq_shared_lock, LW_SHARED);
	for (int i = 0; i < pgq_shared->nslots && !found; i++)
		found = pgq_shared->slots[i].dboid == dboid &&
				pgq_shared->slots[i].state == PGQ_SLOT_RUNNING;
	LWLockRelease(pgq_shared_lock);
	return found;
}

/*
 * pgq_release_blocks
 *		Backend: drop every block this backend holds and let the launcher
 *		look again.  Called at the end of the transaction; takes no action
 *		that could fail.
 */
void
pgq_release_blocks(void)
{
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	for (int i = 0; i < PGQ_MAX_BLOCKS; i++)
		if (pgq_shared->blocks[i].owner == MyProcPid)
		{
			pgq_shared->blocks[i].dboid = InvalidOid;
			pgq_shared->blocks[i].owner = 0;
		}
	pgq_shared->block_epoch++;
	LWLockRelease(pgq_shared_lock);
	pgq_wake_launcher();
}

/*
 * pgq_clear_orphaned_blocks
 *		Launcher: drop blocks whose backend is gone (it cannot have left
 *		without ending its transaction, but be safe).
 */
void
pgq_clear_orphaned_blocks(void)
{
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	for (int i = 0; i < PGQ_MAX_BLOCKS; i++)
		if (pgq_shared->blocks[i].dboid != InvalidOid &&
			BackendPidGetProc(pgq_shared->blocks[i].owner) == NULL)
		{
			pgq_shared->blocks[i].dboid = InvalidOid;
			pgq_shared->blocks[i].owner = 0;
			pgq_shared->block_epoch++;
		}
	LWLockRelease(pgq_shared_lock);
}

/*
 * pgq_nudge
 *		Backend: CREATE EXTENSION committed in dboid; wake the launcher.
 */
void
pgq_nudge(Oid dboid)
{
	bool known = false;

	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	for (int i = 0; i < pgq_shared->nnudges && !known; i++)
		known = pgq_shared->nudges[i] == dboid;
	if (!known)
	{
		if (pgq_shared->nnudges < PGQ_MAX_NUDGES)
			pgq_shared->nudges[pgq_shared->nnudges++] = dboid;
		else
			pgq_shared->nudge_all = true;
	}
	LWLockRelease(pgq_shared_lock);
	pgq_wake_launcher();
}

/*
 * pgq_take_nudges
 *		Launcher: fetch and clear the pending nudges.  dboids must hold
 *		PGQ_MAX_NUDGES entries; *all says that some were lost.
 */
int
pgq_take_nudges(Oid *dboids, bool *all)
{
	int n;

	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	n = pgq_shared->nnudges;
	memcpy(dboids, pgq_shared->nudges, sizeof(Oid) * n);
	*all = pgq_shared->nudge_all;
	pgq_shared->nnudges = 0;
	pgq_shared->nudge_all = false;
	LWLockRelease(pgq_shared_lock);
	return n;
}

static void
launcher_detach(int code, Datum arg)
{
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	if (pgq_shared->launcher_pid == MyProcPid)
	{
		pgq_shared->launcher_pid = 0;
		pgq_shared->launcher_latch = NULL;
	}
	LWLockRelease(pgq_shared_lock);
}

/*
 * pgq_launcher_attach
 *		Launcher: publish its latch so backends can wake it.
 */
void
pgq_launcher_attach(void)
{
	LWLockAcquire(pgq_shared_lock, LW_EXCLUSIVE);
	pgq_shared->launcher_pid = MyProcPid;
	pgq_shared->launcher_latch = MyLatch;
	LWLockRelease(pgq_shared_lock);
	on_shmem_exit(launcher_detach, (Datum) 0);
}

/*
 * pgq_wake_launcher
 *		Set the launcher's latch, if there is a launcher.
 */
void
pgq_wake_launcher(void)
{
	Latch *latch;

	LWLockAcquire(pgq_shared_lock, LW_SHARED);
	latch = pgq_shared->launcher_latch;
	if (latch != NULL)
		SetLatch(latch);
	LWLockRelease(pgq_shared_lock);
}
