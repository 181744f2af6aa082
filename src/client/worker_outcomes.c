/*-------------------------------------------------------------------------
 *
 * worker_outcomes.c
 *		Reporting finished jobs in batches.
 *
 * Pool threads append finished jobs to the worker's done list.  Each turn
 * of the run loop collects that list and flushes every pending outcome:
 * all successful, exception and held (failed) jobs in ONE call of
 * pgqueuer.complete(ids, statuses, tracebacks, queue_manager_id), then one
 * pgqueuer.retry() per PGQ_RETRY job (retry takes one job and its delay).
 * A job reaches the server's log only through these calls; a cancelled
 * job is not reported at all (cancel() already removed and logged it).
 *
 * Tracebacks are PgQueuer's TracebackRecord JSON: job_id, timestamp,
 * exception_type, exception_message, traceback, additional_context.
 *
 * Failures: a transient error keeps the outcomes for the next turn (at
 * most MAX_FLUSH_ATTEMPTS turns); a persistent error drops them with an
 * ERROR line -- their jobs are still picked, so their leases expire and
 * they run again (at-least-once).
 *
 * IDENTIFICATION
 *		src/client/worker_outcomes.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq_internal.h"

#define MAX_FLUSH_ATTEMPTS 5

/*
 * pgq_run_release
 *		Forget a held job: unlink it from the run's list and free it.
 */
void
pgq_run_release(PgqRun *run, PgqContext *ctx)
{
	if (ctx->run_prev)
		ctx->run_prev->run_next = ctx->run_next;
	else
		run->held_head = ctx->run_next;
	if (ctx->run_next)
		ctx->run_next->run_prev = ctx->run_prev;
	run->nheld--;
	pgq_context_free(ctx);
}

/*
 * pgq_run_collect_done
 *		Take the jobs the pool finished: cancelled ones are forgotten, the
 *		others wait in the pending list for the next flush.
 */
void
pgq_run_collect_done(PgqRun *run)
{
	PgqWorker  *worker = run->worker;
	PgqContext *ctx;

	pthread_mutex_lock(&worker->lock);
	ctx = worker->done_head;
	worker->done_head = worker->done_tail = NULL;
	pthread_mutex_unlock(&worker->lock);

	while (ctx)
	{
		PgqContext *next = ctx->next;

		if (atomic_load(&ctx->cancelled))
		{
			pgq_log(worker, PGQ_LOG_DEBUG, "job %lld (%s) was cancelled: outcome not reported",
					(long long) ctx->job.id, ctx->entry->name);
			pgq_run_release(run, ctx);
		}
		else
		{
			ctx->next = NULL;
			if (run->pending_tail)
				run->pending_tail->next = ctx;
			else
				run->pending_head = ctx;
			run->pending_tail = ctx;
			run->npending++;
		}
		ctx = next;
	}
}

/*
 * append_timedelta
 *		A duration as Python's str(timedelta): "0:00:30", "0:00:01.500000",
 *		"2 days, 1:00:00" (PgQueuer's retry_delay).
 */
static void
append_timedelta(PgqBuf *buf, double seconds)
{
	long long	us = llround(seconds * 1e6);
	long long	days = us / (86400LL * 1000000);
	long long	rest = us % (86400LL * 1000000);
	long long	secs = rest / 1000000;

	if (days > 0)
		pgq_buf_printf(buf, "%lld day%s, ", days, days == 1 ? "" : "s");
	pgq_buf_printf(buf, "%lld:%02lld:%02lld", secs / 3600, (secs / 60) % 60, secs % 60);
	if (rest % 1000000)
		pgq_buf_printf(buf, ".%06lld", rest % 1000000);
}

/*
 * append_traceback
 *		The TracebackRecord JSON of a failed, held or retried job.
 */
