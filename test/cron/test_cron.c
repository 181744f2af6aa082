/*-------------------------------------------------------------------------
 *
 * test_cron.c
 *	  Standalone, table-driven unit tests of the cron parser and the
 *	  next-fire-time calculator (src/cron).
 *
 * Prints "ok N - description" or "not ok N - description (got X,
 * expected Y)" per case, then "N passed, M failed", and exits with status 1
 * if anything failed.  Expected instants are written as UTC date strings
 * and converted with a deliberately naive (year-by-year) calendar helper
 * that shares no code with the module under test.
 *
 * IDENTIFICATION
 *	  test/cron/test_cron.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"

typedef struct TestState
{
	int run;
	int passed;
	int failed;
} TestState;

/* expected result of a cron_next() call; expected NULL = no match */
typedef struct NextCase
{
	const char *expr;
	const char *from;
	const char *expected;
} NextCase;

/* expected error of an invalid expression */
typedef struct ErrorCase
{
	const char *expr;
	int			field;
	const char *field_name;
	int			position;
	const char *message;
} ErrorCase;

/* expected output of cron_normalize(); expected NULL = must fail */
typedef struct NormCase
{
	const char *expr;
	size_t		buflen;
	const char *expected;
} NormCase;

static const NextCase next_cases[] = {
	/* macros, from Wednesday 2024-05-15 10:30:00 */
	{"@yearly", "2024-05-15 10:30:00", "2025-01-01 00:00:00"},
	{"@annually", "2024-05-15 10:30:00", "2025-01-01 00:00:00"},
	{"@monthly", "2024-05-15 10:30:00", "2024-06-01 00:00:00"},
	{"@weekly", "2024-05-15 10:30:00", "2024-05-19 00:00:00"},
	{"@daily", "2024-05-15 10:30:00", "2024-05-16 00:00:00"},
	{"@midnight", "2024-05-15 10:30:00", "2024-05-16 00:00:00"},
	{"@hourly", "2024-05-15 10:30:00", "2024-05-15 11:00:00"},
	{"  @HOURLY\t", "2024-05-15 10:30:00", "2024-05-15 11:00:00"},
	/* minute / hour boundaries and strictly-after semantics */
	{"* * * * *", "2024-05-15 10:30:00", "2024-05-15 10:31:00"},
	{"* * * * *", "2024-05-15 10:30:59", "2024-05-15 10:31:00"},
	{"0 * * * *", "2024-05-15 10:00:00", "2024-05-15 11:00:00"},
	{"59 * * * *", "2024-05-15 10:30:00", "2024-05-15 10:59:00"},
	{"0 23 * * *", "2024-05-15 23:00:00", "2024-05-16 23:00:00"},
	{"0 0 * * *", "2024-05-15 00:00:00", "2024-05-16 00:00:00"},
	{"0 */23 * * *", "2024-05-15 00:00:00", "2024-05-15 23:00:00"},
	{"5,10 8-9 * * *", "2024-05-15 09:10:00", "2024-05-16 08:05:00"},
	{"59 23 31 12 *", "2024-05-15 10:30:00", "2024-12-31 23:59:00"},
	/* year rollover */
	{"* * * * *", "2024-12-31 23:59:59", "2025-01-01 00:00:00"},
	{"* * * * * *", "2024-12-31 23:59:59", "2025-01-01 00:00:00"},
	{"0 0 1 1 *", "2024-12-31 23:59:59", "2025-01-01 00:00:00"},
	{"* * * * * 59", "2024-12-31 23:59:59", "2025-01-01 00:00:59"},
	/* day 31 skips short months, Feb 29 only in leap years */
	{"0 0 31 * *", "2024-04-01 00:00:00", "2024-05-31 00:00:00"},
	{"0 0 31 * *", "2024-05-31 00:00:00", "2024-07-31 00:00:00"},
	{"0 0 31 * *", "2024-08-31 00:00:00", "2024-10-31 00:00:00"},
	{"0 0 29 2 *", "2025-03-01 00:00:00", "2028-02-29 00:00:00"},
	{"0 0 29 2 *", "2024-01-01 00:00:00", "2024-02-29 00:00:00"},
	{"0 0 29 2 *", "2096-03-01 00:00:00", "2104-02-29 00:00:00"},
	{"0 0 29 2 *", "2000-02-28 12:00:00", "2000-02-29 00:00:00"},
	/* impossible schedules */
	{"0 0 30 2 *", "2024-01-01 00:00:00", NULL},
	{"0 0 31 4 *", "2024-01-01 00:00:00", NULL},
	{"0 0 31 2,4,6,9,11 *", "2024-01-01 00:00:00", NULL},
	/* steps */
	{"*/15 * * * *", "2024-05-15 10:31:00", "2024-05-15 10:45:00"},
	{"*/15 * * * *", "2024-05-15 10:45:00", "2024-05-15 11:00:00"},
	{"10-20/5 * * * *", "2024-05-15 10:16:00", "2024-05-15 10:20:00"},
	{"10-20/5 * * * *", "2024-05-15 10:20:00", "2024-05-15 11:10:00"},
	{"50/5 * * * *", "2024-05-15 10:56:00", "2024-05-15 11:50:00"},
	{"1/20 * * * *", "2024-05-15 10:41:00", "2024-05-15 11:01:00"},
	{"0 0 1 */3 *", "2024-05-15 10:30:00", "2024-07-01 00:00:00"},
	/* month and weekday names, 7 = Sunday */
	{"0 0 * jan,JUL *", "2024-05-15 10:30:00", "2024-07-01 00:00:00"},
	{"0 0 1 mar-May *", "2024-05-15 10:30:00", "2025-03-01 00:00:00"},
	{"0 0 1 jan-mar/2 *", "2024-02-01 00:00:00", "2024-03-01 00:00:00"},
	{"0 9 * * mon-fri", "2024-05-17 09:00:00", "2024-05-20 09:00:00"},
	{"0 9 * * SAT,sun", "2024-05-15 10:30:00", "2024-05-18 09:00:00"},
	{"0 0 * * 7", "2024-05-15 10:30:00", "2024-05-19 00:00:00"},
	{"0 0 * * 0", "2024-05-15 10:30:00", "2024-05-19 00:00:00"},
	{"0 0 * * 5-7", "2024-05-18 00:00:00", "2024-05-19 00:00:00"},
	{"0 0 * * 1/2", "2024-05-18 00:00:00", "2024-05-20 00:00:00"},
	/* day-of-month / day-of-week: OR when both restricted, else AND */
	{"0 0 13 * 5", "2024-09-01 00:00:00", "2024-09-06 00:00:00"},
	{"0 0 13 * 5", "2024-09-10 00:00:00", "2024-09-13 00:00:00"},
	{"0 0 13 * 5", "2024-11-09 00:00:00", "2024-11-13 00:00:00"},
	{"0 0 13 * fri", "2024-11-13 00:00:00", "2024-11-15 00:00:00"},
	{"0 0 * * 5", "2024-11-09 00:00:00", "2024-11-15 00:00:00"},
	{"0 0 13 * *", "2024-11-13 00:00:00", "2024-12-13 00:00:00"},
	{"0 0 ? * 5", "2024-11-09 00:00:00", "2024-11-15 00:00:00"},
	{"0 0 13 * ?", "2024-11-09 00:00:00", "2024-11-13 00:00:00"},
	{"0 0 */2 * 5", "2024-11-02 00:00:00", "2024-11-15 00:00:00"},
	{"0 0 1-31/2 * 5", "2024-11-02 00:00:00", "2024-11-03 00:00:00"},
	/* 6-field form: the trailing field is seconds */
	{"* * * * * */3", "1970-01-01 00:00:01", "1970-01-01 00:00:03"},
	{"*/3 * * * * *", "1970-01-01 00:00:01", "1970-01-01 00:00:02"},
	{"* * * * * */3", "1970-01-01 00:00:58", "1970-01-01 00:01:00"},
	{"*/3 * * * * *", "1970-01-01 00:00:59", "1970-01-01 00:03:00"},
	{"30 * * * * 15,45", "2024-05-15 10:30:15", "2024-05-15 10:30:45"},
	{"0 0 * * * 0", "2024-05-15 00:00:00", "2024-05-16 00:00:00"},
	{"* * * * * *", "2024-05-15 10:30:00", "2024-05-15 10:30:01"},
	/* before and across the epoch */
	{"0 0 1 1 *", "1969-06-01 00:00:00", "1970-01-01 00:00:00"},
	{"0 12 * * *", "1969-12-31 12:00:00", "1970-01-01 12:00:00"},
	{"0 0 * * 4", "1969-12-30 00:00:00", "1970-01-01 00:00:00"},
};

