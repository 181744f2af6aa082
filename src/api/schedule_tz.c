/*-------------------------------------------------------------------------
 *
 * schedule_tz.c
 *		Cron schedules in a time zone: the next fire instant of a schedule
 *		whose fields describe the wall clock of an IANA zone, with defined
 *		behaviour at daylight-saving changes.
 *
 * The cron arithmetic (src/cron) knows no zones: it finds the next
 * matching time on a calendar without gaps or repeats.  Here that calendar
 * is the zone's wall clock, written as seconds since 1970 "as if UTC" (an
 * instant t shows wall time W(t) = t + offset(t)), and the result is mapped
 * back to an instant with PostgreSQL's own tz database (pg_tzset,
 * pg_next_dst_boundary), as timestamptz AT TIME ZONE does.
 *
 * Daylight-saving changes, as in Vixie/ISC cron (pg_cron and Oban define
 * the same for fixed times):
 *
 *	- schedules at fixed hours (the hour field does not match every hour)
 *	  follow the wall clock and never fire twice for one wall time: a wall
 *	  time skipped by a spring-forward change fires once, at the first
 *	  instant after the gap (02:30 on a 02:00 -> 03:00 night fires at
 *	  03:00; several skipped times fire once together); a wall time that a
 *	  fall-back change repeats fires once, at its first occurrence;
 *	- schedules that match every hour ("* ", "*\/15" minutes of every hour)
 *	  follow real time: they fire at every instant whose wall time matches,
 *	  so the repeated hour fires in both passes and the skipped hour, which
 *	  no instant shows, fires nowhere; the interval between firings stays as
 *	  written.
 *
 * Both rules are computed from "after" alone (no state), so re-computing
 * after a late firing, or after a firing during a repeated hour, gives the
 * same answer.
 *
 * IDENTIFICATION
 *		src/api/schedule_tz.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgtime.h"
#include "utils/builtins.h"

#include "args.h"
#include "cron.h"
#include "schedule_tz.h"

/* all 24 bits of CronSchedule.hours */
#define ALL_HOURS ((uint32) 0xFFFFFF)

/* offsets never exceed this (UTC-12 .. UTC+14 and history): seconds */
#define MAX_OFFSET_S (16 * 3600)

/* segments between offset changes walked per call at most */
#define MAX_SEGMENTS 64

/*
 * A stretch of time with one UTC offset: [start, end) has offset "off";
 * from end on next_off applies (end is PG_INT64_MAX when no change
 * follows).
 */
typedef struct ZoneSpan
{
	long	  off;
	pg_time_t end;
	long	  next_off;
} ZoneSpan;

/*
 * zone_span
 *		The offset in effect at instant t and the next instant after t at
 *		which it changes (transitions that change only the abbreviation or
 *		the DST flag are skipped).
 */
static void
zone_span(const pg_tz *tz, pg_time_t t, ZoneSpan *span)
{
	pg_time_t probe = t;

	span->end = PG_INT64_MAX;
	for (int i = 0; i < MAX_SEGMENTS; i++)
	{
		long	  before = 0;
		long	  after = 0;
		int		  before_dst;
		int		  after_dst;
		pg_time_t boundary;
		int		  r = pg_next_dst_boundary(&probe, &before, &before_dst,
										   &boundary, &after, &after_dst, tz);

		if (i == 0)
			span->off = before;
		span->next_off = span->off;
		if (r != 1)
			return;
		if (after != span->off)
		{
			span->end = boundary;
			span->next_off = after;
			return;
		}
		probe = boundary;
	}
}

/*
 * max_wall_seen
 *		The latest wall time shown at or before instant t: W(t), or, while a
 *		fall-back change repeats wall times, the last wall time before that
 *		change.  Assumes at most one offset change within a day.
 */
