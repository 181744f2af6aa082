/*-------------------------------------------------------------------------
 *
 * buf.c
 *		Small helpers of libpgqueuer: growable strings, PostgreSQL array
 *		literals, clocks, timestamps, random UUIDs and error text.
 *
 * IDENTIFICATION
 *		client/lib/buf.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgq_internal.h"

void
pgq_buf_init(PgqBuf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->oom = false;
}

void
pgq_buf_free(PgqBuf *buf)
{
	free(buf->data);
	pgq_buf_init(buf);
}

/* Empty the buffer, keeping its memory. */
void
pgq_buf_reset(PgqBuf *buf)
{
	buf->len = 0;
	buf->oom = false;
	if (buf->data)
		buf->data[0] = '\0';
}

/*
 * reserve
 *		Make room for extra more bytes plus the terminator; false (and oom
 *		set) when memory runs out.
 */
static bool
reserve(PgqBuf *buf, size_t extra)
{
	size_t need;
	size_t cap;
	char  *data;

	if (buf->oom)
		return false;
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;
	cap = buf->cap ? buf->cap : 256;
	while (cap < need)
		cap *= 2;
	data = realloc(buf->data, cap);
	if (data == NULL)
	{
		buf->oom = true;
		return false;
	}
	buf->data = data;
	buf->cap = cap;
	return true;
}

void
pgq_buf_append(PgqBuf *buf, const char *data, size_t len)
{
	if (!reserve(buf, len))
		return;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void
pgq_buf_puts(PgqBuf *buf, const char *s)
{
	pgq_buf_append(buf, s, strlen(s));
}

void
pgq_buf_putc(PgqBuf *buf, char c)
{
	pgq_buf_append(buf, &c, 1);
}

void
pgq_buf_printf(PgqBuf *buf, const char *fmt, ...)
{
	va_list ap;
	int		n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(buf, (size_t) n))
		return;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t) n;
}

/*
 * pgq_buf_array_elem
 *		Append s as a double-quoted element of an array literal ("{...}"),
 *		escaping quotes and backslashes; NULL becomes the NULL element.
 */
void
pgq_buf_array_elem(PgqBuf *buf, const char *s)
{
	if (s == NULL)
	{
		pgq_buf_puts(buf, "NULL");
		return;
	}
	pgq_buf_putc(buf, '"');
	for (const char *p = s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			pgq_buf_putc(buf, '\\');
		pgq_buf_putc(buf, *p);
	}
	pgq_buf_putc(buf, '"');
}

/*
 * pgq_buf_array_bytea
 *		Append bytes as an element of a bytea[] literal in hex format:
 *		"\\x0a1b..." (the backslash escaped for the array parser).
 */
void
pgq_buf_array_bytea(PgqBuf *buf, const void *data, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char *p = data;

	if (data == NULL)
	{
		pgq_buf_puts(buf, "NULL");
		return;
	}
	if (!reserve(buf, 2 * len + 6))
		return;
	pgq_buf_puts(buf, "\"\\\\x");
	for (size_t i = 0; i < len; i++)
	{
		buf->data[buf->len++] = hex[p[i] >> 4];
		buf->data[buf->len++] = hex[p[i] & 15];
	}
	buf->data[buf->len] = '\0';
	pgq_buf_putc(buf, '"');
}

double
pgq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
pgq_utc_timestamp(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm		tm;
	char			date[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%06ldZ", date, (long) (ts.tv_nsec / 1000));
}

/*
 * pgq_random_uuid
 *		A version 4 UUID from 16 bytes of /dev/urandom, as text.
 */
bool
pgq_random_uuid(char out[PGQ_UUID_LEN])
{
	unsigned char b[16];
	size_t		  got = 0;
	int			  fd;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (got < sizeof(b))
	{
		ssize_t n = read(fd, b + got, sizeof(b) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			close(fd);
			return false;
		}
		got += (size_t) n;
	}
	close(fd);
	b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, PGQ_UUID_LEN,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
			 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return true;
}

char *
pgq_strdup_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/*
 * pgq_copy_pq_error
 *		The error of res (its primary message, SQLSTATE and detail) or else
 *		of conn, on one line without libpq's trailing newline.
 */
void
pgq_copy_pq_error(char *out, size_t outlen, PGconn *conn, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	size_t		len;

	if (primary)
	{
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

		snprintf(out, outlen, "%s (SQLSTATE %s)%s%s", primary,
				 sqlstate ? sqlstate : "?????",
				 detail ? ": " : "", detail ? detail : "");
	}
	else
	{
		const char *msg = conn ? PQerrorMessage(conn) : "";

		if (res && PQresultErrorMessage(res)[0])
			msg = PQresultErrorMessage(res);
		snprintf(out, outlen, "%s", msg[0] ? msg : "unknown error");
	}
	/* one line: libpq's continuation lines ("\n\t...") become spaces */
	len = 0;
	for (char *p = out; *p; p++)
	{
		if (*p == '\n' || *p == '\t' || *p == '\r')
		{
			if (len > 0 && out[len - 1] != ' ')
				out[len++] = ' ';
		}
		else
			out[len++] = *p;
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
}
