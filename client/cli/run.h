/*-------------------------------------------------------------------------
 *
 * run.h
 *		pgq run: declarations shared by its files.
 *
 *	cmd_run.c		options, signals, the supervisor loop, --progress
 *	run_exec.c		--exec ENTRYPOINT=COMMAND: one program per job
 *	run_spawn.c		--exec: the sealed payload file, the keeper process
 *	run_factory.c	FACTORY = PATH.so:SYMBOL, loaded with dlopen()
 *
 * IDENTIFICATION
 *		client/cli/run.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_CLI_RUN_H
#define PGQ_CLI_RUN_H

#include <sys/types.h>

#include "libpgqueuer.h"
#include "pgq.h"

/* exit status of a command that asks for a retry (sysexits.h EX_TEMPFAIL) */
#define PGQ_EXEC_RETRY_STATUS 75

/* bytes of a command's stderr kept for the traceback */
#define PGQ_EXEC_STDERR_TAIL 2048

/*
 * seconds between SIGTERM and SIGKILL for a cancelled command, and at most
 * for the command of a worker that died (there: at most a quarter of the
 * lease, so the command is gone before the job can run elsewhere)
 */
#define PGQ_EXEC_KILL_GRACE_S 10.0

/*
 * Test-only hooks, chosen by the environment variable PGQ_EXEC_TEST_HOOK
 * of pgq run (never set in production):
 *	"stop-worker-after-fork"	pgq stops itself (SIGSTOP) right after a
 *								job's keeper process was forked, i.e.
 *								while the command starts
 *	"stop-keeper-before-prctl"	the keeper stops itself before it asks for
 *								its death signal
 * They make the instants at which a worker may die reachable by a test.
 */
typedef enum PgqExecTestHook
{
	PGQ_EXEC_HOOK_NONE = 0,
	PGQ_EXEC_HOOK_STOP_WORKER,
	PGQ_EXEC_HOOK_STOP_KEEPER
} PgqExecTestHook;

/* One --exec ENTRYPOINT=COMMAND; handed to the handler as handler_arg. */
typedef struct PgqExecSpec
{
	char		   *entrypoint;	   /* malloc'd */
	const char	   *command;	   /* points into entrypoint's allocation */
	double			retry_delay_s; /* delay of an exit status 75 retry */
	PgqExecTestHook test_hook;
} PgqExecSpec;

/*
 * Parse "ENTRYPOINT=COMMAND" into spec; false (with a usage message
 * printed) when either side is empty.
 */
extern bool pgq_exec_parse(PgqCli *cli, const char *arg, PgqExecSpec *spec);

/* The handler of --exec entrypoints (handler_arg: its PgqExecSpec). */
extern PgqStatus pgq_exec_handler(PgqContext *ctx);

/*
 * pgq_exec_payload_fd
 *		A read-only, close-on-exec descriptor of a file holding exactly the
 *		len bytes of payload, positioned at its start: a sealed memfd, or
 *		an unlinked temporary file where memfd_create is missing.  -1 with
 *		errno set on failure.
 */
extern int pgq_exec_payload_fd(const unsigned char *payload, size_t len);

/*
 * pgq_exec_start
 *		Start "/bin/sh -c command" under a keeper process (run_spawn.c)
 *		with stdin_fd as its standard input, stderr_fd as its standard
 *		error, env as its environment.  grace_s: seconds between SIGTERM
 *		and SIGKILL when pgq dies.  *pid gets the keeper's pid, which is
 *		also the command's process group and ends as the command ended.
 *		Returns 0 or an errno.  Call from the thread that waits for *pid.
 */
extern int pgq_exec_start(const char *command, int stdin_fd, int stderr_fd,
						  char **env, double grace_s, PgqExecTestHook hook,
						  pid_t *pid);

/* A factory loaded from PATH.so:SYMBOL. */
typedef struct PgqLoadedFactory
{
	void	  *handle; /* dlopen() handle */
	PgqFactory fn;
	char	  *spec; /* as given, for messages */
} PgqLoadedFactory;

/*
 * Load spec ("PATH.so:SYMBOL"); a PATH without a slash is looked up in the
 * current directory first.  Returns PGQ_EXIT_OK, PGQ_EXIT_USAGE for a
 * malformed spec, PGQ_EXIT_FAIL when the library or symbol cannot be
 * loaded (messages printed).
 */
extern int	pgq_factory_load(PgqCli *cli, const char *spec, PgqLoadedFactory *factory);
extern void pgq_factory_unload(PgqLoadedFactory *factory);

#endif /* PGQ_CLI_RUN_H */