static const ErrorCase error_cases[] = {
	{"* 25 * * *", 2, "hour", 3, "value 25 is out of range 0-23"},
	{"61 * * * *", 1, "minute", 1, "value 61 is out of range 0-59"},
	{"* * 0 * *", 3, "day of month", 5, "value 0 is out of range 1-31"},
	{"* * 1,32 * *", 3, "day of month", 7, "value 32 is out of range 1-31"},
	{"* * * 13 *", 4, "month", 7, "value 13 is out of range 1-12"},
	{"* * * * 8", 5, "day of week", 9, "value 8 is out of range 0-7"},
	{"* * * * * 60", 6, "second", 11, "value 60 is out of range 0-59"},
	{"99999999999 * * * *", 1, "minute", 1,
	 "value 99999999999 is out of range 0-59"},
	{"5-3 * * * *", 1, "minute", 1, "range 5-3 is backwards"},
	{"* * * * fri-mon", 5, "day of week", 9, "range fri-mon is backwards"},
	{"*/0 * * * *", 1, "minute", 3, "step 0 is out of range 1-60"},
	{"* */25 * * *", 2, "hour", 5, "step 25 is out of range 1-24"},
	{"0 0 1 1 * 5,*/61", 6, "second", 15, "step 61 is out of range 1-60"},
	{"1,,2 * * * *", 1, "minute", 3, "empty list item"},
	{",1 * * * *", 1, "minute", 1, "empty list item"},
	{"* * * * 1,", 5, "day of week", 10, "empty list item"},
	{"* * * foo *", 4, "month", 7, "unknown name \"foo\""},
	{"* * * * Funday", 5, "day of week", 9, "unknown name \"Funday\""},
	{"jan * * * *", 1, "minute", 1, "unknown name \"jan\""},
	{"5x * * * *", 1, "minute", 1, "invalid value \"5x\""},
	{"* * * * mon-", 5, "day of week", 12, "missing value after \"-\""},
	{"*/ * * * *", 1, "minute", 2, "missing value after \"/\""},
	{"*5 * * * *", 1, "minute", 2, "unexpected character \"5\""},
	{"-5 * * * *", 1, "minute", 1, "unexpected character \"-\""},
	{"* * * jan/x *", 4, "month", 11, "invalid step \"x\""},
	{"? * * * *", 1, "minute", 1,
	 "\"?\" is only allowed in day of month and day of week"},
	{"\t*\t61 * * *", 2, "hour", 4, "value 61 is out of range 0-23"},
	{"", 0, NULL, 1, "cron expression is empty"},
	{" \t ", 0, NULL, 1, "cron expression is empty"},
	{NULL, 0, NULL, 0, "cron expression is NULL"},
	{"* * * *", 0, NULL, 1, "expected 5 or 6 fields, found 4"},
	{"* * * * * * *", 0, NULL, 13, "expected 5 or 6 fields, found 7"},
	{"@reboot", 0, NULL, 1, "macro \"@reboot\" is not supported"},
	{"@fortnightly", 0, NULL, 1, "unknown macro \"@fortnightly\""},
	{"  @daily x", 0, NULL, 10, "unexpected text after macro \"@daily\""},
};

