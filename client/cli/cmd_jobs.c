/*-------------------------------------------------------------------------
 *
 * cmd_jobs.c
 *		pgq queue, failed, requeue and schedules: the commands that work on
 *		jobs and cron schedules (the listings jobs and workers are in
 *		cmd_list.c).
 *
 * queue calls pgqueuer.enqueue() (always with on_conflict 'skip', as
 * PgQueuer's CLI does: a NULL id is exactly the duplicate case, and
 * --on-conflict only decides the message and exit status); its payload is
 * the PAYLOAD argument or the bytes of --payload-file (standard input for
 * "-"), sent as a binary parameter.  failed lists the jobs held with status
 * 'failed' (pgqueuer.list_jobs()), requeue puts them back with
 * pgqueuer.requeue(), and schedules lists pgqueuer.list_schedules() after
 * removing the ones named by --remove with pgqueuer.unschedule().  Every
 * statement is a call of a pgqueuer function with qualified names and no
 * operator (see pgq.h).  Results go to stdout with PgQueuer's wording;
 * tables use table.c.
 *
 * IDENTIFICATION
 *		client/cli/cmd_jobs.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq.h"
#include "table.h"

/* bytea's limit: a field value is at most 1 GB */
#define MAX_PAYLOAD_BYTES ((size_t) 1024 * 1024 * 1024 - 1)

/*
 * read_payload
 *		Read the whole of path ("-": standard input) into a malloc'd buffer
 *		(*len bytes).  False after printing an error: the file cannot be
 *		read, or it is larger than a bytea can hold.
 */
static bool
read_payload(PgqCli *cli, const char *path, char **data, size_t *len)
{
	FILE	   *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t		cap = 65536;
	size_t		n = 0;
	char	   *buf;
	const char *problem = NULL;

	if (in == NULL)
	{
		pgq_cli_error(cli, "could not open payload file \"%s\": %s", path, strerror(errno));
		return false;
	}
	buf = malloc(cap);
	if (buf == NULL)
		problem = "out of memory";
	while (problem == NULL)
	{
		size_t want;
		size_t got;

		if (n == cap)
		{
			char *grown;

			if (cap > MAX_PAYLOAD_BYTES)
			{
				problem = "too large";
				break;
			}
			grown = realloc(buf, cap * 2);
			if (grown == NULL)
			{
				problem = "out of memory";
				break;
			}
			buf = grown;
			cap *= 2;
		}
		want = cap - n;
		got = fread(buf + n, 1, want, in);
		n += got;
		if (got < want)
			break; /* end of file, or an error */
	}
	if (problem == NULL && ferror(in))
		problem = strerror(errno);
	if (problem == NULL && n > MAX_PAYLOAD_BYTES)
		problem = "too large";
	if (in != stdin)
		fclose(in);
	if (problem != NULL)
	{
		if (strcmp(problem, "too large") == 0)
			pgq_cli_error(cli, "payload file \"%s\" is too large: a payload holds at most %zu bytes",
						  path, MAX_PAYLOAD_BYTES);
		else
			pgq_cli_error(cli, "could not read payload file \"%s\": %s", path, problem);
		free(buf);
		return false;
	}
	*data = buf;
	*len = n;
	return true;
}

/*
 * print_repr
 *		Print s quoted like Python's repr() of a string, as PgQueuer's
 *		messages show the dedupe key: single quotes, unless s holds a single
 *		quote and no double quote; backslashes and the chosen quote escaped.
 */
static void
print_repr(FILE *out, const char *s)
{
	char quote = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';

	fputc(quote, out);
	for (; *s; s++)
	{
		if (*s == '\\' || *s == quote)
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else
			fputc(*s, out);
	}
	fputc(quote, out);
}

/*
 * queue_payload
 *		The payload of pgq queue: the bytes of payload_file, else of arg,
 *		else none (*payload NULL).  False after printing an error.
 */
static bool
queue_payload(PgqCli *cli, const char *payload_file, const char *arg,
			  char **payload, size_t *len)
{
	*payload = NULL;
	*len = 0;
	if (payload_file != NULL)
	{
		if (!read_payload(cli, payload_file, payload, len))
			return false;
	}
	else if (arg != NULL)
	{
		*payload = strdup(arg);
		*len = strlen(arg);
		if (*payload == NULL)
		{
			pgq_cli_error(cli, "out of memory");
			return false;
		}
	}
	if (*len > INT_MAX)
	{
		free(*payload);
		pgq_cli_error(cli, "the payload is too large: %zu bytes", *len);
		return false;
	}
	return true;
}

