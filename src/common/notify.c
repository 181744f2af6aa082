/*-------------------------------------------------------------------------
 *
 * notify.c
 *		Wake-ups on channel ch_pgqueuer: our own notifications, the
 *		cancellation event and the statement trigger for other writers.
 *
 * Payloads keep PgQueuer's JSON keys (channel, operation, sent_at, table,
 * type) so its Python workers understand them; ours add the entrypoints
 * concerned and the number of jobs.  sent_at is the transaction start time,
 * as in PgQueuer's trigger, so identical events of one transaction fold into
 * one.  No notification is sent while the server's notification queue is
 * more than half full: a full queue would make the whole transaction fail
 * at commit, and a missed wake-up only costs a worker one poll interval.
 *
 * IDENTIFICATION
 *		src/common/notify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/rel.h"

#include "guc.h"
#include "notify.h"
#include "spi_util.h"
#include "wait_signal.h"

PG_FUNCTION_INFO_V1(pgqueuer_fn_changed);

/*
 * pgq_notify_allowed
 *		True unless the notification queue is more than half full.
 */
bool
pgq_notify_allowed(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	double usage;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	usage = DatumGetFloat8(pg_notification_queue_usage(fcinfo));
	return usage < 0.5;
}

/*
 * append_event_head
 *		Start a payload: {"channel": ..., "sent_at": ..., "type": ...
 *
 * PgQueuer's own sender also serialises received_at for client-originated
 * events (receivers keep it), so those get it too.
 */
static void
append_event_head(StringInfo buf, const char *type, bool with_received_at)
{
	char ts[MAXDATELEN + 1];

	JsonEncodeDateTime(ts,
					   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
					   TIMESTAMPTZOID, NULL);
	appendStringInfo(buf, "{\"channel\": \"%s\", \"sent_at\": \"%s\", \"type\": \"%s\"",
					 PGQ_CHANNEL, ts, type);
	if (with_received_at)
		appendStringInfo(buf, ", \"received_at\": \"%s\"", ts);
}

/*
 * pgq_notify_table_changed
 *		Send one table_changed_event naming the entrypoints that have work
 *		and how many jobs.  The entrypoint list is left out (meaning "any")
 *		when it would not fit in one payload.
 */
void
pgq_notify_table_changed(const char *operation, char **entrypoints,
						 int nentrypoints, int64 jobs)
{
	StringInfoData buf;
	int			   headlen;

	if (!pgq_notify_allowed())
		return;

	initStringInfo(&buf);
	append_event_head(&buf, "table_changed_event", false);
	appendStringInfo(&buf, ", \"operation\": \"%s\", \"table\": \"pgqueuer\", \"jobs\": " INT64_FORMAT,
					 operation, jobs);
	headlen = buf.len;
	appendStringInfoString(&buf, ", \"entrypoints\": [");
	for (int i = 0; i < nentrypoints; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, entrypoints[i]);
	}
	appendStringInfoChar(&buf, ']');
	if (buf.len + 1 >= PGQ_NOTIFY_PAYLOAD_MAX)
	{
		buf.len = headlen;
		buf.data[headlen] = '\0';
	}
	appendStringInfoChar(&buf, '}');
	Async_Notify(PGQ_CHANNEL, buf.data);
	pfree(buf.data);
}

/*
 * pgq_notify_cancellation
 *		Tell the worker queue_manager_id (NULL: nobody in particular) that
 *		jobs it runs were canceled: PgQueuer's cancellation_event, split into
 *		as many payloads as needed to stay under NOTIFY's size limit.
 */
void
pgq_notify_cancellation(const char *queue_manager_id, int64 *ids, int nids)
{
	StringInfoData buf;
	StringInfoData head;
	int			   i = 0;

	if (nids == 0 || !pgq_notify_allowed())
		return;

	initStringInfo(&head);
	append_event_head(&head, "cancellation_event", true);
	if (queue_manager_id)
		appendStringInfo(&head, ", \"queue_manager_id\": \"%s\"", queue_manager_id);
	else
		appendStringInfoString(&head, ", \"queue_manager_id\": null");
	appendStringInfoString(&head, ", \"ids\": [");

	initStringInfo(&buf);
	while (i < nids)
	{
		int inchunk = 0;

		resetStringInfo(&buf);
		appendBinaryStringInfo(&buf, head.data, head.len);
		while (i < nids)
		{
			char num[32];
			int	 len = snprintf(num, sizeof(num), INT64_FORMAT, ids[i]);

			/* room for the separator and the closing "]}" */
			if (inchunk > 0 && buf.len + len + 4 >= PGQ_NOTIFY_PAYLOAD_MAX)
				break;
			if (inchunk > 0)
				appendStringInfoString(&buf, ", ");
			appendBinaryStringInfo(&buf, num, len);
			inchunk++;
			i++;
		}
		appendStringInfoString(&buf, "]}");
		Async_Notify(PGQ_CHANNEL, buf.data);
	}
	pfree(buf.data);
	pfree(head.data);
}

/*
 * append_id_list
 *		Append ", \"key\": [id, ...]" to buf unless it would make the
 *		payload longer than limit; returns whether it did.
 */
