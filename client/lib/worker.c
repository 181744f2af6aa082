/*-------------------------------------------------------------------------
 *
 * worker.c
 *		PgqWorker: options, entrypoints, shared resources, stop requests,
 *		statistics and teardown.  The run loop is in worker_run.c.
 *
 * A worker owns a self-pipe for its whole life: pgq_worker_stop() (from
 * any thread or a signal handler) and pool threads finishing a job write a
 * byte to it, which wakes the run loop's poll().  Creating it up front
 * keeps pgq_worker_stop() async-signal-safe without any lazy state.
 *
 * IDENTIFICATION
 *		client/lib/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgq_internal.h"

void
pgq_worker_options_init(PgqWorkerOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->batch_size = 10;
	opts->dequeue_timeout_s = 30.0;
	opts->max_concurrent_tasks = 0;
	opts->mode = PGQ_MODE_CONTINUOUS;
	opts->shutdown_on_listener_failure = false;
	opts->log_level = PGQ_LOG_INFO;
}

PgqWorker *
pgq_worker_new(const PgqWorkerOptions *opts)
{
	PgqWorker *worker = calloc(1, sizeof(PgqWorker));
	int		   fds[2];

	if (worker == NULL)
		return NULL;
	if (opts)
		worker->opts = *opts;
	else
		pgq_worker_options_init(&worker->opts);

	/* zero (or nonsense) values fall back to the defaults */
	if (worker->opts.batch_size <= 0)
		worker->opts.batch_size = 10;
	if (!(worker->opts.dequeue_timeout_s > 0) || !isfinite(worker->opts.dequeue_timeout_s))
		worker->opts.dequeue_timeout_s = 30.0;
	if (worker->opts.max_concurrent_tasks < 0)
		worker->opts.max_concurrent_tasks = 0;
	if (worker->opts.mode != PGQ_MODE_DRAIN)
		worker->opts.mode = PGQ_MODE_CONTINUOUS;
	if (worker->opts.log_level < PGQ_LOG_DEBUG || worker->opts.log_level > PGQ_LOG_ERROR)
		worker->opts.log_level = PGQ_LOG_INFO;
	if (!(worker->opts.reconnect_max_delay_s > 0) || !isfinite(worker->opts.reconnect_max_delay_s))
		worker->opts.reconnect_max_delay_s = 0;

	if (worker->opts.conninfo)
	{
		worker->conninfo = strdup(worker->opts.conninfo);
		if (worker->conninfo == NULL)
		{
			free(worker);
			return NULL;
		}
	}
	worker->opts.conninfo = worker->conninfo;

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
	{
		free(worker->conninfo);
		free(worker);
		return NULL;
	}
	worker->wake_rd = fds[0];
	worker->wake_wr = fds[1];
	pthread_mutex_init(&worker->lock, NULL);
	pthread_mutex_init(&worker->log_lock, NULL);
	return worker;
}

void
pgq_worker_set_error(PgqWorker *worker, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(worker->error, sizeof(worker->error), fmt, ap);
	va_end(ap);
}

/*
 * check_entrypoint_options
 *		Validate registry settings; NULL if fine, else what is wrong.
 */
static const char *
check_entrypoint_options(const PgqEntrypointOptions *o)
{
	if (o->concurrency_limit < 0)
		return "concurrency_limit must be >= 0";
	if (!isfinite(o->requests_per_second) || o->requests_per_second < 0)
		return "requests_per_second must be a finite number >= 0";
	if (!isfinite(o->lease_timeout_s) || o->lease_timeout_s < 0)
		return "lease_timeout_s must be a finite number >= 0";
	if (o->max_attempts < 0)
		return "max_attempts must be >= 0";
	if (!isfinite(o->retry_backoff_base_s) || o->retry_backoff_base_s < 0)
		return "retry_backoff_base_s must be a finite number >= 0";
	if (!isfinite(o->retry_backoff_max_s) || o->retry_backoff_max_s < 0)
		return "retry_backoff_max_s must be a finite number >= 0";
	if (o->on_failure && strcmp(o->on_failure, "delete") != 0 &&
		strcmp(o->on_failure, "hold") != 0)
		return "on_failure must be \"delete\" or \"hold\"";
	return NULL;
}

