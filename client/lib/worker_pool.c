/*-------------------------------------------------------------------------
 *
 * worker_pool.c
 *		The pool of threads that runs handlers.
 *
 * The run loop submits each dequeued job; an idle thread takes it (woken
 * one after another as jobs wait: wake_one), runs
 * the entrypoint's executor (or the handler itself), stores the outcome in
 * the job's context, appends the job to the worker's done list and wakes
 * the run loop through the self-pipe.  Threads are created on demand, up
 * to the worker's capacity (max_concurrent_tasks; none by default), so an
 * idle worker costs no threads and a worker without a cap has as many as
 * it ever ran jobs at once.
 *
 * Pool threads block the asynchronous signals: SIGINT and SIGTERM go to
 * the application's main thread (pgq run's supervisor), and SIGPIPE from a
 * handler writing to a closed pipe becomes an EPIPE error instead of
 * killing the process.
 *
 * IDENTIFICATION
 *		client/lib/worker_pool.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq_internal.h"

struct PgqPool
{
	PgqWorker	   *worker;
	pthread_mutex_t lock;
	pthread_cond_t	cond;
	PgqContext	   *head; /* submitted jobs not yet taken */
	PgqContext	   *tail;
	int				nqueued;
	int				nthreads;
	int				nidle;	 /* threads waiting for a job */
	int				nwaking; /* of those, signalled and not yet awake */
	int				max_threads;
	int				allocated; /* length of threads[] */
	bool			stopping;
	pthread_t	   *threads;
};

/*
 * run_job
 *		Run one job's handler on this thread and hand the outcome back to
 *		the run loop.  A job cancelled before it started is not run.
 */
static void
run_job(PgqWorker *worker, PgqContext *ctx)
{
	const PgqEntry *entry = ctx->entry;
	PgqStatus		status = PGQ_SUCCESSFUL;
	bool			cancelled;
	bool			first;

	pthread_mutex_lock(&worker->lock);
	ctx->state = PGQ_SLOT_RUNNING;
	worker->stats.running++;
	pthread_mutex_unlock(&worker->lock);

	if (!atomic_load(&ctx->cancelled))
	{
		if (entry->executor)
			status = entry->executor(ctx, entry->handler, entry->executor_arg);
		else
			status = entry->handler(ctx);
	}
	if ((int) status < (int) PGQ_SUCCESSFUL || (int) status > (int) PGQ_HOLD)
	{
		char msg[64];

		snprintf(msg, sizeof(msg), "handler returned invalid status %d", (int) status);
		pgq_ctx_set_exception(ctx, "InvalidStatus", msg, NULL);
		status = PGQ_EXCEPTION;
	}
	ctx->status = status;
	pgq_utc_timestamp(ctx->finished_at, sizeof(ctx->finished_at));
	if (status == PGQ_EXCEPTION && !atomic_load(&ctx->cancelled))
		pgq_log(worker, PGQ_LOG_WARNING, "job %lld (%s) failed: %s: %s",
				(long long) ctx->job.id, entry->name,
				ctx->exc_set ? (ctx->exc_type ? ctx->exc_type : "") : "HandlerError",
				ctx->exc_set && ctx->exc_message ? ctx->exc_message :
												   (ctx->exc_set ? "" : "the handler returned PGQ_EXCEPTION"));

	pthread_mutex_lock(&worker->lock);
	cancelled = atomic_load(&ctx->cancelled);
	ctx->state = PGQ_SLOT_DONE;
	worker->stats.running--;
	if (!cancelled)
	{
		switch (status)
		{
			case PGQ_SUCCESSFUL:
				worker->stats.successful++;
				break;
			case PGQ_EXCEPTION:
				worker->stats.exception++;
				break;
			case PGQ_RETRY:
				worker->stats.retried++;
				break;
			case PGQ_HOLD:
				worker->stats.held++;
				break;
		}
	}
	ctx->next = NULL;
	first = worker->done_head == NULL;
	if (worker->done_tail)
		worker->done_tail->next = ctx;
	else
		worker->done_head = ctx;
	worker->done_tail = ctx;
	pthread_mutex_unlock(&worker->lock);

	/*
	 * ctx belongs to the run loop from here on: do not touch it.  Only the
	 * first outcome of an empty list wakes the loop: it empties its wake
	 * pipe before it takes the whole list, so an outcome added to a list
	 * that is not empty is taken with the one that woke it, and one added
	 * after the loop took the list finds it empty and wakes it again.  A
	 * batch of quick handlers costs one wake-up instead of one each.
	 */
	if (first)
		pgq_worker_wake(worker);
}