static pg_time_t
max_wall_seen(const pg_tz *tz, pg_time_t t)
{
	ZoneSpan now;
	ZoneSpan earlier;

	zone_span(tz, t, &now);
	zone_span(tz, t - 24 * 3600, &earlier);
	if (earlier.end <= t && earlier.next_off < earlier.off)
		return Max(t + now.off, earlier.end - 1 + earlier.off);
	return t + now.off;
}

/*
 * first_instant_showing
 *		The first instant at or after "from" whose wall time is at least
 *		wall: inside a spring-forward gap, the end of the gap; inside a
 *		repeated hour, its first occurrence.  False if none is found within
 *		MAX_SEGMENTS offset changes.
 */
static bool
first_instant_showing(const pg_tz *tz, pg_time_t wall, pg_time_t from,
					  pg_time_t *result)
{
	pg_time_t lower = Max(from, wall - MAX_OFFSET_S);

	for (int i = 0; i < MAX_SEGMENTS; i++)
	{
		ZoneSpan  span;
		pg_time_t cand;

		zone_span(tz, lower, &span);
		cand = Max(wall - span.off, lower);
		if (cand < span.end)
		{
			*result = cand;
			return true;
		}
		lower = span.end;
	}
	return false;
}

/*
 * next_fixed_hours
 *		Wall-clock rule: the next wall time after the latest one already
 *		shown, at the first instant that shows it.
 */
static bool
next_fixed_hours(const CronSchedule *sched, const pg_tz *tz, pg_time_t after,
				 pg_time_t *next)
{
	int64_t wall;

	if (!cron_next(sched, max_wall_seen(tz, after), &wall))
		return false;
	return first_instant_showing(tz, wall, after + 1, next);
}

/*
 * next_every_hour
 *		Real-time rule: the first instant after "after" whose wall time
 *		matches, walking the stretches of constant offset.
 */
static bool
next_every_hour(const CronSchedule *sched, const pg_tz *tz, pg_time_t after,
				pg_time_t *next)
{
	pg_time_t start = after;

	for (int i = 0; i < MAX_SEGMENTS; i++)
	{
		ZoneSpan span;
		int64_t	 wall;

		zone_span(tz, start, &span);
		/* strictly after "after" in the first stretch, from its start later */
		if (!cron_next(sched, start + span.off - (i == 0 ? 0 : 1), &wall))
			return false;
		if (wall - span.off < span.end)
		{
			*next = wall - span.off;
			return true;
		}
		start = span.end;
	}
	return false;
}

/*
 * pgq_cron_next_in_zone
 *		The first fire instant of sched strictly after "after" (seconds
 *		since 1970), reading the schedule on the wall clock of tz.  Returns
 *		false when nothing matches within the cron search horizon.
 */
bool
pgq_cron_next_in_zone(const CronSchedule *sched, const pg_tz *tz,
					  int64 after, int64 *next)
{
	pg_time_t result;
	bool	  ok;

	if ((sched->hours & ALL_HOURS) == ALL_HOURS)
		ok = next_every_hour(sched, tz, (pg_time_t) after, &result);
	else
		ok = next_fixed_hours(sched, tz, (pg_time_t) after, &result);
	if (ok)
		*next = (int64) result;
	return ok;
}

/*
 * pgq_lookup_timezone
 *		The zone of an IANA name (or anything SET timezone accepts without
 *		leap seconds), or an error naming argname.  *canonical, if not NULL,
 *		receives the name as the tz database spells it.
 */
pg_tz *
pgq_lookup_timezone(const char *name, const char *argname,
					const char **canonical)
{
	pg_tz *tz = pg_tzset(name);

	if (tz == NULL || !pg_tz_acceptable(tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid time zone \"%s\" in argument \"%s\"", pgq_clip(name), argname),
				 errdetail("The time zone must be one PostgreSQL knows without leap seconds."),
				 errhint("Use an IANA name such as \"Europe/Oslo\" or \"America/New_York\", or \"UTC\"; pg_timezone_names lists them.")));
	if (canonical)
		*canonical = pg_get_timezone_name(tz);
	return tz;
}
