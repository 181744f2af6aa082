/*-------------------------------------------------------------------------
 *
 * worker_sql.c
 *		The worker's conversation with the server: setup at run start
 *		(connect, check the extension, register entrypoints, learn leases,
 *		LISTEN, prepare statements), dequeue, heartbeat, the queued-work
 *		probe, the check of a cancellation with the server and the listener
 *		health check.
 *
 * Every hot statement is prepared once per connection and sent with
 * PQexecPrepared: one round trip each.  Error handling is shared by
 * pgq_run_check_result(): a broken connection marks the run broken, a
 * transient SQLSTATE (serialization failure, deadlock, lock timeout,
 * statement timeout, resource shortage) is logged and retried after a
 * short back-off, anything else marks the run failed.
 *
 * IDENTIFICATION
 *		client/lib/worker_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq_internal.h"

#define TRANSIENT_BACKOFF_S 0.5

/*
 * Every statement is a call of a pgqueuer.* function with schema-qualified
 * names and types and no operator: they run in the user's session, whose
 * search_path may list a schema where another role planted look-alike
 * functions, operators or types (CVE-2018-1058).  AT TIME ZONE and EXTRACT
 * are grammar, bound to pg_catalog by the parser.
 *
 * No per-worker cap ($4 of dequeue) is passed: the worker asks only for as
 * many jobs as it has free slots, and counting this worker's picked jobs
 * in the server would cost an index scan per dequeue.
 */
static const char *const dequeue_sql =
	"SELECT id, entrypoint, priority, attempts, payload, headers::pg_catalog.text,"
	" dedupe_key,"
	" pg_catalog.to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
	" pg_catalog.to_char(execute_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
	" FROM pgqueuer.dequeue($1::pg_catalog.int4, $2::pg_catalog.text[],"
	" $3::pg_catalog.uuid, NULL)";

/* one row per job whose outcome was recorded */
static const char *const complete_sql =
	"SELECT c.job_id FROM pgqueuer.complete($1::pg_catalog.int8[],"
	" $2::pgqueuer.pgqueuer_status[], $3::pg_catalog.jsonb[], $4::pg_catalog.uuid)"
	" AS c(job_id)";

static const char *const retry_sql =
	"SELECT pgqueuer.retry($1::pg_catalog.int8,"
	" pg_catalog.make_interval(secs => $2::pg_catalog.float8),"
	" $3::pg_catalog.jsonb, $4::pg_catalog.uuid)";

static const char *const heartbeat_sql =
	"SELECT pgqueuer.heartbeat($1::pg_catalog.int8[], $2::pg_catalog.uuid)";

/* seconds until the first queued job of ours (not paused) is due; NULL: none */
static const char *const probe_sql =
	"SELECT pgqueuer.next_due($1::pg_catalog.text[])";

static const char *const register_sql =
	"SELECT pgqueuer.register_entrypoint($1::pg_catalog.text, $2::pg_catalog.int4,"
	" pg_catalog.make_interval(secs => $3::pg_catalog.float8), $4::pg_catalog.int4,"
	" $5::pg_catalog.float8,"
	" pg_catalog.make_interval(secs => $6::pg_catalog.float8),"
	" pg_catalog.make_interval(secs => $7::pg_catalog.float8), $8::pg_catalog.text)";

/* each entrypoint's lease: its registry row, else the server's default */
static const char *const lease_sql =
	"SELECT entrypoint, EXTRACT(EPOCH FROM lease_timeout)::pg_catalog.float8"
	" FROM pgqueuer.entrypoint_leases($1::pg_catalog.text[])";

/* which of our jobs the server says we no longer hold (cancellations) */
static const char *const not_held_sql =
	"SELECT job_id, status FROM pgqueuer.jobs_not_held($1::pg_catalog.int8[],"
	" $2::pg_catalog.uuid)";

/* the extension's version; a catalog probe, as no function exists without it */
static const char *const extension_sql =
	"SELECT pg_catalog.current_database(), (SELECT e.extversion"
	" FROM pg_catalog.pg_extension AS e"
	" WHERE e.extname OPERATOR(pg_catalog.=) 'pgqueuer'::pg_catalog.name)";

