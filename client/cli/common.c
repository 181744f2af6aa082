/*-------------------------------------------------------------------------
 *
 * common.c
 *		Helpers shared by the pgq commands: connecting, running SQL,
 *		messages, option and number parsing and signals (see pgq.h).
 *
 * IDENTIFICATION
 *		client/cli/common.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpgqueuer.h"
#include "pgq.h"
#include "pgq_internal.h"

volatile int pgq_cli_interrupted = 0;

/*
 * notice_processor
 *		Print server notices as "pgq COMMAND: notice: ...", control
 *		characters escaped: a notice may quote what other roles wrote (a
 *		dedupe key, an entrypoint name).
 */
static void
notice_processor(void *arg, const char *message)
{
	PgqCli *cli = arg;
	size_t	len = strlen(message);
	PgqBuf	text;
	char   *copy;

	/* libpq's text starts with "NOTICE:  " and ends with a newline */
	if (strncmp(message, "NOTICE:  ", 9) == 0)
	{
		message += 9;
		len -= 9;
	}
	while (len > 0 && message[len - 1] == '\n')
		len--;
	copy = strndup(message, len);
	pgq_buf_init(&text);
	if (copy)
		pgq_buf_escaped(&text, copy, PGQ_ERRMSG_LEN, false);
	fprintf(stderr, "pgq %s: notice: %s\n", cli->command,
			copy == NULL || text.oom ? "(out of memory)" : text.data);
	pgq_buf_free(&text);
	free(copy);
}

/* interrupted: pgq_open_conn's stop test, SIGINT or SIGTERM was caught */
static bool
interrupted(void *arg)
{
	(void) arg;
	return pgq_cli_interrupted != 0;
}

PGconn *
pgq_cli_connect(PgqCli *cli)
{
	char	msg[PGQ_ERRMSG_LEN];
	PGconn *conn = pgq_open_conn(cli->dsn, "pgq", interrupted, NULL,
								 msg, sizeof(msg));

	if (conn == NULL)
	{
		if (pgq_cli_interrupted)
			pgq_cli_error(cli, "could not connect: interrupted by %s",
						  pgq_cli_interrupted == SIGTERM ? "SIGTERM" : "a signal");
		else
			pgq_cli_error(cli, "could not connect: %s", msg);
		return NULL;
	}
	PQsetNoticeProcessor(conn, notice_processor, cli);
	return conn;
}

PGresult *
pgq_cli_exec(PgqCli *cli, PGconn *conn, const char *sql,
			 int nparams, const char *const *params)
{
	return pgq_cli_exec_params(cli, conn, sql, nparams, NULL, params, NULL, NULL);
}

PGresult *
pgq_cli_exec_params(PgqCli *cli, PGconn *conn, const char *sql, int nparams,
					const Oid *types, const char *const *params,
					const int *lengths, const int *formats)
{
	return pgq_cli_check_result(cli, conn,
								PQexecParams(conn, sql, nparams, types, params,
											 lengths, formats, 0));
}

PGresult *
pgq_cli_check_result(PgqCli *cli, PGconn *conn, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;

	{
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

		/* a function of 1.1 missing: the extension was not upgraded */
		if (sqlstate && strcmp(sqlstate, "42883") == 0 &&
			primary && strstr(primary, "pgqueuer.") != NULL)
			hint = "The pgqueuer extension in this database may be older than pgq " PGQ_CLIENT_VERSION ": run \"pgq upgrade\" (ALTER EXTENSION pgqueuer UPDATE).";
		if (primary)
			pgq_cli_error(cli, "%s (SQLSTATE %s)%s%s", primary,
						  sqlstate ? sqlstate : "?????",
						  hint ? "\nHint: " : "", hint ? hint : "");
		else
		{
			char  *msg = PQerrorMessage(conn);
			size_t len = strlen(msg);

			while (len > 0 && msg[len - 1] == '\n')
				len--;
			pgq_cli_error(cli, "%.*s", (int) len, msg);
		}
	}
	PQclear(res);
	return NULL;
}

