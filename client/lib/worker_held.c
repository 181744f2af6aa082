/*-------------------------------------------------------------------------
 *
 * worker_held.c
 *		The run's list of held jobs: dequeued and not yet forgotten.
 *
 * A job enters the list when dequeue hands it over (worker_sql.c) and
 * leaves it when its outcome was reported, when it was cancelled, or when
 * the run gives it up (worker_outcomes.c, worker_run.c).  Only the run
 * loop's thread touches the list.  Kept apart so that the files of a run
 * call each other in one direction only.
 *
 * IDENTIFICATION
 *		client/lib/worker_held.c
 *
 *-------------------------------------------------------------------------
 */
#include "pgq_internal.h"

/*
 * pgq_run_hold
 *		Add ctx to the run's list of held jobs.
 */
void
pgq_run_hold(PgqRun *run, PgqContext *ctx)
{
	ctx->run_prev = NULL;
	ctx->run_next = run->held_head;
	if (run->held_head)
		run->held_head->run_prev = ctx;
	run->held_head = ctx;
	run->nheld++;
}

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
