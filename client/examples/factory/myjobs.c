/*-------------------------------------------------------------------------
 *
 * myjobs.c
 *		An example factory for `pgq run`: the C analogue of PgQueuer's
 *		`my_module:my_factory`.
 *
 * Build it as a shared object (make client builds
 * build/examples/libmyjobs.so) and run it:
 *
 *		cc -shared -fPIC -I/usr/local/include -I$(pg_config --includedir) \
 *			-o libmyjobs.so myjobs.c
 *		pgq run ./libmyjobs.so:setup
 *
 * `pgq run` dlopen()s the library and calls the symbol (type PgqFactory)
 * with a fresh PgqWorker before every start and restart.  The factory adds
 * entrypoints and may set shared resources; the resources' cleanup runs
 * when the worker is freed, after the last handler returned.  The
 * library's functions come from pgq itself, so the .so needs no -lpgqueuer
 * (link it with -lpgqueuer to load it in your own program instead).
 *
 * Entrypoints defined here, one per feature worth showing:
 *
 *	noop		returns PGQ_SUCCESSFUL at once
 *	sleep		payload = milliseconds; sleeps in small steps, polling
 *				pgq_ctx_cancelled(), and gives up early when cancelled
 *	fail		always fails: PGQ_EXCEPTION with a ValueError
 *	flaky		fails on its first attempt, succeeds afterwards; registered
 *				with max_attempts so the *server* retries it with backoff
 *	later		asks for a client-decided retry (PGQ_RETRY after 0.2 s) on
 *				its first attempt
 *	limited		registered with a concurrency limit, enforced by the server
 *				across all workers; records the concurrency it observes
 *	unstable	payload = N: fails N times in a row, wrapped in a custom
 *				executor that retries inside the worker with backoff
 *
 * Configuration from the environment (all optional):
 *
 *	MYJOBS_LIMIT		concurrency_limit of "limited" (default 2)
 *	MYJOBS_LIMITED_MS	milliseconds a "limited" job works (default 2)
 *	MYJOBS_TRACK_FILE	file where "limited" records how many of its jobs
 *						ran at once across all processes: "CURRENT MAX"
 *	MYJOBS_LEASE		seconds: register "sleep" with this lease_timeout
 *						(heartbeats go out at half of it)
 *	MYJOBS_FAIL_SETUP	if set, the factory fails (pgq run exits 1)
 *
 * IDENTIFICATION
 *		client/examples/factory/myjobs.c
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "libpgqueuer.h"

/* The factory's symbol: pgq run ./libmyjobs.so:setup */
extern int setup(PgqWorker *worker);

/*
 * Shared resources: one object for all handlers of the worker (PgQueuer's
 * Context.resources).  Handlers run concurrently on the worker's threads,
 * so anything they change is protected by a mutex.
 */
typedef struct MyResources
{
	pthread_mutex_t lock;
	long			handled;		 /* jobs that reached a handler */
	int				limited_running; /* "limited" jobs running in this process */
	int				limited_max;	 /* the most seen at once */
	int				limited_ms;
	const char	   *track_file; /* NULL: no cross-process tracking */
} MyResources;

/* Called once by pgq_worker_free(), after the last handler returned. */
static void
cleanup_resources(void *arg)
{
	MyResources *res = arg;

	fprintf(stderr, "myjobs: cleanup: %ld jobs handled, limited ran at most %d at once here\n",
			res->handled, res->limited_max);
	pthread_mutex_destroy(&res->lock);
	free(res);
}

/* count: one more job reached a handler */
static MyResources *
count(PgqContext *ctx)
{
	MyResources *res = pgq_ctx_resources(ctx);

	pthread_mutex_lock(&res->lock);
	res->handled++;
	pthread_mutex_unlock(&res->lock);
	return res;
}

/* sleep_ms: nanosleep for ms milliseconds */
static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* payload_long: the payload read as a decimal number (0 if none) */
static long
payload_long(const PgqJob *job)
{
	char text[32] = "";

	if (job->payload && job->payload_len < sizeof(text))
		memcpy(text, job->payload, job->payload_len);
	return strtol(text, NULL, 10);
}

/* noop: the smallest handler */
static PgqStatus
handle_noop(PgqContext *ctx)
{
	count(ctx);
	return PGQ_SUCCESSFUL;
}

/*
 * sleep: a long job that honours cancellation.  pgqueuer.cancel() on a
 * running job reaches the worker as a cancellation_event; the worker sets
 * the flag that pgq_ctx_cancelled() reads.  Whatever the handler returns
 * then is ignored (cancel() already logged the job as canceled).
 */
