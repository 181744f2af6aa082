/*-------------------------------------------------------------------------
 *
 * pgqueuer.c
 *		Module entry point of the pgqueuer extension: _PG_init and the GUCs.
 *
 * IDENTIFICATION
 *		src/extension/pgqueuer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "pgqueuer.h"

PG_MODULE_MAGIC;

int			pgq_lease_timeout_s = 30;
int			pgq_max_attempts = 5;
int			pgq_log_retention_s = 7 * 24 * 3600;
int			pgq_stats_chunk = 10000;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the GUCs.  Loaded either by shared_preload_libraries or on the
 *		first call of one of the extension's functions; nothing here requires
 *		preloading.
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

	MarkGUCPrefixReserved("pgqueuer");
}
