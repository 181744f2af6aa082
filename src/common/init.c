/*-------------------------------------------------------------------------
 *
 * init.c
 *		Module entry point of the pgqueuer extension: _PG_init.
 *
 * The GUCs themselves live in guc.c; this file only decides what a load
 * of the library sets up.
 *
 * IDENTIFICATION
 *		src/common/init.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "background.h"
#include "guc.h"
#include "plan_shape.h"
#include "wait_signal.h"

PG_MODULE_MAGIC;

void _PG_init(void);

/*
 * _PG_init
 *		Define the GUCs (guc.c) and install the planner hook of the queue's
 *		statements (plan_shape.c).  Loaded either by shared_preload_libraries
 *		or on the first call of one of the extension's functions; the SQL
 *		functions do not require preloading.  When preloaded (and not in a
 *		binary upgrade), also set up the shared memory that wakes wait_for()
 *		and the background worker: shared memory, the utility hook that stops
 *		a database's worker before DROP DATABASE and friends, and the
 *		launcher.
 */
void
_PG_init(void)
{
	pgq_define_gucs();

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
