/*-------------------------------------------------------------------------
 *
 * catalog_drift.h
 *		The extension's objects compared with their definitions (catalog_drift.c).
 *
 * IDENTIFICATION
 *		src/common/catalog_drift.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_CATALOG_DRIFT_H
#define PGQ_CATALOG_DRIFT_H

#include "nodes/pg_list.h"
#include "utils/palloc.h"

extern List *pgq_catalog_drift(MemoryContext resultcxt, bool *repairable,
							   bool *tables_intact);

/* the hint of every drift report */
#define PGQ_REPAIR_HINT \
	"run SELECT * FROM pgqueuer.repair() (or pgq verify --repair) to restore the extension's definitions; pgqueuer.repair(dry_run => true) lists the statements"

#endif /* PGQ_CATALOG_DRIFT_H */