/*
 * is_transient
 *		SQLSTATEs worth retrying: transaction rollback (40xxx: serialization
 *		failure, deadlock), insufficient resources (53xxx), lock not
 *		available, query canceled (statement_timeout).
 */
static bool
is_transient(const char *sqlstate)
{
	if (sqlstate == NULL)
		return false;
	return strncmp(sqlstate, "40", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 ||
		   strcmp(sqlstate, "55P03") == 0 || strcmp(sqlstate, "57014") == 0;
}

/*
 * pgq_run_check_result
 *		True if res succeeded.  Otherwise classify the failure of "what"
 *		(broken connection, transient or fatal error), log it, and return
 *		false.  res is cleared on failure.
 */
bool
pgq_run_check_result(PgqRun *run, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	char		   msg[PGQ_ERRMSG_LEN];
	const char	  *sqlstate;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return true;

	pgq_copy_pq_error(msg, sizeof(msg), run->conn, res);
	sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (PQstatus(run->conn) == CONNECTION_BAD)
	{
		run->broken = true;
		pgq_worker_set_error(run->worker, "connection to the server lost during %s: %s",
							 what, msg);
	}
	else if (is_transient(sqlstate))
	{
		run->backoff_until = pgq_now() + TRANSIENT_BACKOFF_S;
		pgq_log(run->worker, PGQ_LOG_WARNING, "%s failed, retrying: %s", what, msg);
	}
	else
	{
		run->failed = true;
		pgq_worker_set_error(run->worker, "%s failed: %s", what, msg);
		pgq_log(run->worker, PGQ_LOG_ERROR, "%s failed: %s", what, msg);
	}
	PQclear(res);
	return false;
}

/* notice_receiver: server notices go to the worker's log, escaped */
static void
notice_receiver(void *arg, const PGresult *res)
{
	PgqWorker  *worker = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	bool		serious = severity && (strcmp(severity, "WARNING") == 0 ||
								   strcmp(severity, "ERROR") == 0 ||
								   strcmp(severity, "FATAL") == 0 ||
								   strcmp(severity, "PANIC") == 0);
	PgqBuf		text;

	/* a notice may quote data other roles wrote (entrypoint names, keys) */
	pgq_buf_init(&text);
	pgq_buf_escaped(&text, primary ? primary : "", PGQ_ERRMSG_LEN, false);
	pgq_log(worker, serious ? PGQ_LOG_WARNING : PGQ_LOG_INFO,
			"server %s: %s", severity ? severity : "NOTICE",
			text.oom ? "(out of memory)" : text.data);
	pgq_buf_free(&text);
}

/*
 * setup_fail
 *		Record a setup error (prefix: what was being done) from res or the
 *		connection; clears res and returns false.
 */
static bool
setup_fail(PgqRun *run, PGresult *res, const char *prefix)
{
	char msg[PGQ_ERRMSG_LEN];

	pgq_copy_pq_error(msg, sizeof(msg), run->conn, res);
	pgq_worker_set_error(run->worker, "%s: %s", prefix, msg);
	PQclear(res);
	return false;
}

/* register_entrypoints: write the registry rows the worker asked for */
static bool
register_entrypoints(PgqRun *run)
{
	PgqWorker *worker = run->worker;

	for (int i = 0; i < worker->nentries; i++)
	{
		const PgqEntry			   *e = &worker->entries[i];
		const PgqEntrypointOptions *o = &e->opts;
		char						limit[16], lease[32], attempts[16], rps[32], base[32], max[32];
		const char				   *values[8];
		PGresult				   *res;

		if (!o->register_entrypoint)
			continue;
		snprintf(limit, sizeof(limit), "%d", o->concurrency_limit);
		snprintf(lease, sizeof(lease), "%.6f", o->lease_timeout_s);
		snprintf(attempts, sizeof(attempts), "%d", o->max_attempts);
		snprintf(rps, sizeof(rps), "%.17g", o->requests_per_second);
		snprintf(base, sizeof(base), "%.6f", o->retry_backoff_base_s > 0 ? o->retry_backoff_base_s : 1.0);
		snprintf(max, sizeof(max), "%.6f", o->retry_backoff_max_s > 0 ? o->retry_backoff_max_s : 300.0);
		values[0] = e->name;
		values[1] = limit;
		values[2] = o->lease_timeout_s > 0 ? lease : NULL;
		values[3] = o->max_attempts > 0 ? attempts : NULL;
		values[4] = rps;
		values[5] = base;
		values[6] = max;
		values[7] = o->on_failure ? o->on_failure : "delete";
		res = PQexecParams(run->conn, register_sql, 8, NULL, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			char prefix[256];

			snprintf(prefix, sizeof(prefix), "could not register entrypoint \"%s\"", e->name);
			return setup_fail(run, res, prefix);
		}
		PQclear(res);
		pgq_log(worker, PGQ_LOG_DEBUG,
				"registered entrypoint \"%s\" (concurrency_limit %d, requests_per_second %g, lease %s, max_attempts %s, on_failure %s)",
				e->name, o->concurrency_limit, o->requests_per_second,
				o->lease_timeout_s > 0 ? lease : "default",
				o->max_attempts > 0 ? attempts : "default", values[7]);
	}
	return true;
}

/*
 * learn_leases
 *		Each entrypoint's lease (heartbeats go out at half of it), from
 *		pgqueuer.entrypoint_leases(): the registry's lease_timeout, else the
 *		server's pgqueuer.lease_timeout.
 */
static bool
learn_leases(PgqRun *run)
{
	PgqWorker  *worker = run->worker;
	const char *values[1] = {run->entrypoints_literal};
	PGresult   *res;

	res = PQexecParams(run->conn, lease_sql, 1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return setup_fail(run, res, "could not read the lease timeouts");
	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *name = PQgetvalue(res, r, 0);
		double		lease = strtod(PQgetvalue(res, r, 1), NULL);

		for (int i = 0; i < worker->nentries; i++)
			if (strcmp(worker->entries[i].name, name) == 0)
				worker->entries[i].lease_s = lease > 0 ? lease : 30.0;
	}
	PQclear(res);
	return true;
}

/* prepare: PQprepare one statement; false with the error recorded */
static bool
prepare(PgqRun *run, const char *name, const char *sql)
{
	PGresult *res = PQprepare(run->conn, name, sql, 0, NULL);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		char prefix[128];

		snprintf(prefix, sizeof(prefix), "could not prepare %s", name);
		return setup_fail(run, res, prefix);
	}
	PQclear(res);
	return true;
}

