/*-------------------------------------------------------------------------
 *
 * schedules.h
 *		Cron schedules: firing and next times (schedules.c).
 *
 * IDENTIFICATION
 *		src/api/schedules.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SCHEDULES_H
#define PGQ_SCHEDULES_H

#include "pgtime.h"
#include "utils/timestamp.h"

extern int64	   pgq_fire_schedules(void);
extern TimestampTz pgq_cron_next_or_error(const char *expression,
										  TimestampTz after, const pg_tz *tz);

#endif /* PGQ_SCHEDULES_H */