static const NormCase norm_cases[] = {
	{"  */5   *  * * MON ", 64, "*/5 * * * mon"},
	{"@hourly", 64, "0 * * * *"},
	{"@ANNUALLY", 64, "0 0 1 1 *"},
	{"@weekly", 64, "0 0 * * 0"},
	{"0\t0 1 JAN ?", 64, "0 0 1 jan ?"},
	{"* * * * * */3", 64, "* * * * * */3"},
	{"0 0 * * *", 10, "0 0 * * *"},
	{"0 0 * * *", 9, NULL},
	{"* 25 * * *", 64, NULL},
};

/* Record and print one result. */
static void
report(TestState *ts, bool ok, const char *desc, const char *got,
	   const char *expected)
{
	ts->run++;
	if (ok)
	{
		ts->passed++;
		printf("ok %d - %s\n", ts->run, desc);
	}
	else
	{
		ts->failed++;
		printf("not ok %d - %s (got %s, expected %s)\n",
			   ts->run, desc, got, expected);
	}
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap(y)) ? 29 : md[m - 1];
}

/* Days since 1970-01-01, counted naively year by year and month by month. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t days = 0;
	int		k;

	for (k = 1970; k < y; k++)
		days += is_leap(k) ? 366 : 365;
	for (k = y; k < 1970; k++)
		days -= is_leap(k) ? 366 : 365;
	for (k = 1; k < m; k++)
		days += month_days(y, k);
	return days + d - 1;
}

/* "YYYY-MM-DD HH:MM:SS" (UTC) to seconds since the epoch. */
static int64_t
parse_time(const char *s)
{
	int y, mo, d, h, mi, sec;

	if (sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6)
	{
		fprintf(stderr, "bad time literal \"%s\"\n", s);
		return 0;
	}
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

/* Seconds since the epoch to "YYYY-MM-DD HH:MM:SS" (UTC). */
static void
format_time(int64_t t, char *buf, size_t len)
{
	int64_t days = t / 86400;
	int64_t secs = t % 86400;
	int		y = 1970;
	int		m = 1;

	if (secs < 0)
	{
		secs += 86400;
		days--;
	}
	while (days < 0)
		days += is_leap(--y) ? 366 : 365;
	while (days >= (is_leap(y) ? 366 : 365))
		days -= is_leap(y++) ? 366 : 365;
	while (days >= month_days(y, m))
		days -= month_days(y, m++);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", y, m, (int) days + 1,
			 (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
}

/* Run the cron_next() table. */
static void
test_next(TestState *ts)
{
	size_t i;

	for (i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++)
	{
		const NextCase *c = &next_cases[i];
		CronSchedule	sched;
		CronError		err;
		int64_t			next = 0;
		char			desc[160];
		char			got[CRON_ERRMSG_LEN + 32];
		bool			ok;

		snprintf(desc, sizeof(desc), "next \"%s\" after %s", c->expr, c->from);
		if (!cron_parse(c->expr, &sched, &err))
		{
			snprintf(got, sizeof(got), "parse error: %s", err.message);
			report(ts, false, desc, got, c->expected ? c->expected : "none");
			continue;
		}
		if (!cron_next(&sched, parse_time(c->from), &next))
		{
			strcpy(got, "none");
			ok = (c->expected == NULL);
		}
		else
		{
			format_time(next, got, sizeof(got));
			ok = (c->expected != NULL && next == parse_time(c->expected));
		}
		report(ts, ok, desc, got, c->expected ? c->expected : "none");
	}
}

/* Run the invalid-expression table. */
static void
test_errors(TestState *ts)
{
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++)
	{
		const ErrorCase *c = &error_cases[i];
		CronSchedule	 sched;
		CronError		 err;
		char			 desc[160];
		char			 got[CRON_ERRMSG_LEN + 64];
		char			 want[CRON_ERRMSG_LEN + 64];
		bool			 ok;

		memset(&err, 0, sizeof(err));
		snprintf(desc, sizeof(desc), "reject \"%s\"",
				 c->expr ? c->expr : "(NULL)");
		snprintf(want, sizeof(want), "field %d (%s) position %d: %s",
				 c->field, c->field_name ? c->field_name : "none",
				 c->position, c->message);
		if (cron_parse(c->expr, &sched, &err))
		{
			report(ts, false, desc, "success", want);
			continue;
		}
		snprintf(got, sizeof(got), "field %d (%s) position %d: %s",
				 err.field, err.field_name ? err.field_name : "none",
				 err.position, err.message);
		ok = (strcmp(got, want) == 0 &&
			  (err.field_name == NULL) == (c->field_name == NULL));
		report(ts, ok, desc, got, want);
	}
}

/* Run the cron_normalize() table. */
static void
test_normalize(TestState *ts)
{
	size_t i;

	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++)
	{
		const NormCase *c = &norm_cases[i];
		char			buf[64];
		char			desc[160];
		char			got[CRON_ERRMSG_LEN + 80];
		CronError		err;
		bool			res;

		snprintf(desc, sizeof(desc), "normalize \"%s\" (buflen %d)",
				 c->expr, (int) c->buflen);
		res = cron_normalize(c->expr, buf, c->buflen, &err);
		if (res)
			snprintf(got, sizeof(got), "\"%s\"", buf);
		else
			snprintf(got, sizeof(got), "failure \"%s\": %s", buf, err.message);
		if (c->expected != NULL)
		{
			char want[80];

			snprintf(want, sizeof(want), "\"%s\"", c->expected);
			report(ts, res && strcmp(buf, c->expected) == 0, desc, got, want);
		}
		else
		{
			/* failure; buf holds the truncated text or "" */
			report(ts, !res && strlen(buf) < c->buflen, desc, got, "failure");
		}
	}
}

