/*-------------------------------------------------------------------------
 *
 * schedule_tz.h
 *		Cron schedules on the wall clock of a time zone (schedule_tz.c).
 *
 * IDENTIFICATION
 *		src/api/schedule_tz.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SCHEDULE_TZ_H
#define PGQ_SCHEDULE_TZ_H

#include "pgtime.h"

#include "cron.h"

extern bool	  pgq_cron_next_in_zone(const CronSchedule *sched, const pg_tz *tz,
									int64 after, int64 *next);
extern pg_tz *pgq_lookup_timezone(const char *name, const char *argname,
								  const char **canonical);

#endif /* PGQ_SCHEDULE_TZ_H */