/*
 * queue_report
 *		Print what enqueue() returned (res, cleared here) with PgQueuer's
 *		wording; returns the exit status: a duplicate key fails unless skip.
 */
static int
queue_report(PGresult *res, bool skip, const char *dedupe_key)
{
	int rc = PGQ_EXIT_OK;

	if (!PQgetisnull(res, 0, 0))
		printf("Enqueued job %s.\n", PQgetvalue(res, 0, 0));
	else
	{
		printf(skip ? "Skipped: duplicate dedupe_key " : "Error: duplicate dedupe_key ");
		print_repr(stdout, dedupe_key ? dedupe_key : "");
		printf(".\n");
		if (!skip)
			rc = PGQ_EXIT_FAIL;
	}
	PQclear(res);
	return rc;
}

static void
queue_help(void)
{
	printf("Enqueue one job.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq queue ENTRYPOINT [PAYLOAD] [OPTIONS]\n"
		   "  pgq queue ENTRYPOINT --payload-file FILE [OPTIONS]\n"
		   "\n"
		   "Calls pgqueuer.enqueue().  PAYLOAD is stored as the bytes of the argument,\n"
		   "or of FILE (\"-\": standard input) for payloads too large or too binary\n"
		   "for a command line (up to 1 GB); no payload: NULL.  Prints \"Enqueued job ID.\"; when --dedupe-key names\n"
		   "a key already used by a queued or picked job, prints \"Skipped: duplicate\n"
		   "dedupe_key 'KEY'.\" (--on-conflict skip, exit 0) or \"Error: duplicate\n"
		   "dedupe_key 'KEY'.\" (--on-conflict raise, exit 1).\n"
		   "\n"
		   "Options:\n"
		   "  -p, --priority N       priority, higher runs first (default: 0)\n"
		   "  -d, --delay SECONDS    run no earlier than SECONDS from now (default: 0)\n"
		   "  -k, --dedupe-key KEY   at most one queued or picked job per key\n"
		   "                         (default: none)\n"
		   "      --on-conflict MODE raise or skip (default: raise)\n"
		   "  -f, --payload-file FILE  the payload is the content of FILE, or standard\n"
		   "                         input when FILE is \"-\"\n"
		   "  -h, --help             show this help and exit\n"
		   "\n"
		   "Exit status: 0 enqueued (or skipped), 1 duplicate key under raise, or a\n"
		   "connection or server error, 2 usage error.\n");
}

/* pgq queue's options and arguments */
typedef struct QueueArgs
{
	const char *entrypoint;
	const char *payload;	  /* PAYLOAD, or NULL */
	const char *payload_file; /* --payload-file, or NULL */
	const char *priority;
	const char *delay;
	const char *dedupe_key; /* or NULL */
	bool		skip;		/* --on-conflict skip */
} QueueArgs;

/*
 * queue_options
 *		Read pgq queue's options and arguments into *args.  Returns -1 when
 *		the command goes on, else its exit status (help shown, or a usage
 *		error printed).
 */