static void
append_traceback(PgqBuf *buf, const PgqContext *ctx)
{
	const char *type;
	const char *message;

	if (ctx->exc_set)
	{
		type = ctx->exc_type ? ctx->exc_type : "";
		message = ctx->exc_message ? ctx->exc_message : "";
	}
	else if (ctx->status == PGQ_RETRY)
	{
		type = "RetryRequested";
		message = "Retry requested";
	}
	else if (ctx->status == PGQ_HOLD)
	{
		type = "HoldRequested";
		message = "the handler asked to hold the job";
	}
	else
	{
		type = "HandlerError";
		message = "the handler returned PGQ_EXCEPTION";
	}

	pgq_buf_printf(buf, "{\"job_id\": %lld, \"timestamp\": ", (long long) ctx->job.id);
	pgq_json_string(buf, ctx->finished_at);
	pgq_buf_puts(buf, ", \"exception_type\": ");
	pgq_json_string(buf, type);
	pgq_buf_puts(buf, ", \"exception_message\": ");
	pgq_json_string(buf, message);
	pgq_buf_puts(buf, ", \"traceback\": ");
	pgq_json_string(buf, (ctx->exc_set && ctx->exc_traceback) ? ctx->exc_traceback : "");
	pgq_buf_puts(buf, ", \"additional_context\": {\"entrypoint\": ");
	pgq_json_string(buf, ctx->entry->name);
	pgq_buf_puts(buf, ", \"queue_manager_id\": ");
	pgq_json_string(buf, ctx->job.queue_manager_id);
	if (ctx->status == PGQ_RETRY)
	{
		pgq_buf_printf(buf, ", \"attempt\": %d, \"retry_delay\": \"", (int) ctx->job.attempts);
		append_timedelta(buf, ctx->retry_delay);
		pgq_buf_puts(buf, "\", \"reason\": ");
		pgq_json_string(buf, ctx->exc_set ? message : NULL);
	}
	pgq_buf_puts(buf, "}}");
}

static const char *
status_label(PgqStatus status)
{
	switch (status)
	{
		case PGQ_SUCCESSFUL:
			return "successful";
		case PGQ_EXCEPTION:
			return "exception";
		case PGQ_HOLD:
			return "failed";
		case PGQ_RETRY:
			break;
	}
	return "exception";
}

/*
 * give_up
 *		Decide what a failed report of n jobs means: keep them for the next
 *		turn after a transient error (up to MAX_FLUSH_ATTEMPTS), else drop
 *		them.  True when they are to be dropped.
 */
static bool
give_up(PgqRun *run, int n, const char *what)
{
	if (run->broken)
		return false;			/* the caller abandons everything */
	if (!run->failed && ++run->flush_failures < MAX_FLUSH_ATTEMPTS)
		return false;
	pgq_log(run->worker, PGQ_LOG_ERROR,
			"%s: giving up on %d outcome%s; the jobs run again when their lease expires",
			what, n, n == 1 ? "" : "s");
	return true;
}

/*
 * flush_complete
 *		Report the non-retry outcomes among jobs[0..n-1] in one complete()
 *		call; sets done[i] for each job that no longer needs reporting.
 */
static void
flush_complete(PgqRun *run, PgqContext **jobs, int n, bool *done)
{
	PgqBuf		ids, statuses, tracebacks, tb;
	const char *values[4];
	PGresult   *res;
	int			count = 0;

	pgq_buf_init(&ids);
	pgq_buf_init(&statuses);
	pgq_buf_init(&tracebacks);
	pgq_buf_init(&tb);
	pgq_buf_putc(&ids, '{');
	pgq_buf_putc(&statuses, '{');
	pgq_buf_putc(&tracebacks, '{');
	for (int i = 0; i < n; i++)
	{
		const PgqContext *ctx = jobs[i];
		const char *sep = count ? "," : "";

		if (ctx->status == PGQ_RETRY || done[i])
			continue;
		pgq_buf_printf(&ids, "%s%lld", sep, (long long) ctx->job.id);
		pgq_buf_printf(&statuses, "%s%s", sep, status_label(ctx->status));
		pgq_buf_puts(&tracebacks, sep);
		if (ctx->status == PGQ_SUCCESSFUL)
			pgq_buf_puts(&tracebacks, "NULL");
		else
		{
			pgq_buf_reset(&tb);
			append_traceback(&tb, ctx);
			pgq_buf_array_elem(&tracebacks, tb.oom ? "{}" : tb.data);
		}
		count++;
	}
	pgq_buf_putc(&ids, '}');
	pgq_buf_putc(&statuses, '}');
	pgq_buf_putc(&tracebacks, '}');

	if (count > 0 && !(ids.oom || statuses.oom || tracebacks.oom))
	{
		values[0] = ids.data;
		values[1] = statuses.data;
		values[2] = tracebacks.data;
		values[3] = run->worker->qm_id;
		res = PQexecPrepared(run->conn, "pgq_complete", 4, values, NULL, NULL, 0);
		if (pgq_run_check_result(run, res, "complete"))
		{
			long		changed = strtol(PQgetvalue(res, 0, 0), NULL, 10);

			PQclear(res);
			if (changed < count)
				pgq_log(run->worker, PGQ_LOG_WARNING,
						"complete: %ld of %d outcomes recorded; the others belong to jobs this worker no longer holds (lease expired or cancelled)",
						changed, count);
			else
				pgq_log(run->worker, PGQ_LOG_DEBUG, "completed %d jobs", count);
			for (int i = 0; i < n; i++)
				if (jobs[i]->status != PGQ_RETRY)
					done[i] = true;
			run->flush_failures = 0;
		}
		else if (give_up(run, count, "complete"))
		{
			for (int i = 0; i < n; i++)
				if (jobs[i]->status != PGQ_RETRY)
					done[i] = true;
		}
	}
	else if (count > 0)
		pgq_log(run->worker, PGQ_LOG_ERROR, "out of memory building the outcomes of %d jobs", count);
	pgq_buf_free(&ids);
	pgq_buf_free(&statuses);
	pgq_buf_free(&tracebacks);
	pgq_buf_free(&tb);
}

