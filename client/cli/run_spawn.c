/*-------------------------------------------------------------------------
 *
 * run_spawn.c
 *		pgq run --exec: how a job's command is started so that it never
 *		reads a partial payload and never outlives its worker.
 *
 * The payload is written completely into a sealed memory file (memfd;
 * an unlinked temporary file where memfd is missing) BEFORE any process
 * is created, and that file is the command's standard input.  A command
 * therefore reads either the whole payload or nothing at all: there is no
 * moment at which its input is half delivered.
 *
 * Each job gets a small "keeper" process between pgq and the command:
 *
 *	pgq (pool thread) --fork--> keeper --fork--> /bin/sh -c COMMAND
 *
 * The keeper, a forked copy of pgq that only makes system calls:
 *
 *	1. blocks every signal (it reads them with sigtimedwait);
 *	2. asks for PR_SET_PDEATHSIG, then checks getppid(): if pgq died
 *	   before the request took effect, it leaves without starting the
 *	   command;
 *	3. becomes the leader of a new process group (the command's group);
 *	4. starts the command with the payload file as stdin, the stderr pipe
 *	   as stderr, default signal dispositions and an empty mask, and its
 *	   own PR_SET_PDEATHSIG(SIGKILL) tied to the keeper;
 *	5. waits: when the command ends, it ends the same way (same exit
 *	   status, or death by the same signal), so pgq sees the command's
 *	   status; when pgq dies (the death signal, or a changed getppid()
 *	   seen at least once a second), it sends SIGTERM to the group, then
 *	   SIGKILL to the group (itself included) once the command ended or
 *	   the grace period passed.
 *
 * The death signal is tied to the pool thread that forked the keeper;
 * that thread waits for the keeper before it takes another job and pool
 * threads live until the run ends, so the signal fires only when pgq
 * itself dies.  The once-a-second getppid() check covers the rest.
 *
 * Between fork() and exec only async-signal-safe calls are made: the
 * parent is multi-threaded, and another thread may hold a lock (malloc,
 * stdio) at the moment of the fork.
 *
 * IDENTIFICATION
 *		client/cli/run_spawn.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* the keeper's death signal (a real-time signal no shell sends by name) */
#define KEEPER_DEATHSIG (SIGRTMIN + 3)

/* keeper exit status when pgq was already gone: the command never ran */
#define KEEPER_ORPHANED 125

/* keeper exit status when the command could not be started */
#define KEEPER_NO_COMMAND 126

/*
 * write_all
 *		Write len bytes of data to fd; false (errno set) on failure.
 */
static bool
write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0)
	{
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t) n;
	}
	return true;
}

/*
 * tmpfile_fd
 *		An unlinked temporary file in $TMPDIR (else /tmp), close-on-exec;
 *		-1 with errno set.
 */
static int
tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char		path[4096];
	int			fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	if (snprintf(path, sizeof(path), "%s/pgq-payload-XXXXXX", dir) >= (int) sizeof(path))
	{
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int
pgq_exec_payload_fd(const unsigned char *payload, size_t len)
{
	int	 fd;
	int	 save;
	bool sealable = true;

	fd = memfd_create("pgq-payload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
	{
		sealable = false;
		fd = tmpfile_fd();
		if (fd < 0)
			return -1;
	}
	if (!write_all(fd, payload, len) || lseek(fd, 0, SEEK_SET) != 0)
		goto fail;
	/* nobody, the command included, can change it any more */
	if (sealable &&
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
		goto fail;
	return fd;

fail:
	save = errno;
	close(fd);
	errno = save;
	return -1;
}

/* fork without running pthread_atfork handlers (async-signal-safe) */
static pid_t
plain_fork(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	return _Fork();
#else
	return fork();
#endif
}

/* close every descriptor from 3 up */
static void
close_from_3(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	for (int fd = 3; fd < 65536; fd++)
		close(fd);
}

/* monotonic seconds, async-signal-safe */
static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* write a constant message to fd 2 (async-signal-safe) */
static void
say(const char *msg)
{
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
	{
		/* nowhere else to say it */
	}
}

/*
 * exec_command
 *		In the command's process (a child of the keeper): die with the
 *		keeper, reset signals, run /bin/sh -c command.  Never returns.
 */
static void
exec_command(const char *command, char **env, pid_t keeper)
{
	struct sigaction dfl;
	sigset_t		 none;
	char			*argv[4];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != keeper)
		_exit(KEEPER_ORPHANED);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL); /* fails harmlessly for KILL, STOP */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *) command;
	argv[3] = NULL;
	execve("/bin/sh", argv, env);
	say("pgq run: could not execute /bin/sh\n");
	_exit(KEEPER_NO_COMMAND);
}