/* stop_requested: pgq_open_conn's stop test, pgq_worker_stop() was called */
static bool
stop_requested(void *arg)
{
	PgqWorker *worker = arg;

	return atomic_load(&worker->stop_requested) != 0;
}

/*
 * pgq_run_setup
 *		Connect and get ready to dequeue.  False on any failure, with the
 *		reason in the worker's error (the caller returns PGQ_RUN_ERROR).
 */
bool
pgq_run_setup(PgqRun *run)
{
	PgqWorker *worker = run->worker;
	PGresult  *res;
	char	   msg[PGQ_ERRMSG_LEN];
	char	   appname[64];
	double	   min_rate = 0;

	/* pgqueuer.workers() finds this connection by its application name */
	snprintf(appname, sizeof(appname), "pgqueuer worker %s", worker->qm_id);
	run->conn = pgq_open_conn(worker->conninfo, appname,
							  stop_requested, worker, msg, sizeof(msg));
	if (run->conn == NULL)
	{
		pgq_worker_set_error(worker, "could not connect: %s", msg);
		return false;
	}
	PQsetNoticeReceiver(run->conn, notice_receiver, worker);
	/* traceback texts are sent as UTF-8 */
	if (PQsetClientEncoding(run->conn, "UTF8") != 0)
		return setup_fail(run, NULL, "could not set client_encoding");

	res = PQexec(run->conn, extension_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return setup_fail(run, res, "could not check the pgqueuer extension");
	if (PQgetisnull(res, 0, 1))
	{
		pgq_worker_set_error(worker,
							 "the pgqueuer extension is not installed in database \"%s\" (run CREATE EXTENSION pgqueuer, or pgq install)",
							 PQgetvalue(res, 0, 0));
		PQclear(res);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 1), "1.0") == 0)
	{
		pgq_worker_set_error(worker,
							 "the pgqueuer extension in database \"%s\" is version 1.0, this worker needs 1.1 or later (run ALTER EXTENSION pgqueuer UPDATE, or pgq upgrade)",
							 PQgetvalue(res, 0, 0));
		PQclear(res);
		return false;
	}
	PQclear(res);

	/* a reconnection keeps the leases: handlers are reading them */
	if (!register_entrypoints(run) || (!run->set_up && !learn_leases(run)))
		return false;

	res = PQexec(run->conn, "LISTEN " PGQ_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return setup_fail(run, res, "could not LISTEN on " PGQ_CHANNEL);
	PQclear(res);

	if (!prepare(run, "pgq_dequeue", dequeue_sql) ||
		!prepare(run, "pgq_complete", complete_sql) ||
		!prepare(run, "pgq_retry", retry_sql) ||
		!prepare(run, "pgq_heartbeat", heartbeat_sql) ||
		!prepare(run, "pgq_probe", probe_sql) ||
		!prepare(run, "pgq_not_held", not_held_sql))
		return false;
	run->can_probe = true;

	/* rate-limited entrypoints are polled: their capacity frees silently */
	for (int i = 0; i < worker->nentries; i++)
	{
		double rate = worker->entries[i].opts.requests_per_second;

		if (worker->entries[i].opts.register_entrypoint && rate > 0 &&
			(min_rate == 0 || rate < min_rate))
			min_rate = rate;
	}
	if (min_rate > 0)
		run->rate_poll_s = fmin(1.0, fmax(0.1, 1.0 / min_rate));
	run->set_up = true;
	return true;
}