/*
 * wake_one
 *		Wake one idle thread for the jobs queued, unless one is already on
 *		its way: a thread that takes a job and leaves others queued wakes
 *		the next (thread_main), so the wake-ups follow the queue.  A batch
 *		of quick handlers is run by the few threads that are awake, without
 *		a wake-up and a thread switch per job; a batch of slow ones still
 *		gets a thread each, woken one after another.  Called with
 *		pool->lock held.
 */
static void
wake_one(PgqPool *pool)
{
	if (pool->head == NULL || pool->nwaking > 0 || pool->nidle == 0)
		return;
	pool->nwaking++;
	pthread_cond_signal(&pool->cond);
}

/* thread_main: take jobs until the pool stops and the queue is empty */
static void *
thread_main(void *arg)
{
	PgqPool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;)
	{
		PgqContext *ctx;

		while (pool->head == NULL && !pool->stopping)
		{
			pool->nidle++;
			pthread_cond_wait(&pool->cond, &pool->lock);
			pool->nidle--;
			/* signalled, or woken spuriously: either way one fewer to come */
			if (pool->nwaking > 0)
				pool->nwaking--;
		}
		if (pool->head == NULL)
			break;
		ctx = pool->head;
		pool->head = ctx->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->nqueued--;
		wake_one(pool);
		pthread_mutex_unlock(&pool->lock);

		run_job(pool->worker, ctx);

		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/*
 * spawn_thread
 *		Start one more pool thread with the asynchronous signals blocked
 *		(the new thread inherits the mask in force at pthread_create).
 *		Called with pool->lock held.
 */
static bool
spawn_thread(PgqPool *pool)
{
	sigset_t all;
	sigset_t old;
	int		 rc;

	if (pool->nthreads == pool->allocated)
	{
		int		   n = pool->allocated < 16 ? 16 : pool->allocated * 2;
		pthread_t *grown;

		if (n > pool->max_threads)
			n = pool->max_threads;
		grown = realloc(pool->threads, (size_t) n * sizeof(pthread_t));
		if (grown == NULL)
			return false;
		pool->threads = grown;
		pool->allocated = n;
	}
	sigfillset(&all);
	/* signals raised by faults must stay deliverable */
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&pool->threads[pool->nthreads], NULL, thread_main, pool);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return false;
	pool->nthreads++;
	return true;
}

/*
 * pgq_pool_start
 *		A pool of at most max_threads threads (none started yet; the
 *		array of threads grows as they are).  NULL when out of memory.
 */
PgqPool *
pgq_pool_start(PgqWorker *worker, int max_threads)
{
	PgqPool *pool = calloc(1, sizeof(PgqPool));

	if (pool == NULL)
		return NULL;
	pool->worker = worker;
	pool->max_threads = max_threads;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	return pool;
}

/*
 * pgq_pool_submit
 *		Queue a job for a pool thread, starting a thread when none is idle.
 *		False only when no thread could ever run it (the pool has no
 *		thread and none can be created).
 */
bool
pgq_pool_submit(PgqPool *pool, PgqContext *ctx)
{
	bool ok = true;

	pthread_mutex_lock(&pool->lock);
	ctx->next = NULL;
	if (pool->tail)
		pool->tail->next = ctx;
	else
		pool->head = ctx;
	pool->tail = ctx;
	pool->nqueued++;
	if (pool->nidle < pool->nqueued && pool->nthreads < pool->max_threads)
	{
		if (!spawn_thread(pool) && pool->nthreads == 0)
		{
			/* take the job back: nobody can run it */
			pool->head = pool->tail = NULL;
			pool->nqueued = 0;
			ok = false;
		}
	}
	if (ok)
		wake_one(pool);
	pthread_mutex_unlock(&pool->lock);
	return ok;
}

/*
 * pgq_pool_stop
 *		Let the threads finish the queued jobs, join them and free the pool.
 */
void
pgq_pool_stop(PgqPool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->threads);
	free(pool);
}
