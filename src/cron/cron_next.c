/*-------------------------------------------------------------------------
 *
 * cron_next.c
 *	  Computation of the next fire time of a parsed cron schedule.
 *
 * Times are seconds since the Unix epoch, interpreted in UTC on the
 * proleptic Gregorian calendar without leap seconds.  The search keeps a
 * broken-down date/time cursor and advances it field by field: a month
 * that does not match is skipped as a whole, a day that does not match is
 * skipped as a whole, and within a matching day the next matching hour,
 * minute and second are found directly from the bit sets.  Hence a call
 * costs at most a few thousand cheap steps (when it scans day by day up to
 * the search limit), usually only a handful.
 *
 * No PostgreSQL headers are used here; see cron.h.
 *
 * IDENTIFICATION
 *	  src/cron/cron_next.c
 *
 *-------------------------------------------------------------------------
 */
#include "cron.h"

#define CRON_SECS_PER_DAY INT64_C(86400)

/* accepted range of the "after" argument, keeps all arithmetic in range */
#define CRON_TIME_LIMIT (INT64_C(1) << 60)

/* broken-down UTC time used as the search cursor */
typedef struct CronCursor
{
	int64_t year;
	int		month;	/* 1-12 */
	int		day;	/* 1-31 */
	int		hour;	/* 0-23, may temporarily be 24 */
	int		minute; /* 0-59, may temporarily be 60 */
	int		second; /* 0-59, may temporarily be 60 */
} CronCursor;

/* Floor division, for negative timestamps. */
static int64_t
cron_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static bool
cron_is_leap(int64_t year)
{
	return (year % 4 == 0) && (year % 100 != 0 || year % 400 == 0);
}

static int
cron_days_in_month(int64_t year, int month)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
								  31, 31, 30, 31, 30, 31};

	if (month == 2 && cron_is_leap(year))
		return 29;
	return mdays[month - 1];
}

/*
 * Number of days from 1970-01-01 to the given date.  Works on 400-year
 * cycles of 146097 days, with years starting on March 1 so that the leap
 * day is the last day of the (shifted) year.
 */
static int64_t
cron_days_from_civil(int64_t year, int month, int day)
{
	int64_t y = (month <= 2) ? year - 1 : year;
	int64_t cycle = cron_floor_div(y, 400);
	int64_t yoc = y - cycle * 400;				/* year of cycle, 0-399 */
	int		mp = (month + 9) % 12;				/* March = 0 ... February = 11 */
	int64_t doy = (153 * mp + 2) / 5 + day - 1; /* day of shifted year */
	int64_t doc = yoc * 365 + yoc / 4 - yoc / 100 + doy;

	/* 719468 = days from 0000-03-01 to 1970-01-01 */
	return cycle * 146097 + doc - 719468;
}

/* Inverse of cron_days_from_civil(). */
static void
cron_civil_from_days(int64_t days, CronCursor *c)
{
	int64_t z = days + 719468;
	int64_t cycle = cron_floor_div(z, 146097);
	int64_t doc = z - cycle * 146097; /* day of cycle, 0-146096 */
	int64_t yoc = (doc - doc / 1460 + doc / 36524 - doc / 146096) / 365;
	int64_t doy = doc - (365 * yoc + yoc / 4 - yoc / 100);
	int		mp = (int) ((5 * doy + 2) / 153);

	c->day = (int) (doy - (153 * mp + 2) / 5 + 1);
	c->month = (mp < 10) ? mp + 3 : mp - 9;
	c->year = yoc + cycle * 400 + (c->month <= 2 ? 1 : 0);
}

/*
 * Smallest value >= from and <= max whose bit is set in mask, or -1.
 */
static int
cron_next_bit(uint64_t mask, int from, int max)
{
	int v;

	for (v = from; v <= max; v++)
		if (mask & (UINT64_C(1) << v))
			return v;
	return -1;
}

/*
 * Does the day "dayno" (days since the epoch, day of month "mday") match
 * the day-of-month and day-of-week fields?  With both fields restricted
 * either may match (Vixie cron rule); otherwise both must.
 */