/* find_entry: the entrypoint called name, or NULL */
static const PgqEntry *
find_entry(PgqWorker *worker, const char *name)
{
	for (int i = 0; i < worker->nentries; i++)
		if (strcmp(worker->entries[i].name, name) == 0)
			return &worker->entries[i];
	return NULL;
}

/*
 * make_context
 *		A job record for row r of a dequeue result; NULL when out of memory.
 *		The job's strings live in one block owned by the context.
 */
static PgqContext *
make_context(PgqRun *run, PGresult *res, int r, const PgqEntry *entry, double now)
{
	PgqContext	*ctx = calloc(1, sizeof(PgqContext));
	size_t		 need = 0;
	char		*p;
	const int	 strcols[4] = {5, 6, 7, 8};
	const char **targets[4];

	if (ctx == NULL)
		return NULL;
	targets[0] = &ctx->job.headers_json;
	targets[1] = &ctx->job.dedupe_key;
	targets[2] = &ctx->job.created;
	targets[3] = &ctx->job.execute_after;
	for (int c = 0; c < 4; c++)
		need += (size_t) PQgetlength(res, r, strcols[c]) + 1;
	ctx->strings = malloc(need);
	if (ctx->strings == NULL)
	{
		free(ctx);
		return NULL;
	}
	p = ctx->strings;
	for (int c = 0; c < 4; c++)
	{
		if (PQgetisnull(res, r, strcols[c]))
			*targets[c] = NULL;
		else
		{
			size_t len = (size_t) PQgetlength(res, r, strcols[c]);

			memcpy(p, PQgetvalue(res, r, strcols[c]), len + 1);
			*targets[c] = p;
			p += len + 1;
		}
	}
	if (!PQgetisnull(res, r, 4))
	{
		size_t len = 0;

		ctx->payload = PQunescapeBytea((const unsigned char *) PQgetvalue(res, r, 4), &len);
		if (ctx->payload == NULL)
		{
			pgq_context_free(ctx);
			return NULL;
		}
		ctx->job.payload = ctx->payload;
		ctx->job.payload_len = len;
	}
	ctx->worker = run->worker;
	ctx->entry = entry;
	ctx->job.id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	ctx->job.entrypoint = entry->name;
	ctx->job.priority = (int32_t) strtol(PQgetvalue(res, r, 2), NULL, 10);
	ctx->job.attempts = (int32_t) strtol(PQgetvalue(res, r, 3), NULL, 10);
	ctx->job.queue_manager_id = run->worker->qm_id;
	atomic_init(&ctx->cancelled, false);
	ctx->state = PGQ_SLOT_QUEUED;
	ctx->next_heartbeat = (entry->lease_s > 0) ? now + entry->lease_s / 2 : INFINITY;
	return ctx;
}

