/*-------------------------------------------------------------------------
 *
 * run_exec.c
 *		pgq run --exec ENTRYPOINT=COMMAND: handlers in any language.
 *
 * Each job of ENTRYPOINT runs "/bin/sh -c COMMAND" on a pool thread:
 *
 *	stdin		a sealed file holding the whole payload, written before the
 *				command starts (run_spawn.c)
 *	stdout		pgq's stdout
 *	stderr		copied to pgq's stderr; its last 2 KB become the traceback
 *	environment	pgq's, plus PGQ_JOB_ID, PGQ_ENTRYPOINT, PGQ_ATTEMPTS,
 *				PGQ_PRIORITY, PGQ_QUEUE_MANAGER_ID, PGQ_PAYLOAD_SIZE, and
 *				PGQ_HEADERS / PGQ_DEDUPE_KEY when the job has them
 *
 * Exit status 0 is PGQ_SUCCESSFUL, 75 (EX_TEMPFAIL) is PGQ_RETRY after
 * --exec-retry-delay, anything else or death by a signal is PGQ_EXCEPTION
 * (exception_type "ExecError").  The command runs in its own process group
 * (led by its keeper, run_spawn.c) with default signal dispositions and an
 * empty signal mask, so a Ctrl-C on pgq's terminal does not kill running
 * jobs (the worker lets them finish); a cancelled job's group gets
 * SIGTERM, then SIGKILL after PGQ_EXEC_KILL_GRACE_S; when pgq dies, the
 * keeper ends the group.  The handler reaps the keeper itself (waitpid on
 * that pid), so no zombie survives a job.
 *
 * IDENTIFICATION
 *		client/cli/run_exec.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

/* the variables we set; inherited values of the same names are dropped */
static const char *const job_vars[] = {
	"PGQ_JOB_ID", "PGQ_ENTRYPOINT", "PGQ_ATTEMPTS", "PGQ_PRIORITY",
	"PGQ_QUEUE_MANAGER_ID", "PGQ_PAYLOAD_SIZE", "PGQ_HEADERS", "PGQ_DEDUPE_KEY"};
#define NJOBVARS (sizeof(job_vars) / sizeof(job_vars[0]))

bool
pgq_exec_parse(PgqCli *cli, const char *arg, PgqExecSpec *spec)
{
	const char *eq = strchr(arg, '=');
	char	   *copy;

	if (eq == NULL || eq == arg || eq[1] == '\0')
	{
		pgq_cli_usage(cli, "invalid --exec \"%s\": expected ENTRYPOINT=COMMAND", arg);
		return false;
	}
	copy = strdup(arg);
	if (copy == NULL)
	{
		pgq_cli_error(cli, "out of memory");
		return false;
	}
	copy[eq - arg] = '\0';
	spec->entrypoint = copy;
	spec->command = copy + (eq - arg) + 1;
	spec->retry_delay_s = 0;
	return true;
}

/* Output of one child, collected while it runs. */
typedef struct ExecTail
{
	char   data[PGQ_EXEC_STDERR_TAIL + 1];
	size_t len;
} ExecTail;

/* tail_append: keep the last PGQ_EXEC_STDERR_TAIL bytes */
static void
tail_append(ExecTail *tail, const char *buf, size_t n)
{
	if (n >= PGQ_EXEC_STDERR_TAIL)
	{
		memcpy(tail->data, buf + n - PGQ_EXEC_STDERR_TAIL, PGQ_EXEC_STDERR_TAIL);
		tail->len = PGQ_EXEC_STDERR_TAIL;
	}
	else
	{
		if (tail->len + n > PGQ_EXEC_STDERR_TAIL)
		{
			size_t drop = tail->len + n - PGQ_EXEC_STDERR_TAIL;

			memmove(tail->data, tail->data + drop, tail->len - drop);
			tail->len -= drop;
		}
		memcpy(tail->data + tail->len, buf, n);
		tail->len += n;
	}
	tail->data[tail->len] = '\0';
}

/*
 * make_env
 *		pgq's environment plus the job's variables, as a NULL-terminated
 *		array for execve.  The variable strings are allocated in one
 *		block (*block), the array separately; NULL when out of memory.
 */
