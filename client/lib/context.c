/*-------------------------------------------------------------------------
 *
 * context.c
 *		PgqContext: what a handler receives, and how it reports an
 *		exception or a retry delay.
 *
 * A context is the worker's record of one dequeued job (struct PgqContext
 * in pgq_internal.h).  While the handler runs, only the handler's thread
 * writes the outcome fields; the run loop reads them after the pool thread
 * handed the job back under the worker's mutex.  The cancelled flag is
 * atomic: the run loop sets it when a cancellation_event names the job.
 *
 * IDENTIFICATION
 *		client/lib/context.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>

#include "pgq_internal.h"

const PgqJob *
pgq_ctx_job(const PgqContext *ctx)
{
	return &ctx->job;
}

bool
pgq_ctx_cancelled(const PgqContext *ctx)
{
	return atomic_load(&((PgqContext *) ctx)->cancelled);
}

void *
pgq_ctx_resources(const PgqContext *ctx)
{
	return ctx->worker->resources;
}

void *
pgq_ctx_handler_arg(const PgqContext *ctx)
{
	return ctx->entry->handler_arg;
}

double
pgq_ctx_lease_timeout(const PgqContext *ctx)
{
	return ctx->entry->lease_s;
}

/*
 * pgq_ctx_set_exception
 *		Remember the exception a PGQ_EXCEPTION (or PGQ_RETRY, PGQ_HOLD)
 *		outcome reports; a later call replaces an earlier one.  On out of
 *		memory the fields keep what could be copied (NULL = empty).
 */
void
pgq_ctx_set_exception(PgqContext *ctx, const char *exception_type,
					  const char *message, const char *traceback)
{
	free(ctx->exc_type);
	free(ctx->exc_message);
	free(ctx->exc_traceback);
	ctx->exc_type = pgq_strdup_null(exception_type);
	ctx->exc_message = pgq_strdup_null(message);
	ctx->exc_traceback = pgq_strdup_null(traceback);
	ctx->exc_set = true;
}

void
pgq_ctx_set_retry(PgqContext *ctx, double delay_s)
{
	ctx->retry_delay = (isfinite(delay_s) && delay_s > 0) ? delay_s : 0;
}