int
pgq_worker_add_entrypoint(PgqWorker *worker, const char *name,
						  PgqHandler handler, void *handler_arg,
						  PgqExecutor executor, void *executor_arg,
						  const PgqEntrypointOptions *opts)
{
	PgqEntry   *entry;
	const char *bad;

	if (worker->running)
	{
		pgq_worker_set_error(worker, "cannot add an entrypoint while the worker runs");
		return -1;
	}
	if (name == NULL || name[0] == '\0')
	{
		pgq_worker_set_error(worker, "entrypoint name must not be empty");
		return -1;
	}
	if (handler == NULL)
	{
		pgq_worker_set_error(worker, "entrypoint \"%s\": handler must not be NULL", name);
		return -1;
	}
	for (int i = 0; i < worker->nentries; i++)
	{
		if (strcmp(worker->entries[i].name, name) == 0)
		{
			pgq_worker_set_error(worker, "entrypoint \"%s\" is already registered", name);
			return -1;
		}
	}
	if (opts && (bad = check_entrypoint_options(opts)) != NULL)
	{
		pgq_worker_set_error(worker, "entrypoint \"%s\": %s", name, bad);
		return -1;
	}

	if (worker->nentries == worker->maxentries)
	{
		int		  max = worker->maxentries ? worker->maxentries * 2 : 8;
		PgqEntry *entries = realloc(worker->entries, sizeof(PgqEntry) * (size_t) max);

		if (entries == NULL)
		{
			pgq_worker_set_error(worker, "out of memory");
			return -1;
		}
		worker->entries = entries;
		worker->maxentries = max;
	}
	entry = &worker->entries[worker->nentries];
	memset(entry, 0, sizeof(*entry));
	entry->name = strdup(name);
	if (opts)
	{
		entry->opts = *opts;
		entry->on_failure = pgq_strdup_null(opts->on_failure);
	}
	if (entry->name == NULL || (opts && opts->on_failure && entry->on_failure == NULL))
	{
		free(entry->name);
		free(entry->on_failure);
		pgq_worker_set_error(worker, "out of memory");
		return -1;
	}
	entry->opts.on_failure = entry->on_failure;
	entry->handler = handler;
	entry->handler_arg = handler_arg;
	entry->executor = executor;
	entry->executor_arg = executor_arg;
	worker->nentries++;
	return 0;
}

void
pgq_worker_set_resources(PgqWorker *worker, void *resources,
						 void (*cleanup)(void *resources))
{
	worker->resources = resources;
	worker->cleanup = cleanup;
}

/*
 * pgq_worker_wake
 *		Wake the run loop.  Async-signal-safe: one write() to the
 *		non-blocking self-pipe; a full pipe already means "wake up".
 */
void
pgq_worker_wake(PgqWorker *worker)
{
	int	 save_errno = errno;
	char c = 'w';

	if (write(worker->wake_wr, &c, 1) < 0)
	{
		/* EAGAIN: the loop has wake-ups pending anyway */
	}
	errno = save_errno;
}

void
pgq_worker_stop(PgqWorker *worker)
{
	if (worker == NULL)
		return;
	atomic_store(&worker->stop_requested, 1);
	pgq_worker_wake(worker);
}

void
pgq_worker_stats(PgqWorker *worker, PgqWorkerStats *stats)
{
	pthread_mutex_lock(&worker->lock);
	*stats = worker->stats;
	pthread_mutex_unlock(&worker->lock);
}

const char *
pgq_worker_error(const PgqWorker *worker)
{
	return worker->error;
}

/* pgq_context_free: free a job record and everything it owns */
void
pgq_context_free(PgqContext *ctx)
{
	if (ctx == NULL)
		return;
	free(ctx->strings);
	if (ctx->payload)
		PQfreemem(ctx->payload);
	free(ctx->exc_type);
	free(ctx->exc_message);
	free(ctx->exc_traceback);
	free(ctx);
}

void
pgq_worker_free(PgqWorker *worker)
{
	if (worker == NULL)
		return;
	if (worker->cleanup)
		worker->cleanup(worker->resources);
	for (int i = 0; i < worker->nentries; i++)
	{
		free(worker->entries[i].name);
		free(worker->entries[i].on_failure);
	}
	free(worker->entries);
	free(worker->conninfo);
	close(worker->wake_rd);
	close(worker->wake_wr);
	pthread_mutex_destroy(&worker->lock);
	pthread_mutex_destroy(&worker->log_lock);
	free(worker);
}
