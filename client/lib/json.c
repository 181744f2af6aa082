/*-------------------------------------------------------------------------
 *
 * json.c
 *		The little JSON libpgqueuer needs: writing strings (traceback
 *		records) and reading the notifications of channel ch_pgqueuer.
 *
 * Notifications come from two kinds of senders with different spacing
 * (the server's '{"type": "x"}' and PgQueuer's compact '{"type":"x"}'), so
 * they are read with a small tolerant scanner, not by string matching.
 * Only the keys the worker acts on are kept: type, id (health checks) and
 * ids (cancellations).
 *
 * IDENTIFICATION
 *		client/lib/json.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgq_internal.h"

/*
 * utf8_sequence_length
 *		Length of the valid UTF-8 sequence at s (at most avail bytes), or 0
 *		if the bytes there are not valid UTF-8.
 */
static int
utf8_sequence_length(const unsigned char *s, size_t avail)
{
	int			 n;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if ((size_t) n > avail)
		return 0;
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		(cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * pgq_json_string
 *		Append s as a JSON string literal (null for NULL).  Control
 *		characters are escaped; bytes that are not valid UTF-8 (a command's
 *		binary stderr, say) become U+FFFD so that jsonb accepts the text.
 */
void
pgq_json_string(PgqBuf *buf, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t				 left;

	if (s == NULL)
	{
		pgq_buf_puts(buf, "null");
		return;
	}
	left = strlen(s);
	pgq_buf_putc(buf, '"');
	while (left > 0)
	{
		int n = utf8_sequence_length(p, left);

		if (n == 0)
		{
			pgq_buf_puts(buf, "\xef\xbf\xbd");
			n = 1;
		}
		else if (n > 1)
			pgq_buf_append(buf, (const char *) p, (size_t) n);
		else if (*p == '"' || *p == '\\')
		{
			pgq_buf_putc(buf, '\\');
			pgq_buf_putc(buf, (char) *p);
		}
		else if (*p == '\n')
			pgq_buf_puts(buf, "\\n");
		else if (*p == '\r')
			pgq_buf_puts(buf, "\\r");
		else if (*p == '\t')
			pgq_buf_puts(buf, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			pgq_buf_printf(buf, "\\u%04x", *p);
		else
			pgq_buf_putc(buf, (char) *p);
		p += n;
		left -= (size_t) n;
	}
	pgq_buf_putc(buf, '"');
}

/*
 * pgq_buf_escaped
 *		Append text that came from outside (a notification, say) for a log
 *		line: in double quotes, with backslash and quote escaped, control
 *		characters as \n, \r, \t or \xNN, C1 controls (U+0080..U+009F) as
 *		\u00NN and bytes that are not valid UTF-8 as \xNN, so that it can
 *		neither start a new log line nor reach a terminal as an escape
 *		sequence.  At most max bytes of s are shown; a longer s ends with
 *		'..." (N bytes)'.  Without quoted, the quotes are left out (and a
 *		quote inside is not escaped): for text that is already a message.
 */
void
pgq_buf_escaped(PgqBuf *buf, const char *s, size_t max, bool quoted)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t				 total = strlen(s);
	size_t				 left = total < max ? total : max;

	if (quoted)
		pgq_buf_putc(buf, '"');
	while (left > 0)
	{
		int n = utf8_sequence_length(p, left);

		if (n == 0)
		{
			pgq_buf_printf(buf, "\\x%02x", *p);
			n = 1;
		}
		else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			pgq_buf_printf(buf, "\\u%04x", p[1]);
		else if (n > 1)
			pgq_buf_append(buf, (const char *) p, (size_t) n);
		else if ((*p == '"' && quoted) || *p == '\\')
		{
			pgq_buf_putc(buf, '\\');
			pgq_buf_putc(buf, (char) *p);
		}
		else if (*p == '\n')
			pgq_buf_puts(buf, "\\n");
		else if (*p == '\r')
			pgq_buf_puts(buf, "\\r");
		else if (*p == '\t')
			pgq_buf_puts(buf, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			pgq_buf_printf(buf, "\\x%02x", *p);
		else
			pgq_buf_putc(buf, (char) *p);
		p += n;
		left -= (size_t) n;
	}
	if (total > max)
		pgq_buf_printf(buf, "...%s (%zu bytes)", quoted ? "\"" : "", total);
	else if (quoted)
		pgq_buf_putc(buf, '"');
}

/* ------------------------------------------------------------------------
 * Reading notifications
 * ------------------------------------------------------------------------
 */

/* skip_ws: advance past JSON white space */
static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/*
 * scan_string
 *		p points at a '"': read the string into out (truncated to outlen,
 *		escapes other than \uXXXX decoded, \uXXXX kept as '?') and return
 *		the position after the closing quote, or NULL on a syntax error.
 *		out may be NULL to skip the string.
 */
static const char *
scan_string(const char *p, char *out, size_t outlen)
{
	size_t n = 0;

	p++;
	while (*p && *p != '"')
	{
		char c = *p++;

		if (c == '\\')
		{
			c = *p++;
			switch (c)
			{
				case 'n':
					c = '\n';
					break;
				case 't':
					c = '\t';
					break;
				case 'r':
					c = '\r';
					break;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'u':
					for (int i = 0; i < 4; i++)
						if (!isxdigit((unsigned char) *p++))
							return NULL;
					c = '?';
					break;
				case '\0':
					return NULL;
				default:
					break; /* \" \\ \/ */
			}
		}
		if (out && n + 1 < outlen)
			out[n++] = c;
	}
	if (*p != '"')
		return NULL;
	if (out && outlen > 0)
		out[n] = '\0';
	return p + 1;
}

/*
 * skip_value
 *		Skip one JSON value (of any kind, nested to any depth); the position
 *		after it, or NULL on a syntax error.
 */
static const char *
skip_value(const char *p)
{
	p = skip_ws(p);
	if (*p == '"')
		return scan_string(p, NULL, 0);
	if (*p == '{' || *p == '[')
	{
		char close = (*p == '{') ? '}' : ']';

		p = skip_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;)
		{
			if (close == '}')
			{
				p = skip_ws(p);
				if (*p != '"' || (p = scan_string(p, NULL, 0)) == NULL)
					return NULL;
				p = skip_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if ((p = skip_value(p)) == NULL)
				return NULL;
			p = skip_ws(p);
			if (*p == ',')
				p++;
			else if (*p == close)
				return p + 1;
			else
				return NULL;
		}
	}
	/* number, true, false, null */
	if (*p == '\0')
		return NULL;
	while (*p && (isalnum((unsigned char) *p) || *p == '-' || *p == '+' || *p == '.'))
		p++;
	return p;
}

/*
 * scan_ids
 *		p points at the value of "ids": read an array of integers into
 *		event->ids.  Returns the position after the array, or NULL.
 */
static const char *
scan_ids(const char *p, PgqEvent *event)
{
	int cap = 0;

	p = skip_ws(p);
	if (*p != '[')
		return skip_value(p);
	p = skip_ws(p + 1);
	if (*p == ']')
		return p + 1;
	for (;;)
	{
		char	 *end;
		long long v;

		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || errno != 0)
			return NULL;
		if (event->nids == cap)
		{
			int64_t *ids;

			cap = cap ? cap * 2 : 16;
			ids = realloc(event->ids, sizeof(int64_t) * (size_t) cap);
			if (ids == NULL)
				return NULL;
			event->ids = ids;
		}
		event->ids[event->nids++] = (int64_t) v;
		p = skip_ws(end);
		if (*p == ',')
			p = skip_ws(p + 1);
		else if (*p == ']')
			return p + 1;
		else
			return NULL;
	}
}

/*
 * pgq_event_parse
 *		Read the keys the worker uses from a notification payload.  Returns
 *		false (event emptied) when payload is not a well-formed JSON object.
 */
bool
pgq_event_parse(const char *payload, PgqEvent *event)
{
	const char *p = skip_ws(payload);

	memset(event, 0, sizeof(*event));
	event->jobs = -1;
	if (*p != '{')
		return false;
	p = skip_ws(p + 1);
	if (*p == '}')
		return true;
	for (;;)
	{
		char key[32];

		if (*p != '"' || (p = scan_string(p, key, sizeof(key))) == NULL)
			break;
		p = skip_ws(p);
		if (*p++ != ':')
			break;
		p = skip_ws(p);
		if (strcmp(key, "type") == 0 && *p == '"')
			p = scan_string(p, event->type, sizeof(event->type));
		else if (strcmp(key, "id") == 0 && *p == '"')
			p = scan_string(p, event->id, sizeof(event->id));
		else if (strcmp(key, "ids") == 0)
			p = scan_ids(p, event);
		else if (strcmp(key, "jobs") == 0 && *p >= '0' && *p <= '9')
		{
			char *end;

			event->jobs = strtoll(p, &end, 10);
			p = end;
		}
		else if (strcmp(key, "entrypoints") == 0 && *p == '[')
		{
			event->no_entrypoints = (*skip_ws(p + 1) == ']');
			p = skip_value(p);
		}
		else
			p = skip_value(p);
		if (p == NULL)
			break;
		p = skip_ws(p);
		if (*p == '}')
			return true;
		if (*p != ',')
			break;
		p = skip_ws(p + 1);
	}
	pgq_event_free(event);
	return false;
}

void
pgq_event_free(PgqEvent *event)
{
	free(event->ids);
	memset(event, 0, sizeof(*event));
}