/*
 * flush_retry
 *		Send a PGQ_RETRY outcome: back to the queue after its delay.  True
 *		when the job needs no further reporting.
 */
static bool
flush_retry(PgqRun *run, PgqContext *ctx)
{
	PgqBuf		tb;
	char		id[32];
	char		delay[64];
	const char *values[4];
	PGresult   *res;
	bool		done = false;

	pgq_buf_init(&tb);
	append_traceback(&tb, ctx);
	snprintf(id, sizeof(id), "%lld", (long long) ctx->job.id);
	snprintf(delay, sizeof(delay), "%.6f", ctx->retry_delay);
	values[0] = id;
	values[1] = delay;
	values[2] = tb.oom ? NULL : tb.data;
	values[3] = run->worker->qm_id;
	res = PQexecPrepared(run->conn, "pgq_retry", 4, values, NULL, NULL, 0);
	if (pgq_run_check_result(run, res, "retry"))
	{
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
			pgq_log(run->worker, PGQ_LOG_WARNING,
					"retry: job %lld is no longer held by this worker (lease expired or cancelled)",
					(long long) ctx->job.id);
		else
			pgq_log(run->worker, PGQ_LOG_DEBUG, "job %lld (%s) retried after %gs",
					(long long) ctx->job.id, ctx->entry->name, ctx->retry_delay);
		PQclear(res);
		run->flush_failures = 0;
		done = true;
	}
	else
		done = give_up(run, 1, "retry");
	pgq_buf_free(&tb);
	return done;
}

/*
 * pgq_run_flush_outcomes
 *		Report every pending outcome; what could not be reported (after a
 *		transient error) stays pending for the next turn.
 */
void
pgq_run_flush_outcomes(PgqRun *run)
{
	PgqContext **jobs;
	bool	   *done;
	int			n = run->npending;
	int			i = 0;

	if (n == 0 || run->broken || pgq_now() < run->backoff_until)
		return;
	jobs = malloc(sizeof(PgqContext *) * (size_t) n);
	done = calloc((size_t) n, sizeof(bool));
	if (jobs == NULL || done == NULL)
	{
		free(jobs);
		free(done);
		return;					/* try again next turn */
	}
	for (PgqContext *c = run->pending_head; c; c = c->next)
	{
		/* cancelled since it finished: cancel() already logged it */
		done[i] = atomic_load(&c->cancelled);
		jobs[i++] = c;
	}

	flush_complete(run, jobs, n, done);
	for (i = 0; i < n && !run->broken; i++)
		if (jobs[i]->status == PGQ_RETRY && !done[i] && !(run->backoff_until > pgq_now()))
			done[i] = flush_retry(run, jobs[i]);

	/* keep what is left, in order */
	run->pending_head = run->pending_tail = NULL;
	run->npending = 0;
	for (i = 0; i < n; i++)
	{
		if (done[i])
		{
			pgq_run_release(run, jobs[i]);
			continue;
		}
		jobs[i]->next = NULL;
		if (run->pending_tail)
			run->pending_tail->next = jobs[i];
		else
			run->pending_head = jobs[i];
		run->pending_tail = jobs[i];
		run->npending++;
	}
	free(jobs);
	free(done);
}