static int
queue_options(PgqCli *cli, int argc, char **argv, QueueArgs *args)
{
	static const struct option options[] = {
		{"priority", required_argument, NULL, 'p'},
		{"delay", required_argument, NULL, 'd'},
		{"dedupe-key", required_argument, NULL, 'k'},
		{"on-conflict", required_argument, NULL, 'c'},
		{"payload-file", required_argument, NULL, 'f'},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	int	   rc;
	int	   c;
	long   lval;
	double dval;

	*args = (QueueArgs){.priority = "0", .delay = "0"};
	while ((c = pgq_cli_getopt(cli, argc, argv, ":p:d:k:f:h", options, queue_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'p':
				if (!pgq_cli_parse_int(cli, "--priority", optarg, INT_MIN, INT_MAX, &lval))
					return PGQ_EXIT_USAGE;
				args->priority = optarg;
				break;
			case 'd':
				if (!pgq_cli_parse_double(cli, "--delay", optarg, 0, 1e9, &dval))
					return PGQ_EXIT_USAGE;
				args->delay = optarg;
				break;
			case 'k':
				args->dedupe_key = optarg;
				break;
			case 'c':
				if (strcmp(optarg, "skip") == 0)
					args->skip = true;
				else if (strcmp(optarg, "raise") == 0)
					args->skip = false;
				else
					return pgq_cli_usage(cli, "invalid value \"%s\" for --on-conflict: choose raise or skip",
										 optarg);
				break;
			case 'f':
				args->payload_file = optarg;
				break;
		}
	}
	if (c == PGQ_OPT_STOP)
		return rc;
	if (optind >= argc)
		return pgq_cli_usage(cli, "missing argument ENTRYPOINT");
	if (argc - optind > 2)
		return pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind + 2]);
	if (argc - optind == 2 && args->payload_file != NULL)
		return pgq_cli_usage(cli, "give the payload either as PAYLOAD or with --payload-file, not both");
	args->entrypoint = argv[optind];
	args->payload = argc - optind == 2 ? argv[optind + 1] : NULL;
	return -1;
}

/*
 * cmd_queue
 *		pgq queue: enqueue one job, reporting a duplicate dedupe key as
 *		PgQueuer does.
 */
int
cmd_queue(PgqCli *cli, int argc, char **argv)
{
	/* text, bytea, int4, float8, text */
	static const Oid types[5] = {25, 17, 23, 701, 25};
	QueueArgs		 args;
	char			*payload;
	size_t			 payload_len;
	const char		*params[5];
	int				 lengths[5] = {0};
	int				 formats[5] = {0};
	PGconn			*conn;
	PGresult		*res;
	int				 rc;

	rc = queue_options(cli, argc, argv, &args);
	if (rc >= 0)
		return rc;
	if (!queue_payload(cli, args.payload_file, args.payload, &payload, &payload_len))
		return PGQ_EXIT_FAIL;

	conn = pgq_cli_connect(cli);
	if (conn == NULL)
	{
		free(payload);
		return PGQ_EXIT_FAIL;
	}
	params[0] = args.entrypoint;
	params[1] = payload ? (payload_len ? payload : "") : NULL;
	lengths[1] = (int) payload_len;
	formats[1] = 1; /* the bytes as they are, in binary */
	params[2] = args.priority;
	params[3] = args.delay;
	params[4] = args.dedupe_key;
	res = pgq_cli_exec_params(cli, conn,
							  "SELECT pgqueuer.enqueue($1::pg_catalog.text, $2::pg_catalog.bytea,"
							  " $3::pg_catalog.int4,"
							  " pg_catalog.make_interval(secs => $4::pg_catalog.float8),"
							  " $5::pg_catalog.text, NULL, 'skip'::pg_catalog.text)",
							  5, types, params, lengths, formats);
	free(payload);
	if (res == NULL)
	{
		PQfinish(conn);
		return PGQ_EXIT_FAIL;
	}
	PQfinish(conn);
	return queue_report(res, args.skip, args.dedupe_key);
}

static void
failed_help(void)
{
	printf("List the jobs held with status 'failed'.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq failed [-n N] [--table-format FORMAT]\n"
		   "\n"
		   "Calls pgqueuer.list_jobs(statuses => ARRAY['failed']) and prints the N\n"
		   "most recent as a table with the columns ID, Entrypoint, Attempts, Created\n"
		   "(YYYY-MM-DD HH:MM:SS in the session's time zone) and Payload bytes,\n"
		   "oldest job first, or \"No failed jobs.\".  Put them back in the queue\n"
		   "with \"pgq requeue ID...\".\n"
		   "\n"
		   "Options:\n"
		   "  -n, --limit N            show at most N jobs, 1 to 10000 (default: 25)\n" PGQ_TABLE_FORMAT_HELP
		   "  -h, --help               show this help and exit\n" PGQ_EXIT_STATUS_HELP,
		   pgq_table_format_names());
}

/*
 * cmd_failed
 *		pgq failed: table of the jobs held as failed.
 */