static PgqStatus
handle_sleep(PgqContext *ctx)
{
	const PgqJob *job = pgq_ctx_job(ctx);
	long		  ms = payload_long(job);

	count(ctx);
	for (long slept = 0; slept < ms; slept += 10)
	{
		if (pgq_ctx_cancelled(ctx))
		{
			fprintf(stderr, "myjobs: sleep: job %lld cancelled after %ld ms\n",
					(long long) job->id, slept);
			pgq_ctx_set_exception(ctx, "Cancelled", "the job was cancelled", NULL);
			return PGQ_EXCEPTION;
		}
		sleep_ms(ms - slept < 10 ? ms - slept : 10);
	}
	return PGQ_SUCCESSFUL;
}

/* fail: report an exception; the log row gets PgQueuer's traceback JSON */
static PgqStatus
handle_fail(PgqContext *ctx)
{
	char msg[256];

	count(ctx);
	snprintf(msg, sizeof(msg), "fail was asked to fail job %lld",
			 (long long) pgq_ctx_job(ctx)->id);
	pgq_ctx_set_exception(ctx, "ValueError", msg,
						  "Traceback (most recent call last):\n  myjobs.c, in handle_fail\nValueError");
	return PGQ_EXCEPTION;
}

/*
 * flaky: fails on attempt 0.  Registered with max_attempts, the server
 * retries the exception itself (attempts + 1, after retry_backoff_base).
 */
static PgqStatus
handle_flaky(PgqContext *ctx)
{
	count(ctx);
	if (pgq_ctx_job(ctx)->attempts == 0)
	{
		pgq_ctx_set_exception(ctx, "FlakyError", "first attempts fail", NULL);
		return PGQ_EXCEPTION;
	}
	return PGQ_SUCCESSFUL;
}

/* later: the client decides to retry (PgQueuer's RetryRequested) */
static PgqStatus
handle_later(PgqContext *ctx)
{
	count(ctx);
	if (pgq_ctx_job(ctx)->attempts == 0)
	{
		pgq_ctx_set_exception(ctx, "RetryRequested", "not yet", NULL);
		pgq_ctx_set_retry(ctx, 0.2);
		return PGQ_RETRY;
	}
	return PGQ_SUCCESSFUL;
}

/*
 * track_file: add delta to the "CURRENT MAX" counters in the track file,
 * under an exclusive flock() so that all worker processes share them.
 */
static void
track_file(const char *path, int delta)
{
	char buf[64] = "";
	int	 cur = 0;
	int	 max = 0;
	int	 fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX) == 0)
	{
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		if (n > 0)
		{
			buf[n] = '\0';
			sscanf(buf, "%d %d", &cur, &max);
		}
		cur += delta;
		if (cur > max)
			max = cur;
		n = snprintf(buf, sizeof(buf), "%10d %10d\n", cur, max);
		if (pwrite(fd, buf, (size_t) n, 0) != n)
			perror("myjobs: track file");
		flock(fd, LOCK_UN);
	}
	close(fd);
}

/*
 * limited: the server hands out at most MYJOBS_LIMIT of these at once,
 * fleet-wide; this handler counts how many actually run at once.
 */
static PgqStatus
handle_limited(PgqContext *ctx)
{
	MyResources *res = count(ctx);

	if (res->track_file)
		track_file(res->track_file, +1);
	pthread_mutex_lock(&res->lock);
	if (++res->limited_running > res->limited_max)
		res->limited_max = res->limited_running;
	pthread_mutex_unlock(&res->lock);

	sleep_ms(res->limited_ms);

	pthread_mutex_lock(&res->lock);
	res->limited_running--;
	pthread_mutex_unlock(&res->lock);
	if (res->track_file)
		track_file(res->track_file, -1);
	return PGQ_SUCCESSFUL;
}

/*
 * unstable: fails "payload" times in a row.  It counts its calls in a
 * thread-local variable that its executor resets: an executor and the
 * handler it wraps run on the same pool thread, one job at a time.
 */
static __thread int unstable_calls;

static PgqStatus
handle_unstable(PgqContext *ctx)
{
	if (unstable_calls++ == 0)
		count(ctx);
	if (unstable_calls <= payload_long(pgq_ctx_job(ctx)))
	{
		pgq_ctx_set_exception(ctx, "IOError", "the service is unstable", NULL);
		return PGQ_EXCEPTION;
	}
	return PGQ_SUCCESSFUL;
}

