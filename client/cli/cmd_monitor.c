/*-------------------------------------------------------------------------
 *
 * cmd_monitor.c
 *		pgq dashboard and listen: watch the queue.
 *
 * dashboard prints the newest rows of pgqueuer.log_statistics() (which
 * first folds new log rows into the statistics table, as PgQueuer's
 * on-demand aggregation does) and the current pgqueuer.queue_size(), once
 * or every --interval seconds after clearing the screen, until SIGINT or
 * SIGTERM.  listen LISTENs on a channel and prints each notification as
 * "CHANNEL PAYLOAD" on its own line, flushed at once so that it works
 * through a pipe, until SIGINT or SIGTERM.
 *
 * IDENTIFICATION
 *		client/cli/cmd_monitor.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgq.h"
#include "table.h"

#define EXIT_STATUS_SIGNAL_HELP \
	"\nExit status: 0 success (also when stopped by SIGINT or SIGTERM), 1 failure\n" \
	"(connection or server error), 2 usage error.\n"

/*
 * wait_interrupted
 *		Sleep for seconds, or until SIGINT or SIGTERM has been caught.
 *		Returns true if interrupted.  Signals are blocked except inside
 *		ppoll(), so one arriving just before the wait is not missed.
 */
static bool
wait_interrupted(double seconds)
{
	sigset_t		block;
	sigset_t		old;
	struct timespec deadline;
	bool			interrupted;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t) seconds;
	deadline.tv_nsec += (long) ((seconds - (double) (time_t) seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	while (!pgq_cli_interrupted)
	{
		struct timespec now;
		struct timespec left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = deadline.tv_sec - now.tv_sec;
		left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0)
		{
			left.tv_sec--;
			left.tv_nsec += 1000000000L;
		}
		if (left.tv_sec < 0)
			break;
		ppoll(NULL, 0, &left, &old);
	}
	interrupted = pgq_cli_interrupted != 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return interrupted;
}

/*
 * show_dashboard
 *		Print the statistics table and the queue table once.  False after
 *		an error.
 */
static bool
show_dashboard(PgqCli *cli, PGconn *conn, const char *limit, PgqTableFormat format)
{
	static const char *const stat_headers[] = {
		"Created", "Count", "Entrypoint", "Status", "Priority"};
	static const char *const queue_headers[] = {
		"Jobs", "Entrypoint", "Status", "Priority"};
	PGresult *stats;
	PGresult *queue;

	stats = pgq_cli_exec(cli, conn,
						 "SELECT pg_catalog.to_char(created, 'YYYY-MM-DD HH24:MI:SSOF'),"
						 " count, entrypoint, status, priority"
						 " FROM pgqueuer.log_statistics(max_rows => $1::integer)",
						 1, &limit);
	if (stats == NULL)
		return false;
	queue = pgq_cli_exec(cli, conn,
						 "SELECT count, entrypoint, status, priority"
						 " FROM pgqueuer.queue_size()"
						 " ORDER BY entrypoint, status, priority",
						 0, NULL);
	if (queue == NULL)
	{
		PQclear(stats);
		return false;
	}
	pgq_table_print_result(stdout, format, stat_headers, stats);
	printf("\n");
	pgq_table_print_result(stdout, format, queue_headers, queue);
	fflush(stdout);
	PQclear(stats);
	PQclear(queue);
	return true;
}

static void
dashboard_help(void)
{
	printf("Show job statistics and queue sizes, once or refreshed periodically.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq dashboard [--interval SECONDS] [--tail N] [--table-format FORMAT]\n"
		   "\n"
		   "Prints the newest N rows of pgqueuer.log_statistics() (which first folds\n"
		   "new log rows into the statistics table) with the columns Created, Count,\n"
		   "Entrypoint, Status and Priority, newest first, then a blank line and the\n"
		   "jobs now in the queue table, from pgqueuer.queue_size(), with the\n"
		   "columns Jobs, Entrypoint, Status and Priority.\n"
		   "\n"
		   "Options:\n"
		   "  -i, --interval SECONDS   clear the screen and refresh every SECONDS until\n"
		   "                           SIGINT or SIGTERM (default: print once and exit)\n"
		   "  -n, --tail, --limit N    statistics rows to show (default: 25)\n" PGQ_TABLE_FORMAT_HELP
		   "  -h, --help               show this help and exit\n" EXIT_STATUS_SIGNAL_HELP,
		   pgq_table_format_names());
}

/*
 * cmd_dashboard
 *		pgq dashboard: statistics and queue sizes, once or every --interval.
 */