int
cmd_failed(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"limit", required_argument, NULL, 'n'},
		PGQ_TABLE_OPTIONS,
		{NULL, 0, NULL, 0}};
	static const char *const headers[] = {
		"ID", "Entrypoint", "Attempts", "Created", "Payload bytes"};
	const char	  *limit = "25";
	const char	  *format_name = NULL;
	PgqTableFormat format;
	PGconn		  *conn;
	PGresult	  *res;
	long		   lval;
	int			   c;
	int			   rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":n:t:h", options, failed_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'n':
				if (!pgq_cli_parse_int(cli, "--limit", optarg, 1, PGQ_MAX_LIST_ROWS, &lval))
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
	res = pgq_cli_exec(cli, conn,
					   "SELECT id, entrypoint, attempts,"
					   " pg_catalog.to_char(created, 'YYYY-MM-DD HH24:MI:SS'),"
					   " COALESCE(payload_size, 0)"
					   " FROM pgqueuer.list_jobs(statuses => '{failed}'::pgqueuer.pgqueuer_status[],"
					   " max_rows => $1::pg_catalog.int4)"
					   " ORDER BY id",
					   1, &limit);
	return pgq_table_finish_listing(conn, res, format, headers,
									"No failed jobs.");
}

static void
requeue_help(void)
{
	printf("Put jobs held as failed back in the queue.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq requeue ID...\n"
		   "\n"
		   "Calls pgqueuer.requeue(ARRAY[ID...]): each held job becomes queued again,\n"
		   "due now, attempts 0.  Prints \"Re-queued N job(s).\" where N counts the\n"
		   "jobs that changed, and on stderr a notice for each ID that did not (not\n"
		   "held as failed, or its dedupe_key is in use by an active job).\n"
		   "\n"
		   "Options:\n"
		   "  -h, --help   show this help and exit\n" PGQ_EXIT_STATUS_HELP);
}

/*
 * report_not_requeued
 *		A notice on stderr for each of ids (once, also when given twice)
 *		that is not among the ids requeue() returned in res.
 */
static void
report_not_requeued(PgqCli *cli, const PGresult *res, const long *ids, int nids)
{
	for (int i = 0; i < nids; i++)
	{
		bool found = false;

		for (int r = 0; r < PQntuples(res) && !found; r++)
			found = strtol(PQgetvalue(res, r, 0), NULL, 10) == ids[i];
		for (int j = 0; j < i && !found; j++)
			found = ids[j] == ids[i];
		if (!found)
			fprintf(stderr, "pgq %s: notice: job %ld was not re-queued: it is not held as failed, or its dedupe_key is in use\n",
					cli->command, ids[i]);
	}
}

/*
 * cmd_requeue
 *		pgq requeue: pgqueuer.requeue() of the given ids; counts the jobs
 *		that changed and names the others on stderr.
 */
int
cmd_requeue(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	long	 *ids;
	int		  nids;
	char	 *array;
	PGconn	 *conn;
	PGresult *res;
	int		  c;
	int		  rc;

	while ((c = pgq_cli_getopt(cli, argc, argv, ":h", options, requeue_help, &rc)) >= 0)
		;
	if (c == PGQ_OPT_STOP)
		return rc;
	nids = argc - optind;
	if (nids == 0)
		return pgq_cli_usage(cli, "missing argument ID");
	array = pgq_cli_id_array(cli, argv + optind, nids, &ids, &rc);
	if (array == NULL)
		return rc;

	conn = pgq_cli_connect(cli);
	if (conn == NULL)
	{
		free(array);
		free(ids);
		return PGQ_EXIT_FAIL;
	}
	res = pgq_cli_exec(cli, conn, "SELECT * FROM pgqueuer.requeue($1::pg_catalog.int8[])",
					   1, (const char *const *) &array);
	PQfinish(conn);
	free(array);
	if (res != NULL)
	{
		report_not_requeued(cli, res, ids, nids);
		printf("Re-queued %d job(s).\n", PQntuples(res));
		PQclear(res);
	}
	free(ids);
	return res != NULL ? PGQ_EXIT_OK : PGQ_EXIT_FAIL;
}

/* Is s all ASCII digits (and not empty), like Python's str.isdigit()? */
static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		if (!isdigit((unsigned char) *s))
			return false;
	}
	return true;
}

/*
 * remove_schedule
 *		Remove the schedules named by one --remove value: an id when it is
 *		all digits, else an entrypoint.  Reports on stderr; false after an
 *		error.
 */
