/*-------------------------------------------------------------------------
 *
 * cmd_run.c
 *		pgq run [OPTIONS] [FACTORY] [--exec ENTRYPOINT=COMMAND ...]
 *
 * PgQueuer's `pgq run` on libpgqueuer: options, signal handling and the
 * supervisor loop.  Each cycle makes a fresh worker, adds the --exec
 * entrypoints, calls the factory (PATH.so:SYMBOL), runs the worker and
 * frees it (which runs the factory's resource cleanup):
 *
 *	- stopped by SIGINT/SIGTERM, or drained: exit 0;
 *	- connection lost, setup error or factory failure: with
 *	  --restart-on-failure wait --restart-delay seconds (a signal ends the
 *	  wait and the command, with status 0) and start a new cycle, else
 *	  exit 1.
 *
 * With --restart-on-failure a lost connection does not even end the
 * cycle: the worker reconnects in place with the same queue_manager_id
 * (libpgqueuer's reconnect_max_delay_s, here --restart-delay), its running
 * jobs keep running and their outcomes are reported after the reconnect.
 *
 * SIGINT and SIGTERM ask the running worker to stop gracefully: no new
 * dequeue, running jobs finish and are reported.  A second SIGINT (Ctrl-C
 * twice) exits at once; the abandoned jobs come back when their leases
 * expire.  --progress prints the worker's counters once a second.
 *
 * IDENTIFICATION
 *		client/cli/cmd_run.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* the worker a signal must stop (NULL between cycles) */
static PgqWorker *volatile signal_worker = NULL;
static volatile sig_atomic_t got_signal = 0;

/* --progress: the current worker and the totals of earlier cycles */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static PgqWorker	  *progress_worker = NULL;
static PgqWorkerStats  progress_base;
static atomic_int	   progress_done = 0;

static void
usage(void)
{
	printf("Usage:\n"
		   "  pgq run [OPTIONS] [FACTORY] [--exec ENTRYPOINT=COMMAND ...]\n"
		   "\n"
		   "Start a worker (PgQueuer's QueueManager) that processes jobs until stopped.\n"
		   "FACTORY is a shared object and a symbol, PATH.so:SYMBOL (for example\n"
		   "./libmyjobs.so:setup): a PgqFactory called with a fresh worker before every\n"
		   "start to add entrypoints.  --exec runs a command per job instead.  At least\n"
		   "one of the two is required.\n"
		   "\n"
		   "Options:\n"
		   "  --dequeue-timeout SECONDS     max seconds to wait for new jobs without a\n"
		   "                                notification (default 30.0)\n"
		   "  --batch-size N                jobs to dequeue per batch (default 10)\n"
		   "  --restart-delay SECONDS       seconds between restarts when\n"
		   "                                --restart-on-failure is set (default 5.0)\n"
		   "  --restart-on-failure          restart the worker after a failure (setup\n"
		   "                                error); a lost connection is re-established\n"
		   "                                in place, running jobs keep running\n"
		   "  --log-level LEVEL             DEBUG, INFO, WARNING or ERROR (default INFO)\n"
		   "  --mode MODE                   continuous (default) or drain: stop once no\n"
		   "                                job is left\n"
		   "  --max-concurrent-tasks N      cap on jobs running at once (default: no\n"
		   "                                cap, batches are claimed while work waits)\n"
		   "  --shutdown-on-listener-failure\n"
		   "                                stop if the LISTEN health check fails\n"
		   "  --exec ENTRYPOINT=COMMAND     run \"/bin/sh -c COMMAND\" for each job of\n"
		   "                                ENTRYPOINT (repeatable): payload on stdin,\n"
		   "                                exit 0 = successful, 75 = retry, else exception\n"
		   "  --exec-retry-delay SECONDS    delay of an exit-75 retry (default 0)\n"
		   "  --progress                    print the counters to stderr every second\n"
		   "  -h, --help                    show this help and exit\n"
		   "\n"
		   "SIGINT or SIGTERM stops gracefully (running jobs finish); a second SIGINT\n"
		   "exits at once.  Exit status: 0 stopped or drained, 1 failure, 2 usage error.\n");
}

/*
 * on_signal
 *		SIGINT/SIGTERM: stop the running worker gracefully (async-signal-
 *		safe).  A second SIGINT exits at once.
 */