int
cmd_dashboard(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"interval", required_argument, NULL, 'i'},
		{"tail", required_argument, NULL, 'n'},
		{"limit", required_argument, NULL, 'n'},
		PGQ_TABLE_OPTIONS,
		{NULL, 0, NULL, 0}};
	double		   interval = 0;
	bool		   repeat = false;
	const char	  *limit = "25";
	const char	  *format_name = NULL;
	PgqTableFormat format;
	PGconn		  *conn;
	long		   lval;
	int			   c;
	int			   rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":i:n:t:h", options, dashboard_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'i':
				if (!pgq_cli_parse_double(cli, "--interval", optarg, 0.001, 86400.0 * 365, &interval))
					return PGQ_EXIT_USAGE;
				repeat = true;
				break;
			case 'n':
				if (!pgq_cli_parse_int(cli, "--tail", optarg, 0, INT_MAX, &lval))
					return PGQ_EXIT_USAGE;
				limit = optarg;
				break;
			case 't':
				format_name = optarg;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	conn = pgq_table_command_connect(cli, argc, argv, format_name, &format, &rc);
	if (conn == NULL)
		return rc;
	if (!repeat)
	{
		bool ok = show_dashboard(cli, conn, limit, format);

		PQfinish(conn);
		return ok ? PGQ_EXIT_OK : PGQ_EXIT_FAIL;
	}

	pgq_cli_catch_signals();
	do
	{
		/* clear the screen and move home, as PgQueuer does */
		printf("\033[2J\033[H");
		if (!show_dashboard(cli, conn, limit, format))
		{
			PQfinish(conn);
			return PGQ_EXIT_FAIL;
		}
	} while (!wait_interrupted(interval));
	PQfinish(conn);
	return PGQ_EXIT_OK;
}

/*
 * print_escaped
 *		Print s with its control characters (C0, DEL, and C1 as UTF-8
 *		U+0080..U+009F) written as \xNN: any role that can connect may
 *		NOTIFY, and a payload must neither forge output lines nor reach a
 *		terminal as an escape sequence.  A JSON payload has no raw control
 *		characters and is printed unchanged.
 */
static void
print_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	for (; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0)
		{
			fprintf(out, "\\xc2\\x%02x", p[1]);
			p++;
		}
		else
			fputc(*p, out);
	}
}

/*
 * print_notifications
 *		Print every notification libpq has received as "CHANNEL PAYLOAD",
 *		control characters escaped.
 */
static void
print_notifications(PGconn *conn)
{
	PGnotify *note;

	while ((note = PQnotifies(conn)) != NULL)
	{
		print_escaped(stdout, note->relname);
		fputc(' ', stdout);
		print_escaped(stdout, note->extra);
		fputc('\n', stdout);
		fflush(stdout);
		PQfreemem(note);
	}
}

/*
 * listen_loop
 *		Wait for notifications on the connection's socket and print them
 *		until SIGINT or SIGTERM.  Signals stay blocked except inside
 *		ppoll(), so that one arriving between the check and the wait is not
 *		missed.  False after a connection error.
 */
static bool
listen_loop(PgqCli *cli, PGconn *conn)
{
	sigset_t block;
	sigset_t old;
	bool	 ok = true;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);

	while (!pgq_cli_interrupted)
	{
		struct pollfd pfd;
		int			  rc;

		print_notifications(conn);
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
		{
			pgq_cli_error(cli, "connection lost");
			ok = false;
			break;
		}
		rc = ppoll(&pfd, 1, NULL, &old);
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			pgq_cli_error(cli, "could not wait for notifications: %s", strerror(errno));
			ok = false;
			break;
		}
		if (!PQconsumeInput(conn))
		{
			char  *msg = PQerrorMessage(conn);
			size_t len = strlen(msg);

			while (len > 0 && msg[len - 1] == '\n')
				len--;
			pgq_cli_error(cli, "connection lost: %.*s", (int) len, msg);
			ok = false;
			break;
		}
	}
	if (ok)
		print_notifications(conn);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ok;
}

static void
listen_help(void)
{
	printf("Print the notifications of a channel as they arrive.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq listen [--channel NAME]\n"
		   "\n"
		   "LISTENs on the channel, says \"Listening on channel \"NAME\".\" on stderr,\n"
		   "then prints each notification on its own line as \"CHANNEL PAYLOAD\" (the\n"
		   "payload as sent, JSON for pgqueuer's events, with control characters\n"
		   "written as \\xNN since any role may NOTIFY), flushed at once, until\n"
		   "SIGINT or SIGTERM.\n"
		   "\n"
		   "Options:\n"
		   "  -c, --channel NAME   channel to listen on (default: ch_pgqueuer)\n"
		   "  -h, --help           show this help and exit\n" EXIT_STATUS_SIGNAL_HELP);
}

/*
 * cmd_listen
 *		pgq listen: print the notifications of a channel until a signal.
 */
int
cmd_listen(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"channel", required_argument, NULL, 'c'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	const char *channel = "ch_pgqueuer";
	PGconn	   *conn;
	PGresult   *res;
	char	   *ident;
	char	   *sql;
	bool		ok;
	int			c;
	int			rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":c:h", options, listen_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'c':
				channel = optarg;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);
	if (channel[0] == '\0')
		return pgq_cli_usage(cli, "the channel name must not be empty");

	/* catch the signals before LISTEN, so none is lost after it */
	pgq_cli_catch_signals();
	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		return PGQ_EXIT_FAIL;
	ident = PQescapeIdentifier(conn, channel, strlen(channel));
	if (ident == NULL || asprintf(&sql, "LISTEN %s", ident) < 0)
	{
		pgq_cli_error(cli, "out of memory");
		PQfreemem(ident);
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	PQfreemem(ident);
	res = pgq_cli_exec(cli, conn, sql, 0, NULL);
	free(sql);
	if (res == NULL)
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	PQclear(res);
	fprintf(stderr, "Listening on channel \"%s\".\n", channel);

	ok = listen_loop(cli, conn);
	PQfinish(conn);
	return ok ? PGQ_EXIT_OK : PGQ_EXIT_FAIL;
}