char *
pgq_cli_text_array(const char *const *items, int n)
{
	size_t len = 3;
	char  *out;
	char  *p;

	for (int i = 0; i < n; i++)
		len += 2 * strlen(items[i]) + 3;
	out = malloc(len);
	if (out == NULL)
		return NULL;
	p = out;
	*p++ = '{';
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (const char *c = items[i]; *c; c++)
		{
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}

/*
 * print_error
 *		"pgq COMMAND: error: " and the message, without a newline.
 */
static void print_error(PgqCli *cli, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
print_error(PgqCli *cli, const char *fmt, va_list ap)
{
	if (cli->command)
		fprintf(stderr, "pgq %s: error: ", cli->command);
	else
		fprintf(stderr, "pgq: error: ");
	vfprintf(stderr, fmt, ap);
}

void
pgq_cli_error(PgqCli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_error(cli, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
pgq_cli_usage(PgqCli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_error(cli, fmt, ap);
	va_end(ap);
	if (cli->command)
		fprintf(stderr, "\nTry \"pgq %s --help\" for more information.\n", cli->command);
	else
		fprintf(stderr, "\nTry \"pgq --help\" for more information.\n");
	return PGQ_EXIT_USAGE;
}

/*
 * pgq_cli_option_error
 *		Report a getopt_long failure as a usage error.
 */
int
pgq_cli_option_error(PgqCli *cli, char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return pgq_cli_usage(cli, "option \"%s\" requires an argument", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		return pgq_cli_usage(cli, "unrecognized option \"-%c\"", optopt);
	return pgq_cli_usage(cli, "unrecognized option \"%s\"", arg);
}

int
pgq_cli_getopt(PgqCli *cli, int argc, char **argv, const char *shortopts,
			   const struct option *longopts, void (*help)(void), int *rc)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == 'h')
	{
		help();
		*rc = PGQ_EXIT_OK;
		c = PGQ_OPT_STOP;
	}
	else if (c == '?' || c == ':')
	{
		*rc = pgq_cli_option_error(cli, argv, c);
		c = PGQ_OPT_STOP;
	}
	return c;
}

char *
pgq_cli_id_array(PgqCli *cli, char **args, int n, long **ids, int *rc)
{
	long  *v = calloc(n > 0 ? n : 1, sizeof(long));
	char  *array = NULL;
	size_t array_size;
	FILE  *mem;

	*rc = PGQ_EXIT_FAIL;
	if (v == NULL)
	{
		pgq_cli_error(cli, "out of memory");
		return NULL;
	}
	for (int i = 0; i < n; i++)
	{
		if (!pgq_cli_parse_int(cli, "ID", args[i], 1, LONG_MAX, &v[i]))
		{
			free(v);
			*rc = PGQ_EXIT_USAGE;
			return NULL;
		}
	}
	mem = open_memstream(&array, &array_size);
	if (mem != NULL)
	{
		fputc('{', mem);
		for (int i = 0; i < n; i++)
			fprintf(mem, "%s%ld", i > 0 ? "," : "", v[i]);
		fputc('}', mem);
		if (fclose(mem) != 0)
		{
			free(array);
			array = NULL;
		}
	}
	if (array == NULL)
		pgq_cli_error(cli, "out of memory");
	if (array != NULL && ids != NULL)
		*ids = v;
	else
		free(v);
	return array;
}

bool
pgq_cli_parse_int(PgqCli *cli, const char *what, const char *text,
				  long min, long max, long *out)
{
	char *end;
	long  v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
	{
		pgq_cli_usage(cli, "invalid value \"%s\" for %s: an integer from %ld to %ld is required",
					  text, what, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool
pgq_cli_parse_double(PgqCli *cli, const char *what, const char *text,
					 double min, double max, double *out)
{
	char  *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || isnan(v) || v < min || v > max)
	{
		pgq_cli_usage(cli, "invalid value \"%s\" for %s: a number from %g to %g is required",
					  text, what, min, max);
		return false;
	}
	*out = v;
	return true;
}

static void
on_signal(int signo)
{
	pgq_cli_interrupted = signo;
}

void
pgq_cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