/*
 * pgq_run_last_result
 *		Wait for the results of the statement sent last (outside pipeline
 *		mode) and return the last one, or the first error, as PQexec does;
 *		NULL when none came (the connection failed).
 */
PGresult *
pgq_run_last_result(PgqRun *run)
{
	PGresult *res;
	PGresult *last = NULL;

	while ((res = PQgetResult(run->conn)) != NULL)
	{
		if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR)
		{
			PQclear(res);
			continue;
		}
		PQclear(last);
		last = res;
	}
	return last;
}

/*
 * pgq_run_send_dequeue
 *		Send the dequeue of up to want jobs without waiting for its result
 *		(pgq_run_take_jobs reads it).  False when it could not be sent.
 */
bool
pgq_run_send_dequeue(PgqRun *run, int want)
{
	char		batch[16];
	const char *values[3];

	snprintf(batch, sizeof(batch), "%d", want);
	values[0] = batch;
	values[1] = run->entrypoints_literal;
	values[2] = run->worker->qm_id;
	return PQsendQueryPrepared(run->conn, "pgq_dequeue", 3, values, NULL, NULL, 0) == 1;
}

/*
 * pgq_run_take_jobs
 *		Hold the jobs of a dequeue result (cleared here) and hand them to the
 *		pool.  Returns how many were claimed, or -1 when the statement failed
 *		(see pgq_run_check_result).
 */
