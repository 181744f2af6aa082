/*-------------------------------------------------------------------------
 *
 * background.h
 *		The background worker: launcher, per-database workers, the shared
 *		memory they coordinate through, and the utility hook that stops a
 *		database's worker before DROP/RENAME of that database.
 *
 * Processes (only with pgqueuer in shared_preload_libraries):
 *
 *	launcher	(launcher.c) one static bgworker connected to no database.
 *				Every pgqueuer.naptime it scans pg_database and keeps one
 *				dynamic worker per served database; restarts a failed
 *				worker with a back-off; stops workers that are no longer
 *				wanted (pgqueuer.enabled, pgqueuer.databases).
 *	worker		(worker.c) one per database, BGW_NEVER_RESTART (the launcher
 *				restarts it).  Runs the maintenance duties on its latch; exits
 *				quietly when the extension is absent or dropped.
 *
 * Shared state (worker_slots.c), under one LWLock:
 *
 *	slots		one per possible worker: the launcher reserves a slot before
 *				registering a worker, the worker attaches to it at start and
 *				marks it exited (with the reason) when it leaves.
 *	blocks		databases a backend is about to drop, rename, move or copy:
 *				no worker may start there until that transaction ends.
 *	nudges		databases where CREATE EXTENSION just committed: the launcher
 *				probes them at once instead of at the next slow re-check.
 *
 * IDENTIFICATION
 *		src/worker/background.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_BACKGROUND_H
#define PGQUEUER_BACKGROUND_H

#include "postgres.h"

#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* the name of the LWLock tranche and of the shared memory struct */
#define PGQ_SHMEM_NAME "pgqueuer"

/* concurrent DROP/ALTER/CREATE DATABASE statements we can track */
#define PGQ_MAX_BLOCKS 32

/* pending CREATE EXTENSION nudges; more make the launcher re-probe all */
#define PGQ_MAX_NUDGES 32

typedef enum PgqSlotState
{
	PGQ_SLOT_FREE = 0,
	PGQ_SLOT_REGISTERED, /* reserved by the launcher, not yet started */
	PGQ_SLOT_RUNNING,	 /* the worker attached (pid set) */
	PGQ_SLOT_EXITED		 /* the worker left; reason says why */
} PgqSlotState;

typedef enum PgqExitReason
{
	PGQ_EXIT_ERROR = 0, /* error, FATAL, terminated: restart with back-off */
	PGQ_EXIT_ABSENT,	/* the extension is not installed there */
	PGQ_EXIT_STOPPED	/* asked to stop (launcher or database DDL) */
} PgqExitReason;

typedef struct PgqWorkerSlot
{
	PgqSlotState  state;
	Oid			  dboid;
	uint32		  generation;		/* tells a reused slot from the old one */
	pid_t		  pid;				/* while RUNNING */
	Latch		 *latch;			/* while RUNNING */
	bool		  deferred_recheck; /* a commit made a deferred job */
	bool		  stop_requested;
	bool		  healthy; /* completed at least one maintenance pass */
	PgqExitReason reason;  /* once EXITED */
	TimestampTz	  registered_at;
} PgqWorkerSlot;

typedef struct PgqDatabaseBlock
{
	Oid	  dboid; /* InvalidOid: unused */
	pid_t owner; /* backend running the DDL */
} PgqDatabaseBlock;

typedef struct PgqShared
{
	pid_t			 launcher_pid;
	Latch			*launcher_latch;
	uint32			 next_generation;
	uint64			 block_epoch; /* bumped whenever blocks are released */
	int				 nnudges;
	bool			 nudge_all;
	Oid				 nudges[PGQ_MAX_NUDGES];
	PgqDatabaseBlock blocks[PGQ_MAX_BLOCKS];
	int				 nslots;
	PgqWorkerSlot	 slots[FLEXIBLE_ARRAY_MEMBER];
} PgqShared;

/* passed to a worker in bgw_extra */
typedef struct PgqWorkerArgs
{
	int	   slot;
	uint32 generation;
} PgqWorkerArgs;

/* worker_slots.c */
extern PgqShared *pgq_shared; /* NULL unless preloaded */
extern LWLock	 *pgq_shared_lock;
extern void		  pgq_shmem_install_hooks(void);
extern bool		  pgq_database_blocked_locked(Oid dboid);
extern uint64	  pgq_block_epoch(void);
extern int		  pgq_slot_reserve(Oid dboid, uint64 epoch, uint32 *generation);
extern void		  pgq_slot_free(int slot, uint32 generation);
extern void		  pgq_slot_request_stop(int slot, uint32 generation);
extern bool		  pgq_slot_attach(int slot, uint32 generation, Oid dboid);
extern void		  pgq_slot_set_exit_reason(PgqExitReason reason);
extern void		  pgq_slot_mark_healthy(void);
extern void		  pgq_slot_signal_deferred(Oid dboid);
extern bool		  pgq_slot_take_deferred_recheck(void);
extern void		  pgq_block_database(Oid dboid);
extern bool		  pgq_database_has_running_worker(Oid dboid);
extern void		  pgq_release_blocks(void);
extern void		  pgq_clear_orphaned_blocks(void);
extern void		  pgq_nudge(Oid dboid);
extern int		  pgq_take_nudges(Oid *dboids, bool *all);
extern void		  pgq_launcher_attach(void);
extern void		  pgq_wake_launcher(void);

/* database_guard.c */
extern void pgq_install_utility_hook(void);

/* launcher.c */
extern void				pgq_register_launcher(void);
extern PGDLLEXPORT void pgq_launcher_main(Datum main_arg);

/* worker.c */
extern PGDLLEXPORT void pgq_worker_main(Datum main_arg);

#endif /* PGQUEUER_BACKGROUND_H */
