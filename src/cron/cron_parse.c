/*-------------------------------------------------------------------------
 *
 * cron_parse.c
 *	  Parsing, validation and normalisation of cron expressions.
 *
 * An expression is split into whitespace-separated fields (or recognised
 * as an @macro and replaced by its 5-field equivalent), and each field is
 * turned into a bit set of matching values.  Errors are reported with the
 * field they occur in and the 1-based character position of the offending
 * token in the original string.
 *
 * No PostgreSQL headers are used here; see cron.h.
 *
 * IDENTIFICATION
 *	  src/cron/cron_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"

/* at most this many fields are accepted (5-field form plus seconds) */
#define CRON_MAX_FIELDS 6

/* user text quoted in error messages is cut to this many characters */
#define CRON_QUOTE_MAX	  32
#define CRON_QUOTE_BUFLEN (CRON_QUOTE_MAX + 4)

/* numbers are clamped here while scanning, to avoid overflow */
#define CRON_NUMBER_CLAMP 1000000

/*
 * Static description of one field: accepted values, the upper bound used by
 * "*", "*\/n" and "a/n", the largest step, and optional 3-letter names.
 */
typedef struct CronFieldSpec
{
	const char		  *name;		   /* as reported in CronError.field_name */
	int				   min;			   /* smallest accepted value */
	int				   max;			   /* largest accepted value */
	int				   open_max;	   /* upper bound of "*" and "a/n" */
	int				   max_step;	   /* largest accepted step */
	const char *const *names;		   /* NULL, or names of values name_base.. */
	int				   name_base;	   /* value of names[0] */
	bool			   allow_question; /* '?' accepted as a synonym of '*' */
} CronFieldSpec;

static const char *const cron_month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL};

static const char *const cron_day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

/* indexed by field number - 1, in written order */
static const CronFieldSpec cron_fields[CRON_MAX_FIELDS] = {
	{"minute", 0, 59, 59, 60, NULL, 0, false},
	{"hour", 0, 23, 23, 24, NULL, 0, false},
	{"day of month", 1, 31, 31, 31, NULL, 0, true},
	{"month", 1, 12, 12, 12, cron_month_names, 1, false},
	{"day of week", 0, 7, 6, 7, cron_day_names, 0, true},
	{"second", 0, 59, 59, 60, NULL, 0, false}};

typedef struct CronMacro
{
	const char *name;
	const char *expansion;
} CronMacro;

static const CronMacro cron_macros[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
	{NULL, NULL}};

/* the fields of one expression, as found by cron_split() */
typedef struct CronTokens
{
	int			count; /* number of fields found (may exceed max) */
	const char *start[CRON_MAX_FIELDS + 1];
	size_t		len[CRON_MAX_FIELDS + 1];
	size_t		offset[CRON_MAX_FIELDS + 1]; /* 0-based, in original */
} CronTokens;

/* state while parsing one field */
typedef struct CronFieldCtx
{
	const CronFieldSpec *spec;
	int					 fieldno; /* 1-based */
	const char			*text;	  /* field text, not NUL-terminated */
	size_t				 len;
	size_t				 offset; /* 0-based offset of text in original */
	CronError			*err;
} CronFieldCtx;

/*
 * Fill in the location part of *err and return its message buffer, which
 * the caller then fills with snprintf.  "position" is 1-based (0 = none).
 */
static char *
cron_set_error(CronError *err, int fieldno, size_t position)
{
	err->field = fieldno;
	err->field_name = (fieldno > 0) ? cron_fields[fieldno - 1].name : NULL;
	err->position = (position > (size_t) INT_MAX) ? INT_MAX : (int) position;
	err->message[0] = '\0';
	return err->message;
}

/* Report an error at 0-based index "at" of the field being parsed. */
static char *
cron_field_error(const CronFieldCtx *ctx, size_t at)
{
	return cron_set_error(ctx->err, ctx->fieldno, ctx->offset + at + 1);
}

/*
 * Copy user text into dst (CRON_QUOTE_BUFLEN bytes) for quoting in a
 * message, cutting it short and replacing unprintable bytes with '?'.
 */
static void
cron_quote(char *dst, const char *s, size_t n)
{
	size_t i;
	size_t k = (n > CRON_QUOTE_MAX) ? CRON_QUOTE_MAX : n;

	for (i = 0; i < k; i++)
		dst[i] = isprint((unsigned char) s[i]) ? s[i] : '?';
	if (k < n)
	{
		memcpy(dst + k, "...", 3);
		k += 3;
	}
	dst[k] = '\0';
}

