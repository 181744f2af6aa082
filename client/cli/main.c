/*-------------------------------------------------------------------------
 *
 * main.c
 *		pgq: global options and command dispatch.
 *
 *	pgq [GLOBAL OPTIONS] COMMAND [ARGS...]
 *
 * Global options come before the command: --pg-dsn (else PGQUEUER_DSN,
 * else PGDSN, else libpq's PG* environment), and --pg-host, --pg-port,
 * --pg-user, --pg-database, --pg-password, which set the matching PG*
 * variable for libpq, and --connect-timeout (PGCONNECT_TIMEOUT; default
 * 10 seconds).  --pg-password is accepted for PgQueuer's sake with a
 * warning: every local user can read a command line (ps), so PGPASSWORD
 * or ~/.pgpass are the places for a password.  No arguments, or --help,
 * print the command list.
 *
 * IDENTIFICATION
 *		client/cli/main.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpgqueuer.h"
#include "pgq.h"

typedef struct PgqCommand
{
	const char	*name;
	PgqCommandFn fn;
	const char	*summary;
} PgqCommand;

static const PgqCommand commands[] = {
	{"install", cmd_install, "Install the pgqueuer extension (CREATE EXTENSION) and set durability."},
	{"uninstall", cmd_uninstall, "Remove the pgqueuer extension and its tables (DROP EXTENSION)."},
	{"upgrade", cmd_upgrade, "Upgrade the extension to the installed version (ALTER EXTENSION UPDATE)."},
	{"migrate", cmd_migrate, "Move an existing PgQueuer installation into the extension."},
	{"verify", cmd_verify, "Check that every pgqueuer object is present (or absent)."},
	{"durability", cmd_durability, "Change the durability level of the tables without data loss."},
	{"autovac", cmd_autovac, "Apply (or roll back) the recommended autovacuum settings."},
	{"queue", cmd_queue, "Enqueue one job."},
	{"failed", cmd_failed, "List jobs held as failed."},
	{"requeue", cmd_requeue, "Put held (failed) jobs back in the queue."},
	{"wait", cmd_wait, "Wait until jobs have finished; print their outcomes."},
	{"schedules", cmd_schedules, "List cron schedules, or remove them by id or entrypoint."},
	{"jobs", cmd_jobs, "List the jobs in the queue, by status and entrypoint."},
	{"workers", cmd_workers, "List the workers: those holding jobs and those connected."},
	{"dashboard", cmd_dashboard, "Show job statistics, once or refreshed every --interval."},
	{"listen", cmd_listen, "Print the notifications of channel ch_pgqueuer as they arrive."},
	{"run", cmd_run, "Run a worker: a factory LIB.so:SYMBOL and/or --exec ENTRYPOINT=COMMAND."},
	{"web", cmd_web, "Serve a live web dashboard and Prometheus metrics (/metrics)."},
};

static void
usage(FILE *out)
{
	fprintf(out,
			"pgq -- PgQueuer's command-line tool for the pgqueuer PostgreSQL extension.\n"
			"\n"
			"Usage:\n"
			"  pgq [GLOBAL OPTIONS] COMMAND [ARGS...]\n"
			"\n"
			"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
			"\n"
			"Global options:\n"
			"  --pg-dsn DSN        libpq connection string or URI (default: $PGQUEUER_DSN,\n"
			"                      then $PGDSN, then the PG* environment variables)\n"
			"  --pg-host HOST      set PGHOST\n"
			"  --pg-port PORT      set PGPORT\n"
			"  --pg-user USER      set PGUSER\n"
			"  --pg-database NAME  set PGDATABASE\n"
			"  --pg-password PASS  set PGPASSWORD (visible to every local user in the\n"
			"                      process list: prefer PGPASSWORD or ~/.pgpass)\n"
			"  --connect-timeout SECONDS\n"
			"                      give up connecting after SECONDS (default:\n"
			"                      $PGCONNECT_TIMEOUT, then " PGQ_DEFAULT_CONNECT_TIMEOUT "; 0 waits forever; a\n"
			"                      connect_timeout in the DSN wins)\n"
			"  --version           print the version and exit\n"
			"  -h, --help          show this help and exit\n"
			"\n"
			"\"pgq COMMAND --help\" describes a command.  Exit status: 0 success,\n"
			"1 failure, 2 usage error.\n");
}

/*
 * global_options
 *		Read the global options (up to the command) into *dsn and the PG*
 *		environment variables.  Returns -1 when pgq goes on, else its exit
 *		status (help or version printed, or a usage error).
 */
