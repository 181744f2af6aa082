/*-------------------------------------------------------------------------
 *
 * deferred_wakeup.c
 *		Timely announcement of deferred jobs: backends tell their database's
 *		worker at commit that a deferred job exists, and the worker sleeps
 *		exactly until the next one is due.
 *
 * A job is deferred when its execute_after lies in the future: enqueue
 * with a delay, retry() with a delay, complete() retrying an exception
 * with backoff.  Enqueue announces jobs due at once; a deferred job needs
 * the worker's NOTIFY when its time comes, so that a LISTENing client
 * starts it without polling.  The worker (worker.c) learns the earliest
 * future execute_after from pgq_next_deferred_due() after each deferred
 * wake-up duty and sleeps until then; a backend that made a deferred job
 * sets the worker's "recheck" flag and latch when its transaction commits
 * (not earlier: a worker re-reading the queue before the commit would not
 * see the job), so a job deferred by less than the worker's current sleep
 * is not announced late.
 *
 * Without pgqueuer in shared_preload_libraries there is no worker and
 * pgq_deferred_changed() does nothing; run_maintenance() announces due
 * deferred jobs whenever it is called.
 *
 * IDENTIFICATION
 *		src/worker/deferred_wakeup.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/timestamp.h"

#include "background.h"
#include "deferred_wakeup.h"
#include "plan_shape.h"
#include "spi_util.h"

/* this transaction made a deferred job */
static bool deferred_pending = false;
static bool callback_registered = false;

/*
 * The earliest execute_after in the future among queued jobs: one descent
 * of pgqueuer_deferred_idx, which holds only deferred jobs (execute_after
 * later than created), so jobs due at once cost nothing here.
 */
static const char *const next_due_sql =
	"SELECT pg_catalog.min(q.execute_after) FROM pgqueuer.pgqueuer q"
	" WHERE q.status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status"
	"   AND q.execute_after OPERATOR(pg_catalog.>) q.created"
	"   AND q.execute_after OPERATOR(pg_catalog.>) pg_catalog.now()";

static SPIPlanPtr next_due_plan = NULL;

/*
 * deferred_xact_callback
 *		At commit, wake this database's worker if the transaction made a
 *		deferred job; forget it at abort.
 */
static void
deferred_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (deferred_pending)
				pgq_slot_signal_deferred(MyDatabaseId);
			deferred_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			deferred_pending = false;
			break;
		default:
			break;
	}
}

/*
 * pgq_deferred_changed
 *		Backend: the current transaction made a job whose execute_after is
 *		in the future.  Cheap to call once per job.
 */
void
pgq_deferred_changed(void)
{
	if (pgq_shared == NULL || deferred_pending)
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(deferred_xact_callback, NULL);
		callback_registered = true;
	}
	deferred_pending = true;
}

/*
 * pgq_next_deferred_due
 *		The earliest execute_after later than now() among queued jobs, or
 *		DT_NOEND if there is none.  Connects to SPI itself.
 */
TimestampTz
pgq_next_deferred_due(void)
{
	bool		isnull;
	Datum		d;
	TimestampTz result = DT_NOEND;

	pgq_connect();
	if (pgq_execute_indexed(pgq_plan(&next_due_plan, next_due_sql, 0, NULL), NULL,
							NULL, SPI_OK_SELECT) == 1)
	{
		d = pgq_getdatum(0, 1, &isnull);
		if (!isnull)
			result = DatumGetTimestampTz(d);
	}
	pgq_finish();
	return result;
}