/*
 * end_like
 *		End the keeper the way the command ended: the same exit status, or
 *		death by the same signal (without a core file).  Never returns.
 */
static void
end_like(int wstatus)
{
	struct sigaction dfl;
	struct rlimit	 nocore = {0, 0};
	sigset_t		 one;
	int				 sig;

	if (WIFEXITED(wstatus))
		_exit(WEXITSTATUS(wstatus));
	sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : SIGKILL;
	setrlimit(RLIMIT_CORE, &nocore);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	kill(getpid(), sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	_exit(128 + sig);
}

/*
 * keeper_main
 *		The keeper (see the file header).  Never returns.
 */
static void
keeper_main(const char *command, int stdin_fd, int stderr_fd, char **env,
			pid_t parent, double grace_s, PgqExecTestHook hook)
{
	sigset_t		 all;
	struct sigaction dfl;
	pid_t			 self = getpid();
	pid_t			 cmd;
	bool			 orphaned = false;
	double			 kill_at = 0;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (hook == PGQ_EXEC_HOOK_STOP_KEEPER)
		kill(self, SIGSTOP);
	if (prctl(PR_SET_PDEATHSIG, KEEPER_DEATHSIG) != 0 || getppid() != parent)
		_exit(KEEPER_ORPHANED); /* pgq is gone: its job must not start */
	setpgid(0, 0);
	/* stderr_fd first: with pgq's fd 0 closed, it may be 0 itself */
	if (stderr_fd == STDIN_FILENO && (stderr_fd = dup(stderr_fd)) < 0)
		_exit(KEEPER_NO_COMMAND);
	if (dup2(stdin_fd, STDIN_FILENO) < 0 || dup2(stderr_fd, STDERR_FILENO) < 0)
		_exit(KEEPER_NO_COMMAND);
	/* dup2() onto itself keeps close-on-exec: clear it */
	fcntl(STDIN_FILENO, F_SETFD, 0);
	fcntl(STDERR_FILENO, F_SETFD, 0);
	close_from_3();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &dfl, NULL); /* an inherited SIG_IGN would reap it */

	if (getppid() != parent)
		_exit(KEEPER_ORPHANED); /* gone meanwhile: still nothing started */
	cmd = plain_fork();
	if (cmd < 0)
	{
		say("pgq run: could not start the command: fork failed\n");
		_exit(KEEPER_NO_COMMAND);
	}
	if (cmd == 0)
		exec_command(command, env, self);
	/* only the command holds the payload and the stderr pipe now */
	close(STDIN_FILENO);
	close(STDERR_FILENO);

	for (;;)
	{
		int				wstatus;
		double			now;
		double			wait_s = 1.0;
		struct timespec ts;

		if (waitpid(cmd, &wstatus, WNOHANG) == cmd)
		{
			if (orphaned)
				kill(0, SIGKILL); /* what is left of the group, and us */
			end_like(wstatus);
		}
		now = mono_s();
		if (!orphaned && getppid() != parent)
		{
			orphaned = true;
			kill(0, SIGTERM); /* the whole group; ours stays pending */
			kill_at = now + grace_s;
		}
		if (orphaned)
		{
			if (now >= kill_at)
				kill(0, SIGKILL);
			wait_s = kill_at - now < wait_s ? kill_at - now : wait_s;
		}
		ts.tv_sec = (time_t) wait_s;
		ts.tv_nsec = (long) ((wait_s - (double) ts.tv_sec) * 1e9);
		/* any signal (SIGCHLD, the death signal, ...) or the timeout */
		sigtimedwait(&all, NULL, &ts);
	}
}

int
pgq_exec_start(const char *command, int stdin_fd, int stderr_fd, char **env,
			   double grace_s, PgqExecTestHook hook, pid_t *pid)
{
	pid_t parent = getpid();
	pid_t child;

	child = fork();
	if (child < 0)
		return errno;
	if (child == 0)
		keeper_main(command, stdin_fd, stderr_fd, env, parent, grace_s, hook);
	/* as shells do: the group exists when we return, whoever runs first */
	setpgid(child, child);
	*pid = child;
	/* test hook: freeze pgq right after the job's processes were made */
	if (hook == PGQ_EXEC_HOOK_STOP_WORKER)
		kill(parent, SIGSTOP);
	return 0;
}