/* schedules cross-checked against a brute-force search */
static const char *const brute_exprs[] = {
	"* * * * *", "*/7 * * * *", "0 */5 * * *", "30 2 * * *",
	"15 10 1,15 * *", "0 0 31 * *", "0 12 * * mon-fri", "0 0 13 * 5",
	"0 0 */2 * 5", "5-10/2 3,17 * jan,jun-aug *", "0 0 ? * sun,7",
	"59 23 28-31 * *", "0 0 1 */2 *", "0 6 * * 1/2",
	"0/20 * * * * 30", "* * * * * */7", "*/3 * * * * *",
	"0 0 * * * 0", "10 4 29 2 *", "0 0 29 * 1"};

/* Day-level civil date of "days since the epoch", naive. */
static void
civil_of_day(int64_t days, int *y, int *m, int *d)
{
	char buf[32];

	format_time(days * 86400, buf, sizeof(buf));
	sscanf(buf, "%d-%d-%d", y, m, d);
}

/*
 * First match strictly after "after" by testing every candidate second
 * (or minute, for 5-field schedules) up to "limit"; -1 if none.
 */
static int64_t
brute_next(const CronSchedule *s, int64_t after, int64_t limit)
{
	int64_t step = s->has_seconds ? 1 : 60;
	int64_t t = after + 1;
	int64_t cur_day = INT64_MIN;
	bool	day_ok = false;

	if (!s->has_seconds)
		t = ((t + 59) / 60) * 60;
	for (; t <= limit; t += step)
	{
		int64_t day = t / 86400;
		int		sod = (int) (t % 86400);

		if (day != cur_day)
		{
			int	 y, m, d;
			int	 wd = (int) ((day % 7 + 7 + 4) % 7);
			bool dom, dow;

			civil_of_day(day, &y, &m, &d);
			dom = (s->days >> d) & 1;
			dow = (s->weekdays >> wd) & 1;
			day_ok = ((s->months >> m) & 1) &&
					 ((s->dom_restricted && s->dow_restricted) ?
						  (dom || dow) :
						  (dom && dow));
			cur_day = day;
		}
		if (day_ok && ((s->hours >> (sod / 3600)) & 1) &&
			((s->minutes >> (sod / 60 % 60)) & 1) &&
			((s->seconds >> (sod % 60)) & 1))
			return t;
	}
	return -1;
}

