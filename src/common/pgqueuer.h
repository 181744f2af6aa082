/*-------------------------------------------------------------------------
 *
 * pgqueuer.h
 *		Transitional umbrella: includes every per-concern header of the
 *		extension.
 *
 * Each C file includes the headers of the concerns it uses (spi_util.h,
 * notify.h, args.h, guc.h, ...).  Only the files being rewritten
 * (src/api/dequeue.c, complete.c, enqueue.c, statistics.c, maintenance.c)
 * still include this one; delete it once they include what they use.
 *
 * IDENTIFICATION
 *		src/common/pgqueuer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_H
#define PGQUEUER_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "args.h"
#include "catalog_drift.h"
#include "cron.h"
#include "deferred_wakeup.h"
#include "durability.h"
#include "guc.h"
#include "history.h"
#include "leases.h"
#include "maintenance.h"
#include "notify.h"
#include "plan_shape.h"
#include "report_once.h"
#include "schedule_tz.h"
#include "schedules.h"
#include "schema_guard.h"
#include "schema_version.h"
#include "spi_util.h"
#include "statistics.h"
#include "wait_signal.h"

#endif /* PGQUEUER_H */
