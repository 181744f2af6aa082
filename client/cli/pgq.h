/*-------------------------------------------------------------------------
 *
 * pgq.h
 *		The pgq command-line tool: command table and shared helpers.
 *
 * pgq reproduces PgQueuer's CLI (install, uninstall, upgrade, verify,
 * durability, autovac, queue, failed, requeue, schedules, dashboard,
 * listen, run) on top of the pgqueuer extension.  Each command lives in a
 * cmd_*.c file and has the PgqCommandFn signature: it parses its own
 * options with getopt_long (argv[0] is the command name), prints its own
 * --help, and returns the process exit status:
 *
 *	0	success
 *	1	failure: connection or server error, verify mismatch, job error
 *	2	usage error (unknown option, missing or bad argument)
 *
 * Messages: results go to stdout; errors go to stderr as
 * "pgq COMMAND: error: message" (pgq_cli_error), usage errors add
 * "Try \"pgq COMMAND --help\" for more information." (pgq_cli_usage).
 *
 * IDENTIFICATION
 *		client/cli/pgq.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_CLI_H
#define PGQ_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include <libpq-fe.h>

#define PGQ_EXIT_OK	   0
#define PGQ_EXIT_FAIL  1
#define PGQ_EXIT_USAGE 2

/* Settings shared by every command, from the global options. */
typedef struct PgqCli
{
	const char *dsn;	 /* --pg-dsn, else PGQUEUER_DSN, else PGDSN, else
								 * NULL (libpq's PG* environment) */
	const char *command; /* the command being run, for messages */
} PgqCli;

/* A command: returns the exit status (PGQ_EXIT_*). */
typedef int (*PgqCommandFn)(PgqCli *cli, int argc, char **argv);

/* cmd_schema.c */
extern int cmd_install(PgqCli *cli, int argc, char **argv);
extern int cmd_uninstall(PgqCli *cli, int argc, char **argv);
extern int cmd_upgrade(PgqCli *cli, int argc, char **argv);
extern int cmd_verify(PgqCli *cli, int argc, char **argv);
extern int cmd_durability(PgqCli *cli, int argc, char **argv);
extern int cmd_autovac(PgqCli *cli, int argc, char **argv);

/* cmd_jobs.c */
extern int cmd_queue(PgqCli *cli, int argc, char **argv);
extern int cmd_failed(PgqCli *cli, int argc, char **argv);
extern int cmd_requeue(PgqCli *cli, int argc, char **argv);
extern int cmd_schedules(PgqCli *cli, int argc, char **argv);

/* cmd_list.c */
extern int cmd_jobs(PgqCli *cli, int argc, char **argv);
extern int cmd_workers(PgqCli *cli, int argc, char **argv);

/* cmd_migrate.c */
extern int cmd_migrate(PgqCli *cli, int argc, char **argv);

/* cmd_wait.c */
extern int cmd_wait(PgqCli *cli, int argc, char **argv);

/* cmd_monitor.c */
extern int cmd_dashboard(PgqCli *cli, int argc, char **argv);
extern int cmd_listen(PgqCli *cli, int argc, char **argv);

/* cmd_run.c */
extern int cmd_run(PgqCli *cli, int argc, char **argv);

/* client/web/cmd_web.c */
extern int cmd_web(PgqCli *cli, int argc, char **argv);

/* common.c */

/*
 * Statements: every one pgq sends calls pgqueuer functions (or, for
 * verify, reads pg_catalog) with schema-qualified names and types and
 * OPERATOR(pg_catalog.x) for any operator, so that objects another role
 * planted in a schema on the user's search_path are never used.
 *
 * PGQ_SQL_TS(col): the timestamptz column col as text in the session's
 * time zone, '' for NULL.
 */
#define PGQ_SQL_TS(col) \
	"COALESCE(pg_catalog.to_char(" col ", 'YYYY-MM-DD HH24:MI:SSOF'), '')"

/* most rows pgqueuer.list_jobs() returns (its max_rows range is 1 to this) */
#define PGQ_MAX_LIST_ROWS 10000

/* seconds pgq waits for a connection unless told (PGCONNECT_TIMEOUT) */
#define PGQ_DEFAULT_CONNECT_TIMEOUT "10"