/*
 * Compare cron_next() with brute_next() from pseudo-random instants
 * between 1971 and 2100; one reported case per expression.
 */
static void
test_brute(TestState *ts)
{
	size_t	 i;
	uint32_t rng = 12345;

	for (i = 0; i < sizeof(brute_exprs) / sizeof(brute_exprs[0]); i++)
	{
		CronSchedule s;
		char		 desc[160];
		char		 got[96] = "agrees";
		char		 want[64] = "agrees";
		bool		 ok = cron_parse(brute_exprs[i], &s, NULL);
		int			 k;

		snprintf(desc, sizeof(desc), "brute-force cross-check of \"%s\"",
				 brute_exprs[i]);
		for (k = 0; ok && k < 8; k++)
		{
			int64_t after;
			int64_t window = s.has_seconds ? 3 * 86400 : 120 * 86400;
			int64_t fast = -1;
			int64_t slow;

			rng = rng * 1103515245u + 12345u;
			after = 31536000 + (int64_t) (rng % 4099680000u);
			if (k == 0)
				after = after / 86400 * 86400 - 1; /* just before midnight */
			slow = brute_next(&s, after, after + window);
			if (!cron_next(&s, after, &fast))
				fast = -1;
			if (slow != (fast > after + window ? -1 : fast))
			{
				format_time(after, want, sizeof(want));
				snprintf(got, sizeof(got), "mismatch after %s", want);
				if (slow >= 0)
					format_time(slow, want, sizeof(want));
				else
					strcpy(want, "none in window");
				ok = false;
			}
		}
		report(ts, ok && strcmp(got, "agrees") == 0, desc, got, want);
	}
}

