/*-------------------------------------------------------------------------
 *
 * worker_outcomes.c
 *		Reporting finished jobs in batches.
 *
 * Pool threads append finished jobs to the worker's done list.  Each turn
 * of the run loop collects that list and reports every pending outcome:
 * all successful, exception and held (failed) jobs in ONE call of
 * pgqueuer.complete(ids, statuses, tracebacks, queue_manager_id), then one
 * pgqueuer.retry() per PGQ_RETRY job (retry takes one job and its delay).
 * When the turn also dequeues, complete() rides in the same pipeline and
 * transaction as dequeue() (pgq_run_flush_and_dequeue): one round trip and
 * one commit per turn instead of two.
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
 *		client/lib/worker_outcomes.c
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
	long long us = llround(seconds * 1e6);
	long long days = us / (86400LL * 1000000);
	long long rest = us % (86400LL * 1000000);
	long long secs = rest / 1000000;

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
		return false; /* the caller abandons everything */
	if (!run->failed && ++run->flush_failures < MAX_FLUSH_ATTEMPTS)
		return false;
	pgq_log(run->worker, PGQ_LOG_ERROR,
			"%s: giving up on %d outcome%s; the jobs run again when their lease expires",
			what, n, n == 1 ? "" : "s");
	return true;
}

/* the arguments of one complete() call */
typedef struct CompleteCall
{
	PgqBuf		ids;
	PgqBuf		statuses;
	PgqBuf		tracebacks;
	int			count; /* outcomes in it */
	const char *values[4];
} CompleteCall;

/*
 * build_complete
 *		The complete() arguments of the non-retry outcomes among jobs[0..n-1]
 *		not done yet.  False when there is nothing to send (no such outcome,
 *		or out of memory, logged); call free_complete() either way.
 */
static bool
build_complete(PgqRun *run, PgqContext **jobs, int n, const bool *done,
			   CompleteCall *call)
{
	PgqBuf tb;

	pgq_buf_init(&call->ids);
	pgq_buf_init(&call->statuses);
	pgq_buf_init(&call->tracebacks);
	pgq_buf_init(&tb);
	call->count = 0;
	pgq_buf_putc(&call->ids, '{');
	pgq_buf_putc(&call->statuses, '{');
	pgq_buf_putc(&call->tracebacks, '{');
	for (int i = 0; i < n; i++)
	{
		const PgqContext *ctx = jobs[i];
		const char		 *sep = call->count ? "," : "";

		if (ctx->status == PGQ_RETRY || done[i])
			continue;
		pgq_buf_printf(&call->ids, "%s%lld", sep, (long long) ctx->job.id);
		pgq_buf_printf(&call->statuses, "%s%s", sep, status_label(ctx->status));
		pgq_buf_puts(&call->tracebacks, sep);
		if (ctx->status == PGQ_SUCCESSFUL)
			pgq_buf_puts(&call->tracebacks, "NULL");
		else
		{
			pgq_buf_reset(&tb);
			append_traceback(&tb, ctx);
			pgq_buf_array_elem(&call->tracebacks, tb.oom ? "{}" : tb.data);
		}
		call->count++;
	}
	pgq_buf_putc(&call->ids, '}');
	pgq_buf_putc(&call->statuses, '}');
	pgq_buf_putc(&call->tracebacks, '}');
	pgq_buf_free(&tb);

	if (call->count > 0 &&
		(call->ids.oom || call->statuses.oom || call->tracebacks.oom))
	{
		pgq_log(run->worker, PGQ_LOG_ERROR, "out of memory building the outcomes of %d jobs",
				call->count);
		return false;
	}
	call->values[0] = call->ids.data;
	call->values[1] = call->statuses.data;
	call->values[2] = call->tracebacks.data;
	call->values[3] = run->worker->qm_id;
	return call->count > 0;
}

static void
free_complete(CompleteCall *call)
{
	pgq_buf_free(&call->ids);
	pgq_buf_free(&call->statuses);
	pgq_buf_free(&call->tracebacks);
}

