/*-------------------------------------------------------------------------
 *
 * run.h
 *		pgq run: declarations shared by its files.
 *
 *	cmd_run.c		options, signals, the supervisor loop, --progress
 *	run_exec.c		--exec ENTRYPOINT=COMMAND: one program per job
 *	run_factory.c	FACTORY = PATH.so:SYMBOL, loaded with dlopen()
 *
 * IDENTIFICATION
 *		client/cli/run.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_CLI_RUN_H
#define PGQ_CLI_RUN_H

#include "libpgqueuer.h"
#include "pgq.h"

/* exit status of a command that asks for a retry (sysexits.h EX_TEMPFAIL) */
#define PGQ_EXEC_RETRY_STATUS 75

/* bytes of a command's stderr kept for the traceback */
#define PGQ_EXEC_STDERR_TAIL 2048

/* seconds between SIGTERM and SIGKILL for a cancelled command */
#define PGQ_EXEC_KILL_GRACE_S 10.0

/* One --exec ENTRYPOINT=COMMAND; handed to the handler as handler_arg. */
typedef struct PgqExecSpec
{
	char	   *entrypoint;		/* malloc'd */
	const char *command;		/* points into entrypoint's allocation */
	double		retry_delay_s;	/* delay of an exit status 75 retry */
} PgqExecSpec;

/*
 * Parse "ENTRYPOINT=COMMAND" into spec; false (with a usage message
 * printed) when either side is empty.
 */
extern bool pgq_exec_parse(PgqCli *cli, const char *arg, PgqExecSpec *spec);

/* The handler of --exec entrypoints (handler_arg: its PgqExecSpec). */
extern PgqStatus pgq_exec_handler(PgqContext *ctx);

/* A factory loaded from PATH.so:SYMBOL. */
typedef struct PgqLoadedFactory
{
	void	   *handle;			/* dlopen() handle */
	PgqFactory	fn;
	char	   *spec;			/* as given, for messages */
} PgqLoadedFactory;

/*
 * Load spec ("PATH.so:SYMBOL"); a PATH without a slash is looked up in the
 * current directory first.  Returns PGQ_EXIT_OK, PGQ_EXIT_USAGE for a
 * malformed spec, PGQ_EXIT_FAIL when the library or symbol cannot be
 * loaded (messages printed).
 */
extern int	pgq_factory_load(PgqCli *cli, const char *spec, PgqLoadedFactory *factory);
extern void pgq_factory_unload(PgqLoadedFactory *factory);

#endif							/* PGQ_CLI_RUN_H */