static void
on_signal(int signo)
{
	PgqWorker *worker = signal_worker;

	if (signo == SIGINT && got_signal == SIGINT)
	{
		static const char msg[] = "pgq run: interrupted twice: exiting without waiting for running jobs\n";

		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		{
			/* nothing to do */
		}
		_exit(130);
	}
	got_signal = signo;
	pgq_cli_interrupted = signo;
	if (worker)
		pgq_worker_stop(worker);
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the restart delay wakes up */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * log_line
 *		The worker's log sink: "<local time> [pgqueuer] LEVEL: message" on
 *		stderr, as PgQueuer's CLI prints it.
 */
static void
log_line(PgqLogLevel level, const char *message, void *arg)
{
	static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
	struct timeval			 tv;
	struct tm				 tm;
	char					 date[32];
	char					 zone[8];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	fprintf(stderr, "%s.%03d%s [pgqueuer] %s: %s\n", date, (int) (tv.tv_usec / 1000), zone,
			(level >= PGQ_LOG_DEBUG && level <= PGQ_LOG_ERROR) ? names[level] : "LOG",
			message);
	fflush(stderr);
}

/* run_log: a message of pgq run itself, in the worker's format */
static void
run_log(const PgqWorkerOptions *opts, PgqLogLevel level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
run_log(const PgqWorkerOptions *opts, PgqLogLevel level, const char *fmt, ...)
{
	char	msg[2048];
	va_list ap;

	if (level < opts->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(level, msg, NULL);
}

/* parse_log_level: PgQueuer's names, case-insensitive */
static bool
parse_log_level(const char *text, PgqLogLevel *level)
{
	static const struct
	{
		const char *name;
		PgqLogLevel level;
	} names[] = {
		{"DEBUG", PGQ_LOG_DEBUG},
		{"NOTSET", PGQ_LOG_DEBUG},
		{"INFO", PGQ_LOG_INFO},
		{"WARNING", PGQ_LOG_WARNING},
		{"WARN", PGQ_LOG_WARNING},
		{"ERROR", PGQ_LOG_ERROR},
		{"CRITICAL", PGQ_LOG_ERROR},
		{"FATAL", PGQ_LOG_ERROR},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		if (strcasecmp(text, names[i].name) == 0)
		{
			*level = names[i].level;
			return true;
		}
	}
	return false;
}

/* add_stats: a += b */
static void
add_stats(PgqWorkerStats *a, const PgqWorkerStats *b)
{
	a->dequeued += b->dequeued;
	a->successful += b->successful;
	a->exception += b->exception;
	a->retried += b->retried;
	a->held += b->held;
	a->cancelled += b->cancelled;
}

/*
 * progress_main
 *		--progress: one line a second with the counters of all cycles and
 *		the rate of finished jobs over the last second.
 */
static void *
progress_main(void *arg)
{
	int64_t			last_done = 0;
	struct timespec last;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!atomic_load(&progress_done))
	{
		struct timespec now;
		PgqWorkerStats	st;
		int64_t			done;
		double			dt;

		for (int i = 0; i < 10 && !atomic_load(&progress_done); i++)
			nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
		if (atomic_load(&progress_done))
			break;

		pthread_mutex_lock(&progress_lock);
		memset(&st, 0, sizeof(st));
		if (progress_worker)
			pgq_worker_stats(progress_worker, &st);
		add_stats(&st, &progress_base);
		pthread_mutex_unlock(&progress_lock);

		clock_gettime(CLOCK_MONOTONIC, &now);
		dt = (double) (now.tv_sec - last.tv_sec) + (double) (now.tv_nsec - last.tv_nsec) / 1e9;
		done = st.successful + st.exception + st.retried + st.held;
		fprintf(stderr,
				"progress: dequeued %lld | successful %lld | exception %lld | retried %lld | held %lld | cancelled %lld | running %d | %.1f jobs/s\n",
				(long long) st.dequeued, (long long) st.successful,
				(long long) st.exception, (long long) st.retried, (long long) st.held,
				(long long) st.cancelled, st.running,
				dt > 0 ? (double) (done - last_done) / dt : 0.0);
		fflush(stderr);
		last_done = done;
		last = now;
	}
	return NULL;
}

/*
 * start_progress
 *		Start the --progress thread with the signals blocked (they belong to
 *		the main thread, which must see EINTR in the restart delay).
 */
static bool
start_progress(pthread_t *thread)
{
	sigset_t block;
	sigset_t old;
	int		 rc;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(thread, NULL, progress_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0;
}

/*
 * restart_wait
 *		Sleep for the restart delay; a signal ends the sleep.  False when a
 *		signal arrived (the command then ends).
 */
static bool
restart_wait(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t) seconds;
	ts.tv_nsec = (long) ((seconds - floor(seconds)) * 1e9);
	while (!got_signal && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return !got_signal;
}

/* Everything parsed from the command line. */
typedef struct RunArgs
{
	PgqWorkerOptions opts;
	double			 restart_delay;
	bool			 restart_on_failure;
	bool			 progress;
	double			 exec_retry_delay;
	PgqExecSpec		*execs;
	int				 nexecs;
	const char		*factory;
} RunArgs;

/*
 * add_exec
 *		Add one --exec ENTRYPOINT=COMMAND to args.  Returns -1 to go on, else
 *		the exit status (a bad or repeated entrypoint, out of memory).
 */
static int
add_exec(PgqCli *cli, RunArgs *args, const char *spec)
{
	PgqExecSpec *execs = realloc(args->execs,
								 sizeof(PgqExecSpec) * (size_t) (args->nexecs + 1));

	if (execs == NULL)
	{
		pgq_cli_error(cli, "out of memory");
		return PGQ_EXIT_FAIL;
	}
	args->execs = execs;
	if (!pgq_exec_parse(cli, spec, &args->execs[args->nexecs]))
		return PGQ_EXIT_USAGE;
	for (int i = 0; i < args->nexecs; i++)
		if (strcmp(args->execs[i].entrypoint, args->execs[args->nexecs].entrypoint) == 0)
		{
			pgq_cli_usage(cli, "--exec: entrypoint \"%s\" given twice",
						  args->execs[i].entrypoint);
			free(args->execs[args->nexecs].entrypoint);
			return PGQ_EXIT_USAGE;
		}
	args->nexecs++;
	return -1;
}

/*
 * check_args
 *		After the options (optind at the arguments): settle what depends on
 *		several of them, take FACTORY, and require something to run.
 *		Returns -1 to go on, else the exit status (usage error).
 */
static int
check_args(PgqCli *cli, int argc, char **argv, RunArgs *args)
{
	const char *hook;

	hook = getenv("PGQ_EXEC_TEST_HOOK");
	for (int i = 0; i < args->nexecs; i++)
	{
		args->execs[i].retry_delay_s = args->exec_retry_delay;
		if (hook && strcmp(hook, "stop-worker-after-fork") == 0)
			args->execs[i].test_hook = PGQ_EXEC_HOOK_STOP_WORKER;
		else if (hook && strcmp(hook, "stop-keeper-before-prctl") == 0)
			args->execs[i].test_hook = PGQ_EXEC_HOOK_STOP_KEEPER;
	}

	/* a lost connection is re-established in place, jobs kept running */
	if (args->restart_on_failure)
		args->opts.reconnect_max_delay_s = fmax(args->restart_delay, 0.1);

	if (optind < argc)
		args->factory = argv[optind++];
	if (optind < argc)
		return pgq_cli_usage(cli, "unexpected argument \"%s\" (one FACTORY at most)", argv[optind]);
	if (args->factory == NULL && args->nexecs == 0)
		return pgq_cli_usage(cli, "a FACTORY (PATH.so:SYMBOL) or at least one --exec ENTRYPOINT=COMMAND is required");
	return -1;
}

/*
 * parse_args
 *		Fill args from argv; returns -1 to go on, else the exit status
 *		(help, usage error).
 *
 * Long because it is one switch with a case for each of pgq run's eleven
 * options, each a parse and an assignment next to the option table;
 * splitting the switch would only separate the cases from the table.
 */
static int
parse_args(PgqCli *cli, int argc, char **argv, RunArgs *args)
{
	enum
	{
		OPT_DEQUEUE_TIMEOUT = 256,
		OPT_BATCH_SIZE,
		OPT_RESTART_DELAY,
		OPT_RESTART_ON_FAILURE,
		OPT_LOG_LEVEL,
		OPT_MODE,
		OPT_MAX_CONCURRENT,
		OPT_LISTENER,
		OPT_EXEC,
		OPT_EXEC_RETRY_DELAY,
		OPT_PROGRESS
	};
	static const struct option options[] = {
		{"dequeue-timeout", required_argument, NULL, OPT_DEQUEUE_TIMEOUT},
		{"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
		{"restart-delay", required_argument, NULL, OPT_RESTART_DELAY},
		{"restart-on-failure", no_argument, NULL, OPT_RESTART_ON_FAILURE},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"mode", required_argument, NULL, OPT_MODE},
		{"max-concurrent-tasks", required_argument, NULL, OPT_MAX_CONCURRENT},
		{"shutdown-on-listener-failure", no_argument, NULL, OPT_LISTENER},
		{"exec", required_argument, NULL, OPT_EXEC},
		{"exec-retry-delay", required_argument, NULL, OPT_EXEC_RETRY_DELAY},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		PGQ_HELP_OPTION,
		{NULL, 0, NULL, 0}};
	int	 c;
	long n;

	pgq_worker_options_init(&args->opts);
	args->opts.conninfo = cli->dsn;
	args->opts.log_func = log_line;
	args->restart_delay = 5.0;

	/*
	 * optind = 0 makes glibc's getopt start afresh: main() parsed the global
	 * options in "+" (stop at the command) order, which would otherwise
	 * stick, and FACTORY may come before or after the options.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1)
	{
		switch (c)
		{
			case OPT_DEQUEUE_TIMEOUT:
				if (!pgq_cli_parse_double(cli, "--dequeue-timeout", optarg, 0, 1e9,
										  &args->opts.dequeue_timeout_s))
					return PGQ_EXIT_USAGE;
				/* 0 polls continuously, as in PgQueuer: 1 ms */
				if (args->opts.dequeue_timeout_s < 0.001)
					args->opts.dequeue_timeout_s = 0.001;
				break;
			case OPT_BATCH_SIZE:
				if (!pgq_cli_parse_int(cli, "--batch-size", optarg, 1, 100000, &n))
					return PGQ_EXIT_USAGE;
				args->opts.batch_size = (int) n;
				break;
			case OPT_RESTART_DELAY:
				if (!pgq_cli_parse_double(cli, "--restart-delay", optarg, 0, 1e9,
										  &args->restart_delay))
					return PGQ_EXIT_USAGE;
				break;
			case OPT_RESTART_ON_FAILURE:
				args->restart_on_failure = true;
				break;
			case OPT_LOG_LEVEL:
				if (!parse_log_level(optarg, &args->opts.log_level))
					return pgq_cli_usage(cli, "invalid value \"%s\" for --log-level: DEBUG, INFO, WARNING or ERROR is required",
										 optarg);
				break;
			case OPT_MODE:
				if (strcmp(optarg, "continuous") == 0)
					args->opts.mode = PGQ_MODE_CONTINUOUS;
				else if (strcmp(optarg, "drain") == 0)
					args->opts.mode = PGQ_MODE_DRAIN;
				else
					return pgq_cli_usage(cli, "invalid value \"%s\" for --mode: continuous or drain is required",
										 optarg);
				break;
			case OPT_MAX_CONCURRENT:
				if (!pgq_cli_parse_int(cli, "--max-concurrent-tasks", optarg, 1, 100000, &n))
					return PGQ_EXIT_USAGE;
				args->opts.max_concurrent_tasks = (int) n;
				break;
			case OPT_LISTENER:
				args->opts.shutdown_on_listener_failure = true;
				break;
			case OPT_EXEC:
				if ((c = add_exec(cli, args, optarg)) >= 0)
					return c;
				break;
			case OPT_EXEC_RETRY_DELAY:
				if (!pgq_cli_parse_double(cli, "--exec-retry-delay", optarg, 0, 1e9,
										  &args->exec_retry_delay))
					return PGQ_EXIT_USAGE;
				break;
			case OPT_PROGRESS:
				args->progress = true;
				break;
			case 'h':
				usage();
				return PGQ_EXIT_OK;
			case ':':
				return pgq_cli_usage(cli, "option \"%s\" requires a value", argv[optind - 1]);
			default:
				return pgq_cli_usage(cli, "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	return check_args(cli, argc, argv, args);
}

/*
 * run_cycle
 *		One supervisor cycle: a fresh worker, its entrypoints, the run.
 *		Returns the run's result; *message gets the failure text.
 */
static PgqRunResult
run_cycle(RunArgs *args, PgqLoadedFactory *factory, char *message, size_t msglen)
{
	PgqWorker	  *worker = pgq_worker_new(&args->opts);
	PgqRunResult   result = PGQ_RUN_ERROR;
	PgqWorkerStats st;

	message[0] = '\0';
	if (worker == NULL)
	{
		snprintf(message, msglen, "out of memory");
		return PGQ_RUN_ERROR;
	}
	for (int i = 0; i < args->nexecs; i++)
	{
		if (pgq_worker_add_entrypoint(worker, args->execs[i].entrypoint, pgq_exec_handler,
									  &args->execs[i], NULL, NULL, NULL) != 0)
		{
			snprintf(message, msglen, "--exec: %s", pgq_worker_error(worker));
			pgq_worker_free(worker);
			return PGQ_RUN_ERROR;
		}
	}
	if (factory->fn)
	{
		int rc = factory->fn(worker);

		if (rc != 0)
		{
			snprintf(message, msglen, "factory %s returned %d", factory->spec, rc);
			pgq_worker_free(worker);
			return PGQ_RUN_ERROR;
		}
	}

	pthread_mutex_lock(&progress_lock);
	progress_worker = worker;
	pthread_mutex_unlock(&progress_lock);
	signal_worker = worker;
	if (got_signal)
		pgq_worker_stop(worker);

	result = pgq_worker_run(worker);

	signal_worker = NULL;
	if (result == PGQ_RUN_ERROR || result == PGQ_RUN_CONNECTION_LOST)
		snprintf(message, msglen, "%s", pgq_worker_error(worker));
	pthread_mutex_lock(&progress_lock);
	pgq_worker_stats(worker, &st);
	add_stats(&progress_base, &st);
	progress_worker = NULL;
	pthread_mutex_unlock(&progress_lock);

	pgq_worker_free(worker);
	return result;
}

int
cmd_run(PgqCli *cli, int argc, char **argv)
{
	RunArgs			 args;
	PgqLoadedFactory factory;
	pthread_t		 progress_thread;
	bool			 progress_started = false;
	int				 status;
	char			 message[2048];

	memset(&args, 0, sizeof(args));
	memset(&factory, 0, sizeof(factory));
	status = parse_args(cli, argc, argv, &args);
	if (status >= 0)
		goto done;
	if (args.factory &&
		(status = pgq_factory_load(cli, args.factory, &factory)) != PGQ_EXIT_OK)
		goto done;

	install_signals();
	if (args.progress)
		progress_started = start_progress(&progress_thread);

	for (;;)
	{
		PgqRunResult result = run_cycle(&args, &factory, message, sizeof(message));

		if (result == PGQ_RUN_STOPPED || result == PGQ_RUN_DRAINED)
		{
			if (got_signal)
				run_log(&args.opts, PGQ_LOG_INFO, "stopped by %s",
						got_signal == SIGINT ? "SIGINT" : "SIGTERM");
			status = PGQ_EXIT_OK;
			break;
		}
		if (got_signal)
		{
			/* a failure while shutting down: the shutdown wins */
			run_log(&args.opts, PGQ_LOG_WARNING, "%s", message);
			status = PGQ_EXIT_OK;
			break;
		}
		if (!args.restart_on_failure)
		{
			pgq_cli_error(cli, "%s", message);
			status = PGQ_EXIT_FAIL;
			break;
		}
		run_log(&args.opts, PGQ_LOG_WARNING, "%s; restarting in %g s", message,
				args.restart_delay);
		if (!restart_wait(args.restart_delay))
		{
			status = PGQ_EXIT_OK;
			break;
		}
	}

	if (progress_started)
	{
		atomic_store(&progress_done, 1);
		pthread_join(progress_thread, NULL);
	}

done:
	pgq_factory_unload(&factory);
	for (int i = 0; i < args.nexecs; i++)
		free(args.execs[i].entrypoint);
	free(args.execs);
	return status;
}