/*
 * log_refused
 *		complete() recorded fewer outcomes than it was sent: name each job
 *		of the call (the non-retry outcomes not done before it) whose id is
 *		missing from its result.  The server's fencing refused them.
 */
static void
log_refused(PgqRun *run, const PGresult *res, PgqContext **jobs, int n,
			const bool *done)
{
	int rows = PQntuples(res);

	for (int i = 0; i < n; i++)
	{
		const PgqContext *ctx = jobs[i];
		bool			  recorded = false;

		if (ctx->status == PGQ_RETRY || done[i])
			continue;
		for (int r = 0; r < rows && !recorded; r++)
			recorded = strtoll(PQgetvalue(res, r, 0), NULL, 10) == ctx->job.id;
		if (!recorded)
			pgq_log(run->worker, PGQ_LOG_WARNING,
					"job %lld (%s): outcome %s refused by the server: this worker no longer holds the job (its lease expired, it was cancelled, or the outcome was recorded before the connection broke)",
					(long long) ctx->job.id, ctx->entry->name, status_label(ctx->status));
	}
}

/*
 * complete_result
 *		Take the result of a complete() call (cleared here): on success or
 *		when giving up, mark the non-retry outcomes done.  True on success.
 */
static bool
complete_result(PgqRun *run, PGresult *res, PgqContext **jobs, int n,
				bool *done, int count)
{
	bool ok = pgq_run_check_result(run, res, "complete");

	if (ok)
	{
		if (PQntuples(res) < count)
			log_refused(run, res, jobs, n, done);
		else
			pgq_log(run->worker, PGQ_LOG_DEBUG, "completed %d jobs", count);
		PQclear(res);
		run->flush_failures = 0;
	}
	if (ok || give_up(run, count, "complete"))
		for (int i = 0; i < n; i++)
			if (jobs[i]->status != PGQ_RETRY)
				done[i] = true;
	return ok;
}

/*
 * run_complete
 *		Send a built complete() call on its own and take its result.
 */
static void
run_complete(PgqRun *run, CompleteCall *call, PgqContext **jobs, int n,
			 bool *done)
{
	PQsendQueryPrepared(run->conn, "pgq_complete", 4, call->values,
						NULL, NULL, 0);
	complete_result(run, pgq_run_last_result(run), jobs, n, done,
					call->count);
}

/*
 * flush_complete
 *		Report the non-retry outcomes among jobs[0..n-1] in one complete()
 *		call; sets done[i] for each job that no longer needs reporting.
 */