/* Report an unexpected character at index "at" of the field. */
static bool
cron_bad_char(const CronFieldCtx *ctx, size_t at)
{
	unsigned char c = (unsigned char) ctx->text[at];
	char		 *msg = cron_field_error(ctx, at);

	if (isprint(c))
		snprintf(msg, CRON_ERRMSG_LEN, "unexpected character \"%c\"", c);
	else
		snprintf(msg, CRON_ERRMSG_LEN, "unexpected character \\x%02x", c);
	return false;
}

/*
 * Scan the alphanumeric word starting at *pos (stopping at "end") and store
 * its bounds.  Fails with a message if the word is empty.
 */
static bool
cron_scan_word(const CronFieldCtx *ctx, size_t *pos, size_t end,
			   size_t *wstart, size_t *wlen)
{
	size_t i = *pos;

	while (i < end && isalnum((unsigned char) ctx->text[i]))
		i++;
	if (i == *pos)
	{
		if (*pos < end)
			return cron_bad_char(ctx, *pos);
		/* nothing after an operator such as '-' or '/' */
		snprintf(cron_field_error(ctx, *pos - 1), CRON_ERRMSG_LEN,
				 "missing value after \"%c\"", ctx->text[*pos - 1]);
		return false;
	}
	*wstart = *pos;
	*wlen = i - *pos;
	*pos = i;
	return true;
}

/*
 * Convert a word consisting only of digits to a number, clamping large
 * values.  Returns false if the word contains anything but digits.
 */
static bool
cron_word_number(const char *s, size_t n, int *value)
{
	size_t i;
	int	   v = 0;

	for (i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > CRON_NUMBER_CLAMP)
			v = CRON_NUMBER_CLAMP;
	}
	*value = v;
	return true;
}

/*
 * Parse one value (a number or, where the field allows it, a name) at *pos
 * and check that it is in range.
 */
static bool
cron_parse_value(const CronFieldCtx *ctx, size_t *pos, size_t end, int *value)
{
	const CronFieldSpec *spec = ctx->spec;
	const char			*w;
	size_t				 ws;
	size_t				 wl;
	char				 q[CRON_QUOTE_BUFLEN];

	if (!cron_scan_word(ctx, pos, end, &ws, &wl))
		return false;
	w = ctx->text + ws;
	cron_quote(q, w, wl);

	if (isdigit((unsigned char) w[0]))
	{
		if (!cron_word_number(w, wl, value))
		{
			snprintf(cron_field_error(ctx, ws), CRON_ERRMSG_LEN,
					 "invalid value \"%s\"", q);
			return false;
		}
		if (*value < spec->min || *value > spec->max)
		{
			snprintf(cron_field_error(ctx, ws), CRON_ERRMSG_LEN,
					 "value %s is out of range %d-%d", q, spec->min, spec->max);
			return false;
		}
		return true;
	}

	if (spec->names != NULL && wl == 3)
	{
		int k;

		for (k = 0; spec->names[k] != NULL; k++)
		{
			const char *nm = spec->names[k];

			if (tolower((unsigned char) w[0]) == nm[0] &&
				tolower((unsigned char) w[1]) == nm[1] &&
				tolower((unsigned char) w[2]) == nm[2])
			{
				*value = spec->name_base + k;
				return true;
			}
		}
	}
	snprintf(cron_field_error(ctx, ws), CRON_ERRMSG_LEN,
			 "unknown name \"%s\"", q);
	return false;
}

/* Parse the step number following a '/' at *pos. */
static bool
cron_parse_step(const CronFieldCtx *ctx, size_t *pos, size_t end, int *step)
{
	size_t ws;
	size_t wl;
	char   q[CRON_QUOTE_BUFLEN];

	if (!cron_scan_word(ctx, pos, end, &ws, &wl))
		return false;
	cron_quote(q, ctx->text + ws, wl);
	if (!cron_word_number(ctx->text + ws, wl, step))
	{
		snprintf(cron_field_error(ctx, ws), CRON_ERRMSG_LEN,
				 "invalid step \"%s\"", q);
		return false;
	}
	if (*step < 1 || *step > ctx->spec->max_step)
	{
		snprintf(cron_field_error(ctx, ws), CRON_ERRMSG_LEN,
				 "step %s is out of range 1-%d", q, ctx->spec->max_step);
		return false;
	}
	return true;
}

/*
 * Parse one list item, text[b..e), which is non-empty, and add its values
 * to *bits.  Forms: "*", "?", "a", "a-b", each optionally followed by "/n".
 */