/* Check the bit sets and flags of a few parsed schedules. */
static void
test_bits(TestState *ts)
{
	CronSchedule s;
	char		 got[128];
	bool		 ok;

	ok = cron_parse("*/15 0,23 1,31 jan,12 7", &s, NULL);
	snprintf(got, sizeof(got), "%d %llx %lx %lx %x %x", (int) ok,
			 (unsigned long long) s.minutes, (unsigned long) s.hours,
			 (unsigned long) s.days, (unsigned) s.months,
			 (unsigned) s.weekdays);
	report(ts, strcmp(got, "1 200040008001 800001 80000002 1002 1") == 0,
		   "bit sets of \"*/15 0,23 1,31 jan,12 7\"", got,
		   "1 200040008001 800001 80000002 1002 1");

	ok = cron_parse("0 0 */2 * mon-fri", &s, NULL);
	snprintf(got, sizeof(got), "%d w=%x dom=%d dow=%d sec=%llx hs=%d",
			 (int) ok, (unsigned) s.weekdays, (int) s.dom_restricted,
			 (int) s.dow_restricted, (unsigned long long) s.seconds,
			 (int) s.has_seconds);
	report(ts, strcmp(got, "1 w=3e dom=0 dow=1 sec=1 hs=0") == 0,
		   "flags of \"0 0 */2 * mon-fri\"", got,
		   "1 w=3e dom=0 dow=1 sec=1 hs=0");

	ok = cron_parse("0 0 1-31 * ? 0-59/30", &s, NULL);
	snprintf(got, sizeof(got), "%d w=%x dom=%d dow=%d sec=%llx hs=%d",
			 (int) ok, (unsigned) s.weekdays, (int) s.dom_restricted,
			 (int) s.dow_restricted, (unsigned long long) s.seconds,
			 (int) s.has_seconds);
	report(ts, strcmp(got, "1 w=7f dom=1 dow=0 sec=40000001 hs=1") == 0,
		   "flags of \"0 0 1-31 * ? 0-59/30\"", got,
		   "1 w=7f dom=1 dow=0 sec=40000001 hs=1");

	ok = cron_parse("0 0 * * *", NULL, NULL);
	report(ts, ok, "validate with NULL schedule and error", ok ? "1" : "0", "1");
}

int
main(void)
{
	TestState ts = {0, 0, 0};

	test_next(&ts);
	test_errors(&ts);
	test_normalize(&ts);
	test_bits(&ts);
	test_brute(&ts);
	printf("%d passed, %d failed\n", ts.passed, ts.failed);
	return ts.failed > 0 ? 1 : 0;
}