static void
flush_complete(PgqRun *run, PgqContext **jobs, int n, bool *done)
{
	CompleteCall call;

	if (build_complete(run, jobs, n, done, &call))
		run_complete(run, &call, jobs, n, done);
	free_complete(&call);
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
 * gather_pending
 *		The pending outcomes as an array, with done[i] already set for jobs
 *		cancelled since they finished (cancel() logged them).  False when
 *		out of memory (try again next turn).
 */
static bool
gather_pending(PgqRun *run, PgqContext ***jobs, bool **done)
{
	int i = 0;

	*jobs = malloc(sizeof(PgqContext *) * (size_t) run->npending);
	*done = calloc((size_t) run->npending, sizeof(bool));
	if (*jobs == NULL || *done == NULL)
	{
		free(*jobs);
		free(*done);
		return false;
	}
	for (PgqContext *c = run->pending_head; c; c = c->next)
	{
		(*done)[i] = atomic_load(&c->cancelled);
		(*jobs)[i++] = c;
	}
	return true;
}

/*
 * keep_pending
 *		Release the jobs that are done and keep the others pending, in
 *		order; frees the arrays.
 */
static void
keep_pending(PgqRun *run, PgqContext **jobs, bool *done, int n)
{
	run->pending_head = run->pending_tail = NULL;
	run->npending = 0;
	for (int i = 0; i < n; i++)
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

/*
 * pgq_run_flush_outcomes
 *		Report every pending outcome; what could not be reported (after a
 *		transient error) stays pending for the next turn.
 */
void
pgq_run_flush_outcomes(PgqRun *run)
{
	PgqContext **jobs;
	bool		*done;
	int			 n = run->npending;

	if (n == 0 || run->broken || pgq_now() < run->backoff_until)
		return;
	if (!gather_pending(run, &jobs, &done))
		return;

	flush_complete(run, jobs, n, done);
	for (int i = 0; i < n && !run->broken; i++)
		if (jobs[i]->status == PGQ_RETRY && !done[i] && !(run->backoff_until > pgq_now()))
			done[i] = flush_retry(run, jobs[i]);

	keep_pending(run, jobs, done, n);
}

/*
 * pgq_run_flush_and_dequeue
 *		Report the pending outcomes and claim up to want more jobs in one
 *		round trip: complete() and dequeue() go out together in a libpq
 *		pipeline with one sync, so they run as one implicit transaction and
 *		cost one commit.  If complete() fails, dequeue() does not run (the
 *		outcomes stay pending as after any failed flush); if dequeue()
 *		fails, the transaction rolls complete() back too and the outcomes
 *		are sent again next turn.  Retries (one retry() call each) and
 *		anything unusual fall back to a plain flush, then a plain dequeue.
 *		Returns what pgq_run_dequeue() returns.
 */
int
pgq_run_flush_and_dequeue(PgqRun *run, int want)
{
	PgqContext **jobs;
	bool		*done;
	int			 n = run->npending;
	CompleteCall call;
	PGresult	*cres;
	PGresult	*dres;
	PGresult	*sync;
	int			 got;

	if (n == 0)
		return pgq_run_dequeue(run, want);
	for (PgqContext *c = run->pending_head; c; c = c->next)
		if (c->status == PGQ_RETRY)
		{
			pgq_run_flush_outcomes(run);
			return run->broken ? -1 : pgq_run_dequeue(run, want);
		}
	if (!gather_pending(run, &jobs, &done))
		return pgq_run_dequeue(run, want);
	if (!build_complete(run, jobs, n, done, &call))
	{
		/* nothing to report (all cancelled), or out of memory */
		free_complete(&call);
		keep_pending(run, jobs, done, n);
		return pgq_run_dequeue(run, want);
	}
	if (PQenterPipelineMode(run->conn) != 1)
	{
		/* no pipeline: one after the other */
		run_complete(run, &call, jobs, n, done);
		free_complete(&call);
		keep_pending(run, jobs, done, n);
		return run->broken ? -1 : pgq_run_dequeue(run, want);
	}

	if (PQsendQueryPrepared(run->conn, "pgq_complete", 4, call.values,
							NULL, NULL, 0) != 1 ||
		!pgq_run_send_dequeue(run, want) || PQpipelineSync(run->conn) != 1)
	{
		/* only a broken connection refuses to queue a statement */
		run->broken = true;
		pgq_worker_set_error(run->worker, "connection to the server lost: %s",
							 PQerrorMessage(run->conn));
		free_complete(&call);
		keep_pending(run, jobs, done, n);
		return -1;
	}

	/* each statement's result is followed by a NULL, then the sync */
	cres = PQgetResult(run->conn);
	PQclear(PQgetResult(run->conn));
	dres = PQgetResult(run->conn);
	PQclear(PQgetResult(run->conn));
	sync = PQgetResult(run->conn);
	PQclear(sync);
	(void) PQexitPipelineMode(run->conn);

	if (complete_result(run, cres, jobs, n, done, call.count) &&
		PQresultStatus(dres) != PGRES_PIPELINE_ABORTED)
	{
		got = pgq_run_take_jobs(run, dres, want);
		if (got < 0 && !run->broken)
		{
			/* rolled back with the dequeue: report them again */
			for (int i = 0; i < n; i++)
				done[i] = atomic_load(&jobs[i]->cancelled);
		}
	}
	else
	{
		PQclear(dres);
		got = -1;
	}
	free_complete(&call);
	keep_pending(run, jobs, done, n);
	return got;
}