static int
global_options(PgqCli *cli, int argc, char **argv, const char **dsn)
{
	static const struct option options[] = {
		{"pg-dsn", required_argument, NULL, 'd'},
		{"pg-host", required_argument, NULL, 'H'},
		{"pg-port", required_argument, NULL, 'P'},
		{"pg-user", required_argument, NULL, 'U'},
		{"pg-database", required_argument, NULL, 'D'},
		{"pg-password", required_argument, NULL, 'W'},
		{"connect-timeout", required_argument, NULL, 'T'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int	 c;
	long timeout;

	/* "+": stop at the first non-option, the command */
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				*dsn = optarg;
				break;
			case 'H':
				setenv("PGHOST", optarg, 1);
				break;
			case 'P':
				setenv("PGPORT", optarg, 1);
				break;
			case 'U':
				setenv("PGUSER", optarg, 1);
				break;
			case 'D':
				setenv("PGDATABASE", optarg, 1);
				break;
			case 'W':
				fprintf(stderr, "pgq: warning: --pg-password shows the password to every local user in the process list; set PGPASSWORD or use ~/.pgpass instead\n");
				setenv("PGPASSWORD", optarg, 1);
				break;
			case 'T':
				if (!pgq_cli_parse_int(cli, "--connect-timeout", optarg, 0, INT_MAX, &timeout))
					return PGQ_EXIT_USAGE;
				setenv("PGCONNECT_TIMEOUT", optarg, 1);
				break;
			case 'V':
				printf("pgq (pgqueuer) %s\n", PGQ_CLIENT_VERSION);
				return PGQ_EXIT_OK;
			case 'h':
				usage(stdout);
				return PGQ_EXIT_OK;
			default:
				fprintf(stderr, "Try \"pgq --help\" for more information.\n");
				return PGQ_EXIT_USAGE;
		}
	}
	return -1;
}

/*
 * main
 *		Read the global options, then run the command named next.
 */
int
main(int argc, char **argv)
{
	PgqCli		cli = {0};
	const char *dsn = NULL;
	int			rc;

	rc = global_options(&cli, argc, argv, &dsn);
	if (rc >= 0)
		return rc;

	if (optind >= argc)
	{
		usage(stdout);
		return PGQ_EXIT_OK;
	}
	/* a server that never answers must not hang pgq (libpq waits forever) */
	if (getenv("PGCONNECT_TIMEOUT") == NULL || getenv("PGCONNECT_TIMEOUT")[0] == '\0')
		setenv("PGCONNECT_TIMEOUT", PGQ_DEFAULT_CONNECT_TIMEOUT, 1);

	if (dsn == NULL || dsn[0] == '\0')
		dsn = getenv("PGQUEUER_DSN");
	if (dsn == NULL || dsn[0] == '\0')
		dsn = getenv("PGDSN");
	cli.dsn = (dsn && dsn[0]) ? dsn : NULL;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
	{
		if (strcmp(argv[optind], commands[i].name) == 0)
		{
			int	   cargc = argc - optind;
			char **cargv = argv + optind;

			cli.command = commands[i].name;

			/*
			 * The command parses its own options: optind 0 makes glibc's
			 * getopt start afresh; messages are the command's (opterr 0).
			 */
			optind = 0;
			opterr = 0;
			return commands[i].fn(&cli, cargc, cargv);
		}
	}

	fprintf(stderr, "pgq: error: unknown command \"%s\"\n", argv[optind]);
	fprintf(stderr, "Try \"pgq --help\" for more information.\n");
	return PGQ_EXIT_USAGE;
}