int
pgq_run_take_jobs(PgqRun *run, PGresult *res, int want)
{
	PgqWorker *worker = run->worker;
	double	   now = pgq_now();
	int		   n;

	if (!pgq_run_check_result(run, res, "dequeue"))
		return -1;

	n = PQntuples(res);
	for (int r = 0; r < n; r++)
	{
		const PgqEntry *entry = find_entry(worker, PQgetvalue(res, r, 1));
		PgqContext	   *ctx;

		if (entry == NULL)
		{
			/* cannot happen: we only ask for our entrypoints */
			pgq_log(worker, PGQ_LOG_ERROR, "dequeue returned job %s of unknown entrypoint \"%s\"",
					PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
			continue;
		}
		ctx = make_context(run, res, r, entry, now);
		if (ctx == NULL)
		{
			/* the job's lease will expire and it will run again */
			pgq_log(worker, PGQ_LOG_ERROR, "out of memory: job %s not run",
					PQgetvalue(res, r, 0));
			continue;
		}
		pgq_run_hold(run, ctx);
		pthread_mutex_lock(&worker->lock);
		worker->stats.dequeued++;
		pthread_mutex_unlock(&worker->lock);
		if (!pgq_pool_submit(run->pool, ctx))
		{
			pgq_log(worker, PGQ_LOG_ERROR, "could not start a thread: job %lld not run",
					(long long) ctx->job.id);
			pgq_run_release(run, ctx);
		}
	}
	PQclear(res);
	if (n > 0)
		pgq_log(worker, PGQ_LOG_DEBUG, "dequeued %d of %d jobs", n, want);
	return n;
}

/*
 * pgq_run_dequeue
 *		Claim up to want jobs and hand them to the pool, in one round trip.
 *		Returns how many were claimed, or -1 when the statement failed.
 */
int
pgq_run_dequeue(PgqRun *run, int want)
{
	if (!pgq_run_send_dequeue(run, want))
		return pgq_run_take_jobs(run, NULL, want);
	return pgq_run_take_jobs(run, pgq_run_last_result(run), want);
}

/*
 * stop_lost_jobs
 *		A heartbeat extended fewer jobs than it named: find the running
 *		jobs this worker no longer holds (lease expired, e.g. while the
 *		connection was down, or cancelled while no cancellation_event could
 *		reach us) with one heartbeat each, and set their cancelled flag: the
 *		server may already have handed them to another worker.  Finished
 *		jobs are left alone; complete() refuses their outcomes.
 */
static void
stop_lost_jobs(PgqRun *run)
{
	PgqWorker *worker = run->worker;

	for (PgqContext *c = run->held_head; c && !run->broken; c = c->run_next)
	{
		char		id[32];
		const char *values[2];
		PGresult   *res;
		bool		done;
		bool		lost;

		pthread_mutex_lock(&worker->lock);
		done = c->state == PGQ_SLOT_DONE;
		pthread_mutex_unlock(&worker->lock);
		if (done || atomic_load(&c->cancelled))
			continue;
		snprintf(id, sizeof(id), "{%lld}", (long long) c->job.id);
		values[0] = id;
		values[1] = worker->qm_id;
		res = PQexecPrepared(run->conn, "pgq_heartbeat", 2, values, NULL, NULL, 0);
		if (!pgq_run_check_result(run, res, "heartbeat"))
			return;
		lost = strtol(PQgetvalue(res, 0, 0), NULL, 10) == 0;
		PQclear(res);
		if (!lost)
			continue;
		pthread_mutex_lock(&worker->lock);
		atomic_store(&c->cancelled, true);
		if (c->state != PGQ_SLOT_DONE)
			worker->stats.cancelled++;
		pthread_mutex_unlock(&worker->lock);
		pgq_log(worker, PGQ_LOG_WARNING,
				"job %lld (%s) is no longer held by this worker (its lease expired or it was cancelled): its handler is told to stop and its outcome will not be reported",
				(long long) c->job.id, c->entry->name);
	}
}

/*
 * pgq_run_heartbeat
 *		When any held job is due for a heartbeat, extend the leases of all
 *		running jobs in one call and schedule their next beats at half of
 *		their leases.
 */
void
pgq_run_heartbeat(PgqRun *run, double now)
{
	bool		due = false;
	int			n = 0;
	const char *values[2];
	PGresult   *res;

	for (PgqContext *c = run->held_head; c; c = c->run_next)
		if (c->next_heartbeat <= now && !atomic_load(&c->cancelled))
			due = true;
	if (!due)
		return;

	pgq_buf_reset(&run->sql);
	pgq_buf_putc(&run->sql, '{');
	for (PgqContext *c = run->held_head; c; c = c->run_next)
	{
		if (atomic_load(&c->cancelled))
			continue;
		pgq_buf_printf(&run->sql, "%s%lld", n++ ? "," : "", (long long) c->job.id);
		c->next_heartbeat = now + c->entry->lease_s / 2;
	}
	pgq_buf_putc(&run->sql, '}');
	if (n == 0 || run->sql.oom)
		return;
	values[0] = run->sql.data;
	values[1] = run->worker->qm_id;
	res = PQexecPrepared(run->conn, "pgq_heartbeat", 2, values, NULL, NULL, 0);
	if (!pgq_run_check_result(run, res, "heartbeat"))
		return;
	if (strtol(PQgetvalue(res, 0, 0), NULL, 10) < n)
	{
		pgq_log(run->worker, PGQ_LOG_DEBUG, "heartbeat: %s of %d jobs still held",
				PQgetvalue(res, 0, 0), n);
		PQclear(res);
		stop_lost_jobs(run);
		return;
	}
	pgq_log(run->worker, PGQ_LOG_DEBUG, "heartbeat: %d jobs", n);
	PQclear(res);
}

/*
 * pgq_run_probe_queued
 *		Seconds until our first queued, unpaused job is due (<= 0: one is
 *		due now but dequeue did not hand it out, for example because of a
 *		concurrency or rate limit), or NAN when none is queued
 *		(pgqueuer.next_due).  Also NAN when the probe cannot run (a role
 *		without EXECUTE on it): callers then trust the empty dequeue.
 */
double
pgq_run_probe_queued(PgqRun *run)
{
	const char *values[1] = {run->entrypoints_literal};
	PGresult   *res;
	double		eta;

	if (!run->can_probe)
		return NAN;
	res = PQexecPrepared(run->conn, "pgq_probe", 1, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (PQstatus(run->conn) == CONNECTION_BAD)
		{
			pgq_run_check_result(run, res, "queued-work probe");
			return NAN;
		}
		run->can_probe = false;
		pgq_log(run->worker, PGQ_LOG_DEBUG, "queued-work probe disabled: %s",
				PQresultErrorMessage(res));
		PQclear(res);
		return NAN;
	}
	eta = PQgetisnull(res, 0, 0) ? NAN : strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return eta;
}

/*
 * pgq_run_send_health_check
 *		PgQueuer's listener health check: NOTIFY a health_check_event with
 *		a fresh id, which must come back through our LISTEN.
 */
void
pgq_run_send_health_check(PgqRun *run, double now)
{
	PgqBuf		payload;
	char		ts[PGQ_TIMESTAMP_LEN];
	const char *values[1];
	PGresult   *res;

	if (!pgq_random_uuid(run->health_id))
		return;
	pgq_utc_timestamp(ts, sizeof(ts));
	pgq_buf_init(&payload);
	pgq_buf_printf(&payload,
				   "{\"channel\": \"%s\", \"sent_at\": \"%s\", \"type\": \"health_check_event\", \"received_at\": \"%s\", \"id\": \"%s\"}",
				   PGQ_CHANNEL, ts, ts, run->health_id);
	if (payload.oom)
		return;
	values[0] = payload.data;
	res = PQexecParams(run->conn,
					   "SELECT pg_catalog.pg_notify('" PGQ_CHANNEL "', $1::pg_catalog.text)",
					   1, NULL, values, NULL, NULL, 0);
	pgq_buf_free(&payload);
	if (!pgq_run_check_result(run, res, "listener health check"))
		return;
	PQclear(res);
	run->health_sent = now;
}

/*
 * pgq_run_confirm_not_held
 *		A notification is only a hint: any role that can connect may NOTIFY
 *		on the channel.  Ask the server (pgqueuer.jobs_not_held) which of
 *		the n job ids, all held by this worker, it no longer holds as
 *		picked -- canceled, or lost with an expired lease -- and set
 *		gone[i] for those.  Returns how many, or -1 when the call failed
 *		(then nothing is confirmed).
 */
int
pgq_run_confirm_not_held(PgqRun *run, const int64_t *ids, int n, bool *gone)
{
	const char *values[2];
	PGresult   *res;
	int			count = 0;

	memset(gone, 0, sizeof(bool) * (size_t) n);
	pgq_buf_reset(&run->sql);
	pgq_buf_putc(&run->sql, '{');
	for (int i = 0; i < n; i++)
		pgq_buf_printf(&run->sql, "%s%lld", i ? "," : "", (long long) ids[i]);
	pgq_buf_putc(&run->sql, '}');
	if (run->sql.oom)
		return -1;
	values[0] = run->sql.data;
	values[1] = run->worker->qm_id;
	res = PQexecPrepared(run->conn, "pgq_not_held", 2, values, NULL, NULL, 0);
	if (!pgq_run_check_result(run, res, "cancellation check"))
		return -1;
	for (int r = 0; r < PQntuples(res); r++)
	{
		int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		for (int i = 0; i < n; i++)
			if (ids[i] == id && !gone[i])
			{
				gone[i] = true;
				count++;
			}
	}
	PQclear(res);
	return count;
}
