/*-------------------------------------------------------------------------
 *
 * cron.h
 *	  Cron expression parser and next-fire-time calculator.
 *
 * This module is deliberately free of any PostgreSQL dependency: it uses
 * only C99 and the C library, so it can be linked both into the pgqueuer
 * extension and into a standalone unit-test program.  All functions are
 * reentrant and thread-safe; there is no global mutable state.
 *
 * Supported dialect (compatible with Python's croniter as used by
 * PgQueuer):
 *
 *	- 5 fields: minute hour day-of-month month day-of-week
 *	- 6 fields: the same five followed by a trailing seconds field
 *	- per field: "*", "?" (day of month / day of week only, same as "*"),
 *	  numbers, ranges "a-b", steps ("*", "a-b" or "a" followed by "/n";
 *	  "a/n" runs from a to the field maximum), and comma-separated lists
 *	  of those
 *	- month names jan..dec and weekday names sun..sat, case-insensitive,
 *	  anywhere a number may appear; day of week 7 is Sunday like 0
 *	- macros @yearly, @annually, @monthly, @weekly, @daily, @midnight and
 *	  @hourly (@reboot is rejected)
 *	- Vixie cron day rule: when both day of month and day of week are
 *	  restricted (their text does not start with '*' or '?'), a day
 *	  matches if either field matches; otherwise both must match.
 *
 * IDENTIFICATION
 *	  src/cron/cron.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_CRON_H
#define PGQUEUER_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* size of CronError.message, including the terminating NUL */
#define CRON_ERRMSG_LEN 256

/* cron_next() gives up when nothing matches within this many years */
#define CRON_SEARCH_YEARS 8

/* field numbers as reported in CronError.field (0 = not field-specific) */
#define CRON_FIELD_NONE			0
#define CRON_FIELD_MINUTE		1
#define CRON_FIELD_HOUR			2
#define CRON_FIELD_DAY_OF_MONTH 3
#define CRON_FIELD_MONTH		4
#define CRON_FIELD_DAY_OF_WEEK	5
#define CRON_FIELD_SECOND		6

/*
 * A parsed schedule.  Each member is a bit set: bit n set means value n
 * matches.  Bits outside the documented ranges are always clear.
 */
typedef struct CronSchedule
{
	uint64_t seconds;		 /* bits 0-59; only bit 0 for 5-field form */
	uint64_t minutes;		 /* bits 0-59 */
	uint32_t hours;			 /* bits 0-23 */
	uint32_t days;			 /* day of month, bits 1-31 */
	uint16_t months;		 /* bits 1-12 */
	uint8_t	 weekdays;		 /* bits 0-6, 0 = Sunday (7 is folded to 0) */
	bool	 dom_restricted; /* day-of-month text did not start with '*'
								 * or '?' */
	bool	 dow_restricted; /* day-of-week text did not start with '*'
								 * or '?' */
	bool	 has_seconds;	 /* expression used the 6-field form */
} CronSchedule;

/*
 * Description of a parse error.
 *
 * field:		1-based field number (see CRON_FIELD_*), or 0 when the error
 *				is not about one field (NULL or empty input, wrong field
 *				count, unknown or unsupported macro, output buffer too small).
 *				Field numbers follow the written order, so in the 6-field
 *				form the trailing seconds field is field 6.
 * field_name:	"minute", "hour", "day of month", "month", "day of week",
 *				"second", or NULL when field is 0.  Points to a static
 *				string.
 * position:	1-based character offset into the ORIGINAL expression of the
 *				start of the offending token (with too many fields: the first
 *				extra field; for macro errors: the macro, or the text after
 *				it), or 1 for other errors about the whole expression (empty,
 *				too few fields), or 0 when there is no meaningful position
 *				(NULL input, output buffer too small).
 * message:		NUL-terminated text starting in lower case, without a
 *				trailing period, e.g. "value 61 is out of range 0-59".
 */
typedef struct CronError
{
	int			field;
	const char *field_name;
	int			position;
	char		message[CRON_ERRMSG_LEN];
} CronError;

/*
 * cron_parse
 *		Parse a cron expression.
 *
 * expr:	NUL-terminated expression (5 or 6 fields, or a macro).  Leading,
 *			trailing and repeated spaces/tabs are ignored.
 * sched:	receives the parsed schedule on success; untouched on failure.
 *			May be NULL to only validate the expression.
 * err:		may be NULL; on failure it is filled in, on success untouched.
 *
 * Returns true on success, false if expr is NULL or invalid.
 */
extern bool cron_parse(const char *expr, CronSchedule *sched, CronError *err);

/*
 * cron_normalize
 *		Produce the canonical text of a cron expression.
 *
 * The result is lower-cased, has the fields separated by single spaces and
 * no leading/trailing whitespace; macros are replaced by their 5-field
 * equivalent (@hourly -> "0 * * * *").  Field contents, including month
 * and weekday names and '?', are otherwise kept as written.
 *
 * expr:	NUL-terminated expression.
 * buf:		output buffer; always NUL-terminated when buflen > 0.
 * buflen:	size of buf in bytes, including room for the terminating NUL.
 * err:		may be NULL; filled in on failure.
 *
 * Returns true on success.  Returns false if expr is NULL or invalid (buf
 * is then set to the empty string), or if the normalised text needs more
 * than buflen - 1 characters (buf then holds the truncated text and err
 * has field 0, position 0), or if buf is NULL or buflen is 0.
 */
extern bool cron_normalize(const char *expr, char *buf, size_t buflen,
						   CronError *err);

/*
 * cron_next
 *		Compute the next time a schedule fires.
 *
 * sched:	a schedule filled in by cron_parse().
 * after:	reference instant, seconds since 1970-01-01 00:00:00 UTC.
 * next:	receives the result, in the same unit, on success.
 *
 * The result is the first matching instant strictly after "after",
 * computed in UTC on the proleptic Gregorian calendar without leap
 * seconds.  A 5-field schedule fires at second 0 only.
 *
 * Returns true and sets *next on success.  Returns false, leaving *next
 * untouched, if no instant matches within CRON_SEARCH_YEARS years after
 * "after" (e.g. "0 0 30 2 *"), if sched or next is NULL, or if "after" is
 * outside +/- 2^60 seconds.  The search advances field by field and does
 * at most a few thousand cheap steps, even when it fails.
 */
extern bool cron_next(const CronSchedule *sched, int64_t after, int64_t *next);

#endif /* PGQUEUER_CRON_H */