static char **
make_env(const PgqJob *job, char **block)
{
	size_t		n = 0;
	size_t		out = 0;
	char	  **env;
	char	   *p;
	size_t		size;
	const char *vals[NJOBVARS];
	char		id[32], attempts[16], priority[16], psize[32];

	snprintf(id, sizeof(id), "%lld", (long long) job->id);
	snprintf(attempts, sizeof(attempts), "%d", (int) job->attempts);
	snprintf(priority, sizeof(priority), "%d", (int) job->priority);
	snprintf(psize, sizeof(psize), "%zu", job->payload_len);
	vals[0] = id;
	vals[1] = job->entrypoint;
	vals[2] = attempts;
	vals[3] = priority;
	vals[4] = job->queue_manager_id;
	vals[5] = psize;
	vals[6] = job->headers_json;
	vals[7] = job->dedupe_key;

	while (environ[n])
		n++;
	env = malloc(sizeof(char *) * (n + NJOBVARS + 1));
	size = 0;
	for (size_t v = 0; v < NJOBVARS; v++)
		if (vals[v])
			size += strlen(job_vars[v]) + strlen(vals[v]) + 2;
	*block = p = malloc(size ? size : 1);
	if (env == NULL || p == NULL)
	{
		free(env);
		free(*block);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
	{
		bool ours = false;

		for (size_t v = 0; v < NJOBVARS && !ours; v++)
		{
			size_t len = strlen(job_vars[v]);

			ours = strncmp(environ[i], job_vars[v], len) == 0 && environ[i][len] == '=';
		}
		if (!ours)
			env[out++] = environ[i];
	}
	for (size_t v = 0; v < NJOBVARS; v++)
	{
		if (vals[v] == NULL)
			continue;
		env[out++] = p;
		p += sprintf(p, "%s=%s", job_vars[v], vals[v]) + 1;
	}
	env[out] = NULL;
	return env;
}

/* now_s: monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* signal_name: a short name for the usual signals */
static const char *
signal_name(int signo)
{
	switch (signo)
	{
		case SIGHUP:
			return "SIGHUP";
		case SIGINT:
			return "SIGINT";
		case SIGQUIT:
			return "SIGQUIT";
		case SIGABRT:
			return "SIGABRT";
		case SIGKILL:
			return "SIGKILL";
		case SIGSEGV:
			return "SIGSEGV";
		case SIGPIPE:
			return "SIGPIPE";
		case SIGTERM:
			return "SIGTERM";
		case SIGBUS:
			return "SIGBUS";
		case SIGFPE:
			return "SIGFPE";
	}
	return "signal";
}

/*
 * start_job
 *		Seal the payload into a file, open the stderr pipe and start the
 *		command under its keeper.  Returns 0, or -1 with msg filled.
 */
static int
start_job(PgqContext *ctx, const PgqExecSpec *spec, int *err_rd, pid_t *pid,
		  char *msg, size_t msglen)
{
	const PgqJob *job = pgq_ctx_job(ctx);
	double		  lease = pgq_ctx_lease_timeout(ctx);
	double		  grace = PGQ_EXEC_KILL_GRACE_S;
	int			  in;
	int			  err[2];
	char		**env;
	char		 *envblock = NULL;
	int			  rc;

	if (lease > 0 && lease / 4 < grace)
		grace = lease / 4;
	env = make_env(job, &envblock);
	if (env == NULL)
	{
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	in = pgq_exec_payload_fd(job->payload, job->payload_len);
	if (in < 0)
	{
		snprintf(msg, msglen, "could not store the payload: %s", strerror(errno));
		free(env);
		free(envblock);
		return -1;
	}
	if (pipe2(err, O_CLOEXEC) != 0)
	{
		snprintf(msg, msglen, "could not create a pipe: %s", strerror(errno));
		rc = -1;
	}
	else
	{
		rc = pgq_exec_start(spec->command, in, err[1], env, grace,
							spec->test_hook, pid);
		if (rc != 0)
		{
			snprintf(msg, msglen, "could not start the command: %s", strerror(rc));
			close(err[0]);
		}
		close(err[1]); /* the keeper has its copy */
	}
	close(in);
	free(env);
	free(envblock);
	if (rc != 0)
		return -1;
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*err_rd = err[0];
	return 0;
}

/*
 * read_stderr
 *		Read what the command wrote to stderr: keep it in tail and pass it
 *		on to pgq's stderr.  Returns false when the pipe is done with: EOF,
 *		an error, or nothing more after the exit (a grandchild may keep it
 *		open).
 */
static bool
read_stderr(int err_rd, ExecTail *tail, bool exited)
{
	char	buf[4096];
	ssize_t n = read(err_rd, buf, sizeof(buf));

	if (n > 0)
	{
		tail_append(tail, buf, (size_t) n);
		if (write(STDERR_FILENO, buf, (size_t) n) < 0)
		{
			/* pgq's stderr is gone: the tail is still kept */
		}
		return true;
	}
	return !(n == 0 || (errno != EAGAIN && errno != EINTR) || exited);
}

/*
 * exec_outcome
 *		The job's outcome from the command's wait status: exit 0 succeeds,
 *		PGQ_EXEC_RETRY_STATUS asks for a retry, anything else is an
 *		exception carrying the tail of stderr.  Frees tail.
 */
static PgqStatus
exec_outcome(PgqContext *ctx, const PgqExecSpec *spec, int wstatus, ExecTail *tail)
{
	char msg[256];

	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
	{
		free(tail);
		return PGQ_SUCCESSFUL;
	}
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == PGQ_EXEC_RETRY_STATUS)
	{
		pgq_ctx_set_exception(ctx, "ExecRetry",
							  "command exited with status 75 (EX_TEMPFAIL): retry requested",
							  tail->data);
		pgq_ctx_set_retry(ctx, spec->retry_delay_s);
		free(tail);
		return PGQ_RETRY;
	}
	if (WIFEXITED(wstatus))
		snprintf(msg, sizeof(msg), "command exited with status %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(msg, sizeof(msg), "command was terminated by signal %d (%s)",
				 WTERMSIG(wstatus), signal_name(WTERMSIG(wstatus)));
	else
		snprintf(msg, sizeof(msg), "command ended with wait status %d", wstatus);
	pgq_ctx_set_exception(ctx, "ExecError", msg, tail->data);
	free(tail);
	return PGQ_EXCEPTION;
}

/*
 * pgq_exec_handler
 *		Run the job's command: start it, collect stderr, forward a
 *		cancellation as SIGTERM, wait for the exit and map its status.
 */
PgqStatus
pgq_exec_handler(PgqContext *ctx)
{
	const PgqExecSpec *spec = pgq_ctx_handler_arg(ctx);
	int				   err_rd = -1;
	pid_t			   pid;
	int				   wstatus = 0;
	bool			   exited = false;
	bool			   err_open = true;
	double			   term_sent = 0;
	bool			   kill_sent = false;
	int				   idle_ms = 0;
	ExecTail		  *tail;
	char			   msg[256];

	tail = calloc(1, sizeof(ExecTail));
	if (tail == NULL)
	{
		pgq_ctx_set_exception(ctx, "ExecError", "out of memory", NULL);
		return PGQ_EXCEPTION;
	}
	if (start_job(ctx, spec, &err_rd, &pid, msg, sizeof(msg)) != 0)
	{
		free(tail);
		pgq_ctx_set_exception(ctx, "ExecError", msg, NULL);
		return PGQ_EXCEPTION;
	}

	while (!exited || err_open)
	{
		struct pollfd fds[1];
		int			  nfds = 0;

		if (err_open)
		{
			fds[0].fd = err_rd;
			fds[0].events = POLLIN;
			nfds = 1;
		}
		/*
		 * After the exit, only drain what is already there.  With nothing
		 * to watch (stderr closed early, or closed at the exit just before
		 * the child can be reaped), poll for the exit briefly at first.
		 */
		if (nfds == 0)
		{
			idle_ms = idle_ms ? (idle_ms * 2 > 50 ? 50 : idle_ms * 2) : 1;
			poll(NULL, 0, idle_ms);
		}
		else if (poll(fds, (nfds_t) nfds, exited ? 0 : 50) < 0 && errno != EINTR)
			break;

		if (nfds > 0 && (fds[0].revents || exited))
			err_open = read_stderr(err_rd, tail, exited);

		if (!exited)
		{
			if (waitpid(pid, &wstatus, WNOHANG) == pid)
				exited = true;
			else if (pgq_ctx_cancelled(ctx) && term_sent == 0)
			{
				kill(-pid, SIGTERM);
				term_sent = now_s();
			}
			else if (term_sent > 0 && !kill_sent && now_s() - term_sent > PGQ_EXEC_KILL_GRACE_S)
			{
				kill(-pid, SIGKILL);
				kill_sent = true;
			}
		}
	}
	if (!exited)
		waitpid(pid, &wstatus, 0);
	close(err_rd);

	return exec_outcome(ctx, spec, wstatus, tail);
}