static bool
remove_schedule(PgqCli *cli, PGconn *conn, const char *what)
{
	bool	  by_id = all_digits(what);
	PGresult *res;

	res = pgq_cli_exec(cli, conn,
					   by_id ? "SELECT pgqueuer.unschedule($1::pg_catalog.int8)::pg_catalog.int4" : "SELECT pgqueuer.unschedule($1::pg_catalog.text)",
					   1, &what);
	if (res == NULL)
		return false;
	if (by_id)
		fprintf(stderr, strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? "Removed schedule %s.\n" : "No schedule with id %s.\n", what);
	else if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		fprintf(stderr, "No schedule with entrypoint '%s'.\n", what);
	else
		fprintf(stderr, "Removed %s schedule(s) of entrypoint '%s'.\n",
				PQgetvalue(res, 0, 0), what);
	PQclear(res);
	return true;
}

static void
schedules_help(void)
{
	printf("List the cron schedules, after removing some.\n"
		   "\n"
		   "Usage:\n"
		   "  pgq schedules [-r ID|ENTRYPOINT]... [--table-format FORMAT]\n"
		   "\n"
		   "Prints pgqueuer.list_schedules() as a table with the columns id,\n"
		   "expression, heartbeat, created, updated, next_run, last_run, status and\n"
		   "entrypoint (times in the session's time zone, empty when NULL), ordered\n"
		   "by last_run.  Each --remove reports on stderr what it removed.\n"
		   "\n"
		   "Options:\n"
		   "  -r, --remove ID|NAME     first remove the schedule with this id (all\n"
		   "                           digits) or every schedule of this entrypoint;\n"
		   "                           may be repeated\n" PGQ_TABLE_FORMAT_HELP
		   "  -h, --help               show this help and exit\n" PGQ_EXIT_STATUS_HELP,
		   pgq_table_format_names());
}

/*
 * cmd_schedules
 *		pgq schedules: remove the --remove schedules, then list them all.
 */
int
cmd_schedules(PgqCli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"remove", required_argument, NULL, 'r'},
		PGQ_TABLE_OPTIONS,
		{NULL, 0, NULL, 0}};
	static const char *const headers[] = {
		"id", "expression", "heartbeat", "created", "updated", "next_run",
		"last_run", "status", "entrypoint"};
	const char	 **remove;
	int			   nremove = 0;
	const char	  *format_name = NULL;
	PgqTableFormat format;
	PGconn		  *conn = NULL;
	PGresult	  *res;
	int			   c;
	int			   rc;

	remove = calloc(argc > 0 ? argc : 1, sizeof(char *));
	if (remove == NULL)
	{
		pgq_cli_error(cli, "out of memory");
		return PGQ_EXIT_FAIL;
	}
	while ((c = pgq_cli_getopt(cli, argc, argv, ":r:t:h", options, schedules_help, &rc)) >= 0)
	{
		switch (c)
		{
			case 'r':
				remove[nremove++] = optarg;
				break;
			case 't':
				format_name = optarg;
				break;
		}
	}
	if (c != PGQ_OPT_STOP)
		conn = pgq_table_command_connect(cli, argc, argv, format_name, &format, &rc);
	for (int i = 0; conn != NULL && i < nremove; i++)
	{
		if (!remove_schedule(cli, conn, remove[i]))
		{
			PQfinish(conn);
			conn = NULL;
			rc = PGQ_EXIT_FAIL;
		}
	}
	free(remove);
	if (conn == NULL)
		return rc;

	/* clang-format cannot lay out a macro call inside a string concatenation */
	/* clang-format off */
	res = pgq_cli_exec(cli, conn,
					   "SELECT id, expression, " PGQ_SQL_TS("heartbeat") ","
					   " " PGQ_SQL_TS("created") ", " PGQ_SQL_TS("updated") ","
					   " " PGQ_SQL_TS("next_run") ", " PGQ_SQL_TS("last_run") ","
					   " status, entrypoint"
					   " FROM pgqueuer.list_schedules()"
					   " ORDER BY last_run, id",
					   0, NULL);
	/* clang-format on */
	return pgq_table_finish_listing(conn, res, format, headers, NULL);
}