static bool
append_id_list(StringInfo buf, const char *key, int64 *ids, int n, int limit)
{
	int start = buf->len;

	appendStringInfo(buf, ", \"%s\": [", key);
	for (int i = 0; i < n; i++)
	{
		if (buf->len >= limit)
			break;
		appendStringInfo(buf, i > 0 ? ", " INT64_FORMAT : INT64_FORMAT, ids[i]);
	}
	appendStringInfoChar(buf, ']');
	if (buf->len < limit)
		return true;
	buf->len = start;
	buf->data[start] = '\0';
	return false;
}

/*
 * pgq_notify_outcomes
 *		The one notification of a call that ended jobs (complete(),
 *		cancel()): a table_changed_event (operation "delete", as PgQueuer's
 *		trigger sends for its own completions, so that its
 *		CompletionWatcher re-reads the job statuses) with the ids that
 *		reached a final outcome under "completed", and the entrypoints
 *		whose capacity was freed (one per woken job, sorted in place) under
 *		"entrypoints" with their number of jobs under "jobs".  "jobs": 0
 *		with an empty list tells our workers there is no new work.  Lists
 *		that do not fit are left out ("completed" first).  Nothing when both
 *		are empty.  With pgqueuer.notify_outcomes off, only freed capacity
 *		is announced.
 */
void
pgq_notify_outcomes(const char *operation, char **entrypoints, int n,
					int64 *final_ids, int nfinal)
{
	StringInfoData buf;
	StringInfoData eps;
	int			   neps;

	if (!pgq_announce_outcomes)
		nfinal = 0;
	if ((n == 0 && nfinal == 0) || !pgq_notify_allowed())
		return;

	neps = pgq_distinct_strings(entrypoints, n);
	initStringInfo(&eps);
	appendStringInfoString(&eps, ", \"entrypoints\": [");
	for (int i = 0; i < neps; i++)
	{
		if (i > 0)
			appendStringInfoString(&eps, ", ");
		escape_json(&eps, entrypoints[i]);
	}
	appendStringInfoChar(&eps, ']');

	initStringInfo(&buf);
	append_event_head(&buf, "table_changed_event", false);
	appendStringInfo(&buf, ", \"operation\": \"%s\", \"table\": \"pgqueuer\", \"jobs\": %d",
					 operation, n);
	if (buf.len + eps.len + 1 < PGQ_NOTIFY_PAYLOAD_MAX)
		appendBinaryStringInfo(&buf, eps.data, eps.len);
	if (nfinal > 0)
		(void) append_id_list(&buf, "completed", final_ids, nfinal,
							  PGQ_NOTIFY_PAYLOAD_MAX - 1);
	appendStringInfoChar(&buf, '}');
	Async_Notify(PGQ_CHANNEL, buf.data);
	pfree(buf.data);
	pfree(eps.data);
}

/*
 * pgq_notify_entrypoints
 *		Send one table_changed_event for n jobs whose entrypoints are given
 *		one per job (duplicates allowed; the array is sorted in place).
 *		Nothing when n is 0.
 */
void
pgq_notify_entrypoints(const char *operation, char **entrypoints, int n)
{
	if (n == 0)
		return;
	pgq_notify_table_changed(operation, entrypoints,
							 pgq_distinct_strings(entrypoints, n), n);
}

/* qsort comparator for C strings */
static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * pgq_distinct_strings
 *		Sort items in place and drop duplicates; returns the new count.
 */
int
pgq_distinct_strings(char **items, int n)
{
	int out = 0;

	if (n < 2)
		return n;
	qsort(items, n, sizeof(char *), cmp_cstring);
	for (int i = 0; i < n; i++)
		if (out == 0 || strcmp(items[out - 1], items[i]) != 0)
			items[out++] = items[i];
	return out;
}

/*
 * pgqueuer_fn_changed
 *		Statement-level trigger on the queue table (PgQueuer's
 *		fn_pgqueuer_changed): INSERT, DELETE and TRUNCATE by anyone but our
 *		own functions send a table_changed_event.  As in PgQueuer, UPDATE
 *		statements send nothing.  Also tells wait_for() sleepers that jobs
 *		may have reached an outcome (wait_signal.c).
 */
Datum
pgqueuer_fn_changed(PG_FUNCTION_ARGS)
{
	TriggerData	  *trigdata = (TriggerData *) fcinfo->context;
	const char	  *operation;
	StringInfoData buf;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fn_pgqueuer_changed() must be called as a trigger")));

	/*
	 * Deleted rows are final outcomes, whoever deleted them; an UPDATE by
	 * other writers may have held a job as failed (ours signal holds
	 * themselves, and their many non-final UPDATEs stay quiet).
	 */
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
		(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) && pgq_own_statement_depth == 0))
		pgq_wait_signal_outcome();

	if (pgq_own_statement_depth > 0)
		return PointerGetDatum(NULL);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		operation = "insert";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		operation = "delete";
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		operation = "truncate";
	else
		return PointerGetDatum(NULL);

	if (!pgq_notify_allowed())
		return PointerGetDatum(NULL);

	initStringInfo(&buf);
	append_event_head(&buf, "table_changed_event", false);
	appendStringInfo(&buf, ", \"operation\": \"%s\", \"table\": ", operation);
	escape_json(&buf, RelationGetRelationName(trigdata->tg_relation));
	appendStringInfoChar(&buf, '}');
	Async_Notify(PGQ_CHANNEL, buf.data);
	pfree(buf.data);

	return PointerGetDatum(NULL);
}