static bool
cron_day_matches(const CronSchedule *sched, int mday, int64_t dayno)
{
	/* 1970-01-01 was a Thursday (4) */
	int	 wday = (int) ((dayno + 4) - cron_floor_div(dayno + 4, 7) * 7);
	bool dom_ok = (sched->days >> mday) & 1;
	bool dow_ok = (sched->weekdays >> wday) & 1;

	if (sched->dom_restricted && sched->dow_restricted)
		return dom_ok || dow_ok;
	return dom_ok && dow_ok;
}

/* Move the cursor to the first second of the next month. */
static void
cron_next_month(CronCursor *c)
{
	if (++c->month > 12)
	{
		c->month = 1;
		c->year++;
	}
	c->day = 1;
	c->hour = c->minute = c->second = 0;
}

/*
 * cron_carry
 *		Propagate the carries an iteration of cron_next left in *c (a second,
 *		minute or hour one past its range, a day past the month's end).
 */
static void
cron_carry(CronCursor *c)
{
	if (c->second > 59)
	{
		c->second = 0;
		c->minute++;
	}
	if (c->minute > 59)
	{
		c->minute = 0;
		c->hour++;
	}
	if (c->hour > 23)
	{
		c->hour = 0;
		c->day++;
	}
	if (c->day > cron_days_in_month(c->year, c->month))
		cron_next_month(c);
}

/*
 * cron_time_matches
 *		On a matching day, move *c to the first matching time of day at or
 *		after it.  Returns false, with *c one past the hour or minute that
 *		has no match left (for cron_carry), when the search must go on.
 */
static bool
cron_time_matches(const CronSchedule *sched, CronCursor *c)
{
	int v;

	v = cron_next_bit(sched->hours, c->hour, 23);
	if (v < 0)
	{
		c->hour = 24; /* no more hours today */
		c->minute = c->second = 0;
		return false;
	}
	if (v != c->hour)
	{
		c->hour = v;
		c->minute = c->second = 0;
	}

	v = cron_next_bit(sched->minutes, c->minute, 59);
	if (v < 0)
	{
		c->minute = 60; /* no more minutes this hour */
		c->second = 0;
		return false;
	}
	if (v != c->minute)
	{
		c->minute = v;
		c->second = 0;
	}

	v = cron_next_bit(sched->seconds, c->second, 59);
	if (v < 0)
	{
		c->second = 60; /* no more seconds this minute */
		return false;
	}
	c->second = v;
	return true;
}

/*
 * cron_next
 *		First instant strictly after "after" matching sched; see cron.h.
 */
bool
cron_next(const CronSchedule *sched, int64_t after, int64_t *next)
{
	CronCursor c;
	int64_t	   dayno;
	int64_t	   secs;
	int64_t	   limit_day;

	if (sched == NULL || next == NULL ||
		after >= CRON_TIME_LIMIT || after <= -CRON_TIME_LIMIT)
		return false;

	/* start at the first candidate second, after + 1 */
	dayno = cron_floor_div(after + 1, CRON_SECS_PER_DAY);
	secs = after + 1 - dayno * CRON_SECS_PER_DAY;
	cron_civil_from_days(dayno, &c);
	c.hour = (int) (secs / 3600);
	c.minute = (int) (secs / 60 % 60);
	c.second = (int) (secs % 60);
	limit_day = dayno + (int64_t) CRON_SEARCH_YEARS * 366;

	for (;;)
	{
		cron_carry(&c);

		dayno = cron_days_from_civil(c.year, c.month, c.day);
		if (dayno > limit_day)
			return false;

		if (!((sched->months >> c.month) & 1))
		{
			cron_next_month(&c);
			continue;
		}
		if (!cron_day_matches(sched, c.day, dayno))
		{
			c.day++;
			c.hour = c.minute = c.second = 0;
			continue;
		}

		if (!cron_time_matches(sched, &c))
			continue;

		*next = dayno * CRON_SECS_PER_DAY +
				c.hour * 3600 + c.minute * 60 + c.second;
		return true;
	}
}