static bool
cron_parse_item(const CronFieldCtx *ctx, size_t b, size_t e, uint64_t *bits)
{
	const CronFieldSpec *spec = ctx->spec;
	const char			*text = ctx->text;
	size_t				 i = b;
	int					 lo;
	int					 hi;
	int					 step = 1;
	int					 v;
	bool				 single = false;

	if (text[i] == '*' || text[i] == '?')
	{
		if (text[i] == '?' && !spec->allow_question)
		{
			snprintf(cron_field_error(ctx, i), CRON_ERRMSG_LEN,
					 "\"?\" is only allowed in day of month and day of week");
			return false;
		}
		lo = spec->min;
		hi = spec->open_max;
		i++;
	}
	else
	{
		if (!cron_parse_value(ctx, &i, e, &lo))
			return false;
		if (i < e && text[i] == '-')
		{
			i++;
			if (!cron_parse_value(ctx, &i, e, &hi))
				return false;
			if (lo > hi)
			{
				char q[CRON_QUOTE_BUFLEN];

				cron_quote(q, text + b, i - b);
				snprintf(cron_field_error(ctx, b), CRON_ERRMSG_LEN,
						 "range %s is backwards", q);
				return false;
			}
		}
		else
		{
			hi = lo;
			single = true;
		}
	}

	if (i < e && text[i] == '/')
	{
		i++;
		if (!cron_parse_step(ctx, &i, e, &step))
			return false;
		/* "a/n" means a to the end of the field */
		if (single && lo < spec->open_max)
			hi = spec->open_max;
	}

	if (i < e)
		return cron_bad_char(ctx, i);

	for (v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << v;
	return true;
}

/*
 * Parse a whole field (a comma-separated list of items) into a bit set.
 */
static bool
cron_parse_field(const CronFieldCtx *ctx, uint64_t *bits)
{
	size_t b = 0;

	*bits = 0;
	for (;;)
	{
		size_t e = b;

		while (e < ctx->len && ctx->text[e] != ',')
			e++;
		if (e == b)
		{
			/* point at the comma next to the empty item */
			snprintf(cron_field_error(ctx, (b < ctx->len) ? b : b - 1),
					 CRON_ERRMSG_LEN, "empty list item");
			return false;
		}
		if (!cron_parse_item(ctx, b, e, bits))
			return false;
		if (e == ctx->len)
			return true;
		b = e + 1;
	}
}

/*
 * Split s into whitespace-separated fields.  Offsets are "base" plus the
 * position in s.  Only the first CRON_MAX_FIELDS + 1 fields are recorded,
 * but all are counted.
 */
static void
cron_split(const char *s, size_t base, CronTokens *tok)
{
	size_t i = 0;

	tok->count = 0;
	for (;;)
	{
		size_t st;

		while (s[i] != '\0' && isspace((unsigned char) s[i]))
			i++;
		if (s[i] == '\0')
			break;
		st = i;
		while (s[i] != '\0' && !isspace((unsigned char) s[i]))
			i++;
		if (tok->count <= CRON_MAX_FIELDS)
		{
			tok->start[tok->count] = s + st;
			tok->len[tok->count] = i - st;
			tok->offset[tok->count] = base + st;
		}
		if (tok->count < INT_MAX)
			tok->count++;
	}
}

/* Does s[0..n) equal the lower-case string "word", ignoring case? */
static bool
cron_word_equals(const char *s, size_t n, const char *word)
{
	size_t k;

	if (strlen(word) != n)
		return false;
	for (k = 0; k < n; k++)
		if (tolower((unsigned char) s[k]) != word[k])
			return false;
	return true;
}

/*
 * Replace a macro token by the fields of its expansion.  Fails for unknown
 * macros, @reboot and text after the macro.
 */
static bool
cron_expand_macro(CronTokens *tok, CronError *err)
{
	const CronMacro *m;
	char			 q[CRON_QUOTE_BUFLEN];
	size_t			 off = tok->offset[0];
	int				 i;

	cron_quote(q, tok->start[0], tok->len[0]);
	for (m = cron_macros; m->name != NULL; m++)
		if (cron_word_equals(tok->start[0], tok->len[0], m->name))
			break;
	if (m->name == NULL)
	{
		if (cron_word_equals(tok->start[0], tok->len[0], "@reboot"))
			snprintf(cron_set_error(err, 0, off + 1), CRON_ERRMSG_LEN,
					 "macro \"%s\" is not supported", q);
		else
			snprintf(cron_set_error(err, 0, off + 1), CRON_ERRMSG_LEN,
					 "unknown macro \"%s\"", q);
		return false;
	}
	if (tok->count > 1)
	{
		snprintf(cron_set_error(err, 0, tok->offset[1] + 1), CRON_ERRMSG_LEN,
				 "unexpected text after macro \"%s\"", q);
		return false;
	}
	/* the expansion is always valid; any position would be the macro's */
	cron_split(m->expansion, off, tok);
	for (i = 0; i < tok->count; i++)
		tok->offset[i] = off;
	return true;
}

/*
 * Common worker of cron_parse() and cron_normalize(): tokenise, expand
 * macros and parse every field.  On success *tok describes the (expanded)
 * fields and *sched the schedule.  err must not be NULL.
 */
static bool
cron_parse_tokens(const char *expr, CronTokens *tok, CronSchedule *sched,
				  CronError *err)
{
	uint64_t bits[CRON_MAX_FIELDS];
	int		 i;

	if (expr == NULL)
	{
		snprintf(cron_set_error(err, 0, 0), CRON_ERRMSG_LEN,
				 "cron expression is NULL");
		return false;
	}
	cron_split(expr, 0, tok);
	if (tok->count == 0)
	{
		snprintf(cron_set_error(err, 0, 1), CRON_ERRMSG_LEN,
				 "cron expression is empty");
		return false;
	}
	if (tok->start[0][0] == '@' && !cron_expand_macro(tok, err))
		return false;
	if (tok->count != 5 && tok->count != CRON_MAX_FIELDS)
	{
		size_t pos = (tok->count > CRON_MAX_FIELDS) ?
						 tok->offset[CRON_MAX_FIELDS] + 1 :
						 1;

		snprintf(cron_set_error(err, 0, pos), CRON_ERRMSG_LEN,
				 "expected 5 or 6 fields, found %d", tok->count);
		return false;
	}

	for (i = 0; i < tok->count; i++)
	{
		CronFieldCtx ctx;

		ctx.spec = &cron_fields[i];
		ctx.fieldno = i + 1;
		ctx.text = tok->start[i];
		ctx.len = tok->len[i];
		ctx.offset = tok->offset[i];
		ctx.err = err;
		if (!cron_parse_field(&ctx, &bits[i]))
			return false;
	}

	memset(sched, 0, sizeof(*sched));
	sched->minutes = bits[0];
	sched->hours = (uint32_t) bits[1];
	sched->days = (uint32_t) bits[2];
	sched->months = (uint16_t) bits[3];
	/* fold day of week 7 onto 0 (Sunday) */
	sched->weekdays = (uint8_t) ((bits[4] | (bits[4] >> 7)) & 0x7F);
	sched->has_seconds = (tok->count == CRON_MAX_FIELDS);
	sched->seconds = sched->has_seconds ? bits[5] : UINT64_C(1);
	sched->dom_restricted = (tok->start[2][0] != '*' && tok->start[2][0] != '?');
	sched->dow_restricted = (tok->start[4][0] != '*' && tok->start[4][0] != '?');
	return true;
}

/*
 * cron_parse
 *		Parse expr into *sched; see cron.h.
 */
bool
cron_parse(const char *expr, CronSchedule *sched, CronError *err)
{
	CronTokens	 tok;
	CronSchedule result;
	CronError	 scratch;

	if (err == NULL)
		err = &scratch;
	if (!cron_parse_tokens(expr, &tok, &result, err))
		return false;
	if (sched != NULL)
		*sched = result;
	return true;
}

/*
 * cron_normalize
 *		Write the canonical text of expr into buf; see cron.h.
 */
bool
cron_normalize(const char *expr, char *buf, size_t buflen, CronError *err)
{
	CronTokens	 tok;
	CronSchedule sched;
	CronError	 scratch;
	size_t		 need = 0;
	size_t		 n = 0;
	int			 i;

	if (err == NULL)
		err = &scratch;
	if (buf == NULL || buflen == 0)
	{
		snprintf(cron_set_error(err, 0, 0), CRON_ERRMSG_LEN,
				 "output buffer is NULL or has size 0");
		return false;
	}
	buf[0] = '\0';
	if (!cron_parse_tokens(expr, &tok, &sched, err))
		return false;

	for (i = 0; i < tok.count; i++)
	{
		size_t k;

		if (i > 0)
		{
			need++;
			if (n + 1 < buflen)
				buf[n++] = ' ';
		}
		for (k = 0; k < tok.len[i]; k++)
		{
			need++;
			if (n + 1 < buflen)
				buf[n++] = (char) tolower((unsigned char) tok.start[i][k]);
		}
	}
	buf[n] = '\0';

	if (need >= buflen)
	{
		snprintf(cron_set_error(err, 0, 0), CRON_ERRMSG_LEN,
				 "normalized expression needs %lu bytes but the buffer holds only %lu",
				 (unsigned long) (need + 1), (unsigned long) buflen);
		return false;
	}
	return true;
}