/* The settings of the retrying executor, given as executor_arg. */
typedef struct RetryPolicy
{
	int	 max_tries;		   /* calls of the handler, at most */
	long initial_delay_ms; /* then doubled after every failure */
	long max_delay_ms;
} RetryPolicy;

static const RetryPolicy unstable_policy = {5, 20, 200};

/*
 * retry_executor: PgQueuer's executor_factory in C.  Retries the handler
 * inside the worker with exponential backoff while it returns
 * PGQ_EXCEPTION, up to max_tries calls, and gives up early when the job
 * is cancelled.  The final outcome is what the worker reports.
 */
static PgqStatus
retry_executor(PgqContext *ctx, PgqHandler handler, void *arg)
{
	const RetryPolicy *policy = arg;
	long			   delay = policy->initial_delay_ms;
	PgqStatus		   status = PGQ_EXCEPTION;

	unstable_calls = 0;
	for (int attempt = 1; attempt <= policy->max_tries; attempt++)
	{
		status = handler(ctx);
		if (status != PGQ_EXCEPTION || pgq_ctx_cancelled(ctx) ||
			attempt == policy->max_tries)
			break;
		fprintf(stderr, "myjobs: job %lld failed (try %d of %d), retrying in %ld ms\n",
				(long long) pgq_ctx_job(ctx)->id, attempt, policy->max_tries, delay);
		sleep_ms(delay);
		delay = delay * 2 > policy->max_delay_ms ? policy->max_delay_ms : delay * 2;
	}
	return status;
}

/* env_long: an integer from the environment, or def */
static long
env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return (v && *v) ? strtol(v, NULL, 10) : def;
}

/*
 * setup: the factory.  Returns 0, or non-zero to abort the start (then
 * the worker is freed, which runs the cleanup of resources set so far).
 */
int
setup(PgqWorker *worker)
{
	MyResources			*res;
	PgqEntrypointOptions flaky = {0};
	PgqEntrypointOptions limited = {0};
	PgqEntrypointOptions sleeping = {0};
	const char			*lease = getenv("MYJOBS_LEASE");

	if (getenv("MYJOBS_FAIL_SETUP"))
	{
		fprintf(stderr, "myjobs: MYJOBS_FAIL_SETUP is set: refusing to start\n");
		return 1;
	}

	res = calloc(1, sizeof(MyResources));
	if (res == NULL)
		return 1;
	pthread_mutex_init(&res->lock, NULL);
	res->limited_ms = (int) env_long("MYJOBS_LIMITED_MS", 2);
	res->track_file = getenv("MYJOBS_TRACK_FILE");
	pgq_worker_set_resources(worker, res, cleanup_resources);

	/* the server retries exceptions of flaky twice, 0.2 s apart at first */
	flaky.register_entrypoint = true;
	flaky.max_attempts = 2;
	flaky.retry_backoff_base_s = 0.2;

	/* at most MYJOBS_LIMIT limited jobs run at once, across all workers */
	limited.register_entrypoint = true;
	limited.concurrency_limit = (int) env_long("MYJOBS_LIMIT", 2);

	/* a short lease shows heartbeats (and re-runs after a crash) */
	if (lease && *lease)
	{
		sleeping.register_entrypoint = true;
		sleeping.lease_timeout_s = strtod(lease, NULL);
	}

	if (pgq_worker_add_entrypoint(worker, "noop", handle_noop, NULL, NULL, NULL, NULL) != 0 ||
		pgq_worker_add_entrypoint(worker, "sleep", handle_sleep, NULL, NULL, NULL, &sleeping) != 0 ||
		pgq_worker_add_entrypoint(worker, "fail", handle_fail, NULL, NULL, NULL, NULL) != 0 ||
		pgq_worker_add_entrypoint(worker, "flaky", handle_flaky, NULL, NULL, NULL, &flaky) != 0 ||
		pgq_worker_add_entrypoint(worker, "later", handle_later, NULL, NULL, NULL, NULL) != 0 ||
		pgq_worker_add_entrypoint(worker, "limited", handle_limited, NULL, NULL, NULL, &limited) != 0 ||
		pgq_worker_add_entrypoint(worker, "unstable", handle_unstable, NULL,
								  retry_executor, (void *) &unstable_policy, NULL) != 0)
	{
		fprintf(stderr, "myjobs: %s\n", pgq_worker_error(worker));
		return 1;
	}
	return 0;
}