/*
 * Connect with cli->dsn (NULL: libpq environment), giving up after
 * connect_timeout (the DSN's, else PGCONNECT_TIMEOUT, which main() sets
 * from --connect-timeout or to PGQ_DEFAULT_CONNECT_TIMEOUT) or when SIGINT
 * or SIGTERM is caught (pgq_cli_catch_signals).  On failure prints the
 * error and returns NULL.  Notices are printed to stderr as
 * "pgq COMMAND: notice: ...".
 */
extern PGconn *pgq_cli_connect(PgqCli *cli);

/*
 * Run sql with text parameters (nparams may be 0, params NULL elements
 * are SQL NULLs).  Returns the result when its status is PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK; otherwise prints the server's message (and SQLSTATE)
 * as an error, clears the result and returns NULL.
 */
extern PGresult *pgq_cli_exec(PgqCli *cli, PGconn *conn, const char *sql,
							  int nparams, const char *const *params);

/* The same with parameter types, lengths and formats (binary values). */
extern PGresult *pgq_cli_exec_params(PgqCli *cli, PGconn *conn, const char *sql,
									 int nparams, const Oid *types,
									 const char *const *params,
									 const int *lengths, const int *formats);

/*
 * items as a PostgreSQL array literal ({"a","b"}, each element quoted);
 * malloc'd, NULL when out of memory.
 */
extern char *pgq_cli_text_array(const char *const *items, int n);

/*
 * The error handling of pgq_cli_exec for a result obtained otherwise (res
 * may be NULL): returns res if it succeeded, else prints the error, clears
 * res and returns NULL.
 */
extern PGresult *pgq_cli_check_result(PgqCli *cli, PGconn *conn, PGresult *res);

/* "pgq COMMAND: error: ..." on stderr. */
extern void pgq_cli_error(PgqCli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A usage error on stderr plus the --help hint; returns PGQ_EXIT_USAGE. */
extern int pgq_cli_usage(PgqCli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last paragraph of every command's --help. */
#define PGQ_EXIT_STATUS_HELP \
	"\nExit status: 0 success, 1 failure (connection or server error), 2 usage error.\n"

/* --help in a command's option table */
/* clang-format off */
#define PGQ_HELP_OPTION {"help", no_argument, NULL, 'h'}
/* clang-format on */

/* pgq_cli_getopt's result when the command must return *rc at once */
#define PGQ_OPT_STOP (-2)

/*
 * getopt_long over a command's arguments, doing what every command does the
 * same way (main() resets getopt before it runs a command): -h/--help
 * prints help() and stops with PGQ_EXIT_OK, an unknown option or a missing
 * value stops with a usage error.  Returns the next
 * option character, -1 after the last option (optind at the first
 * argument), or PGQ_OPT_STOP with the exit status in *rc.  shortopts must
 * start with ':' and hold 'h'.
 */
extern int pgq_cli_getopt(PgqCli *cli, int argc, char **argv,
						  const char *shortopts, const struct option *longopts,
						  void (*help)(void), int					 *rc);

/*
 * The n job ids in args (integers from 1) as a bigint[] literal, {1,2,3},
 * malloc'd; with ids not NULL, also the numbers, in a malloc'd *ids.
 * NULL after printing the error, with the exit status in *rc (a bad id:
 * PGQ_EXIT_USAGE; out of memory: PGQ_EXIT_FAIL).
 */
extern char *pgq_cli_id_array(PgqCli *cli, char **args, int n, long **ids,
							  int *rc);

/*
 * Report a getopt_long failure (c is '?' or ':'; the option string starts
 * with ':' and opterr is 0) as a usage error; returns PGQ_EXIT_USAGE.
 */
extern int pgq_cli_option_error(PgqCli *cli, char **argv, int c);

/*
 * Parse a number option; on a bad value prints a usage error and returns
 * false.  what names the option in the message (e.g. "--batch-size").
 */
extern bool pgq_cli_parse_int(PgqCli *cli, const char *what, const char *text,
							  long min, long max, long *out);
extern bool pgq_cli_parse_double(PgqCli *cli, const char *what, const char *text,
								 double min, double max, double *out);

/* SIGINT/SIGTERM set this flag (installed by pgq_cli_catch_signals). */
extern volatile int pgq_cli_interrupted;
extern void			pgq_cli_catch_signals(void);

#endif /* PGQ_CLI_H */
