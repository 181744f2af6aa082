/*-------------------------------------------------------------------------
 *
 * test_libpgqueuer.c
 *		Tests of libpgqueuer's API against a real server, printed as TAP
 *		lines ("ok N - ...") that test/t/021_pgq_run.pl relays.
 *
 *		test_libpgqueuer CONNINFO
 *
 * Covers what pgq run does not: the producer (pgq_enqueue,
 * pgq_enqueue_many: payload bytes, priority, delay, headers, dedupe keys
 * under raise and skip, errors), pgq_wait_for, argument checks of the worker API, a
 * worker driven directly (handler_arg, resources and their cleanup, an
 * executor, PGQ_HOLD, a custom log sink, statistics), pgq_worker_stop()
 * from another thread, and the PGQ_RUN_ERROR cases.  The database must
 * have the extension and no jobs of the entrypoints used here ("t_*").
 *
 * IDENTIFICATION
 *		test/client/test_libpgqueuer.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpgqueuer.h"

static int ntests = 0;
static int nfailed = 0;

/* check: one TAP line */
static void check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		nfailed++;
}

/* scalar: the first value of a query on conn ("" on error), malloc'd */
static char *
scalar(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	char	 *v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
	{
		printf("# query failed: %s: %s", sql, PQerrorMessage(conn));
		v = strdup("");
	}
	else
		v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* check_sql: the first value of sql equals expected */
static void
check_sql(PGconn *conn, const char *sql, const char *expected, const char *what)
{
	char *v = scalar(conn, sql);

	check(strcmp(v, expected) == 0, "%s", what);
	if (strcmp(v, expected) != 0)
		printf("#   got \"%s\", expected \"%s\"\n", v, expected);
	free(v);
}

/* ---- the producer ------------------------------------------------------ */

static void
test_producer(const char *conninfo)
{
	PgqClient		   *client;
	PGconn			   *conn;
	char			   *err = NULL;
	char				sql[512];
	int64_t				id = -1;
	int64_t				ids[4] = {-1, -1, -1, -1};
	const unsigned char bytes[] = {0, 1, 'x', 0xff, '"', '\\'};
	PgqJobSpec			job = {0};
	PgqJobSpec			jobs[4];

	client = pgq_connect("host=/nonexistent/socket/dir connect_timeout=1", &err);
	check(client == NULL && err && strstr(err, "could not connect"),
		  "pgq_connect: a bad conninfo returns NULL and a message");
	free(err);

	client = pgq_connect(conninfo, &err);
	check(client != NULL, "pgq_connect: connects (%s)", err ? err : "ok");
	if (client == NULL)
		return;
	conn = pgq_client_conn(client);
	check(strcmp(pgq_client_error(client), "") == 0, "no error after connect");

	job.entrypoint = "t_bytes";
	job.payload = bytes;
	job.payload_len = sizeof(bytes);
	job.priority = 42;
	job.headers_json = "{\"trace\": \"abc\"}";
	job.dedupe_key = "t-key-1";
	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &id) == 0 && id > 0,
		  "pgq_enqueue: one job");
	snprintf(sql, sizeof(sql),
			 "SELECT encode(payload, 'hex') || ' ' || priority || ' ' || (headers->>'trace') || ' ' || dedupe_key FROM pgqueuer.pgqueuer WHERE id = %lld",
			 (long long) id);
	check_sql(conn, sql, "000178ff225c 42 abc t-key-1",
			  "pgq_enqueue: payload bytes (with NUL), priority, headers, dedupe key stored");

	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &id) == -1 &&
			  strstr(pgq_client_error(client), "23505") != NULL,
		  "pgq_enqueue: an active duplicate dedupe key fails with 23505 under raise");
	id = -1;
	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_SKIP, &id) == 0 && id == 0,
		  "pgq_enqueue: ... and is skipped (id 0) under skip");

	memset(&job, 0, sizeof(job));
	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &id) == -1 &&
			  strstr(pgq_client_error(client), "entrypoint is required") != NULL,
		  "pgq_enqueue: no entrypoint is refused");
	job.entrypoint = "t_delay";
	job.delay_s = -1;
	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &id) == -1,
		  "pgq_enqueue: a negative delay is refused");
	job.delay_s = 3600;
	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &id) == 0, "pgq_enqueue: a delayed job");
	snprintf(sql, sizeof(sql),
			 "SELECT (execute_after - created BETWEEN '59 min' AND '61 min') AND payload IS NULL FROM pgqueuer.pgqueuer WHERE id = %lld",
			 (long long) id);
	check_sql(conn, sql, "t", "... due in an hour, with a NULL payload");

	memset(jobs, 0, sizeof(jobs));
	jobs[0].entrypoint = "t_many";
	jobs[0].payload = "a";
	jobs[0].payload_len = 1;
	jobs[1].entrypoint = "t_many";
	jobs[1].priority = -3;
	jobs[1].dedupe_key = "t-key-1"; /* clashes with the first job */
	jobs[2].entrypoint = "t_many";
	jobs[2].delay_s = 1.5;
	jobs[2].headers_json = "{\"n\": 3}";
	jobs[2].payload = "";
	jobs[3].entrypoint = "t_many";
	jobs[3].dedupe_key = "t-key-2";
	check(pgq_enqueue_many(client, jobs, 4, PGQ_ON_CONFLICT_RAISE, ids) == -1 &&
			  strstr(pgq_client_error(client), "23505") != NULL,
		  "pgq_enqueue_many: all or nothing under raise");
	check(pgq_enqueue_many(client, jobs, 4, PGQ_ON_CONFLICT_SKIP, ids) == 3 &&
			  ids[0] > 0 && ids[1] == 0 && ids[2] > ids[0] && ids[3] > ids[2],
		  "pgq_enqueue_many: under skip returns 3, ids in order, 0 for the skipped job");
	snprintf(sql, sizeof(sql),
			 "SELECT string_agg(concat_ws(':', encode(payload, 'escape'), priority, headers->>'n', dedupe_key, execute_after > created), ' ' ORDER BY id) FROM pgqueuer.pgqueuer WHERE entrypoint = 't_many'");
	check_sql(conn, sql, "a:0:f :0:3:t 0:t-key-2:f",
			  "pgq_enqueue_many: payloads, priorities, delays, headers, keys per job");
	check(pgq_enqueue_many(client, jobs, 0, PGQ_ON_CONFLICT_RAISE, NULL) == 0,
		  "pgq_enqueue_many: n = 0 returns 0");
	jobs[1].entrypoint = "";
	check(pgq_enqueue_many(client, jobs, 2, PGQ_ON_CONFLICT_RAISE, NULL) == -1 &&
			  strstr(pgq_client_error(client), "job 1") != NULL,
		  "pgq_enqueue_many: an empty entrypoint is refused, naming the job");

	PQclear(PQexec(conn, "SELECT pgqueuer.cancel(array_agg(id)) FROM pgqueuer.pgqueuer WHERE entrypoint LIKE 't\\_%'"));
	pgq_disconnect(client);
	pgq_disconnect(NULL);
}

/*
 * test_wait
 *		pgq_wait_for: outcomes in input order, the pending count after a
 *		timeout, unknown ids left out, argument and server errors.
 */
static void
test_wait(const char *conninfo)
{
	PgqClient  *client = pgq_connect(conninfo, NULL);
	PGconn	   *conn = pgq_client_conn(client);
	PgqJobSpec	job = {.entrypoint = "t_wait"};
	PgqJobState states[3];
	int64_t		ids[3];
	int			pending = -1;
	char		sql[256];

	check(pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &ids[0]) == 0 &&
			  pgq_enqueue(client, &job, PGQ_ON_CONFLICT_RAISE, &ids[1]) == 0,
		  "pgq_wait_for: two jobs enqueued");
	ids[2] = 987654321;
	check(pgq_wait_for(client, ids, 3, 0.05, states, &pending) == 2 && pending == 2 &&
			  states[0].id == ids[0] && strcmp(states[0].status, "queued") == 0 &&
			  states[1].id == ids[1],
		  "pgq_wait_for: after the timeout, the known jobs still queued, pending 2");

	snprintf(sql, sizeof(sql),
			 "SELECT pgqueuer.cancel(ARRAY[%lld, %lld]::bigint[])",
			 (long long) ids[1], (long long) ids[0]);
	PQclear(PQexec(conn, sql));
	check(pgq_wait_for(client, ids, 2, 10, states, &pending) == 2 && pending == 0 &&
			  states[0].id == ids[0] && strcmp(states[0].status, "canceled") == 0 &&
			  states[1].id == ids[1] && strcmp(states[1].status, "canceled") == 0,
		  "pgq_wait_for: outcomes in input order, pending 0");
	check(pgq_wait_for(client, ids, 0, 1, NULL, NULL) == 0,
		  "pgq_wait_for: n = 0 returns 0");
	check(pgq_wait_for(client, ids, 2, -1, states, NULL) == -1 &&
			  strstr(pgq_client_error(client), "timeout_s") != NULL,
		  "pgq_wait_for: a negative timeout is refused");
	ids[1] = ids[0];
	check(pgq_wait_for(client, ids, 2, 1, states, NULL) == -1 &&
			  strstr(pgq_client_error(client), "more than once") != NULL,
		  "pgq_wait_for: the server's error for a duplicate id");
	pgq_disconnect(client);
}

/* ---- the worker --------------------------------------------------------- */

typedef struct Shared
{
	pthread_mutex_t lock;
	int				handled;
	int				executor_calls;
	int				bad_args;
	int				log_lines;
	int				cleanups;
	bool			started;
} Shared;

static Shared shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

static PgqStatus
handle_ok(PgqContext *ctx)
{
	const PgqJob *job = pgq_ctx_job(ctx);
	Shared		 *s = pgq_ctx_resources(ctx);

	pthread_mutex_lock(&s->lock);
	s->handled++;
	if (pgq_ctx_handler_arg(ctx) != (void *) &shared.bad_args ||
		strcmp(job->entrypoint, "t_ok") != 0 || job->payload_len != 2 ||
		memcmp(job->payload, "hi", 2) != 0 || job->created == NULL ||
		strchr(job->created, 'T') == NULL || job->queue_manager_id == NULL ||
		pgq_ctx_cancelled(ctx))
		s->bad_args++;
	pthread_mutex_unlock(&s->lock);
	return PGQ_SUCCESSFUL;
}

static PgqStatus
handle_hold(PgqContext *ctx)
{
	pgq_ctx_set_exception(ctx, "Held", "keep it", "tb");
	return PGQ_HOLD;
}

static PgqStatus
handle_exception(PgqContext *ctx)
{
	return PGQ_EXCEPTION; /* no pgq_ctx_set_exception: HandlerError */
}

static PgqStatus
handle_slow(PgqContext *ctx)
{
	struct timespec ts = {0, 300 * 1000 * 1000};

	pthread_mutex_lock(&shared.lock);
	shared.started = true;
	pthread_mutex_unlock(&shared.lock);
	nanosleep(&ts, NULL);
	return PGQ_SUCCESSFUL;
}

static PgqStatus
counting_executor(PgqContext *ctx, PgqHandler handler, void *arg)
{
	Shared *s = arg;

	pthread_mutex_lock(&s->lock);
	s->executor_calls++;
	pthread_mutex_unlock(&s->lock);
	return handler(ctx);
}

static void
log_sink(PgqLogLevel level, const char *message, void *arg)
{
	Shared *s = arg;

	s->log_lines++; /* calls are serialised by the library */
}

static void
cleanup(void *resources)
{
	((Shared *) resources)->cleanups++;
}

/* stopper: stop the worker once the slow job started */
static void *
stopper(void *arg)
{
	for (;;)
	{
		bool			started;
		struct timespec ts = {0, 10 * 1000 * 1000};

		pthread_mutex_lock(&shared.lock);
		started = shared.started;
		pthread_mutex_unlock(&shared.lock);
		if (started)
			break;
		nanosleep(&ts, NULL);
	}
	pgq_worker_stop(arg);
	return NULL;
}

static void
test_worker(const char *conninfo)
{
	PgqWorkerOptions	 opts;
	PgqEntrypointOptions eo = {0};
	PgqWorker			*worker;
	PgqWorkerStats		 st;
	PgqClient			*client;
	PgqJobSpec			 spec = {0};
	PgqJobSpec			 specs[50];
	int64_t				 hold_id = 0;
	char				 sql[256];
	pthread_t			 thread;

	pgq_worker_options_init(&opts);
	check(opts.batch_size == 10 && opts.dequeue_timeout_s == 30.0 &&
			  opts.max_concurrent_tasks == 0 && opts.mode == PGQ_MODE_CONTINUOUS &&
			  opts.log_level == PGQ_LOG_INFO && !opts.shutdown_on_listener_failure,
		  "pgq_worker_options_init: PgQueuer's defaults");

	worker = pgq_worker_new(NULL);
	check(pgq_worker_add_entrypoint(worker, "", handle_ok, NULL, NULL, NULL, NULL) == -1,
		  "add_entrypoint: an empty name is refused");
	check(pgq_worker_add_entrypoint(worker, "t_x", NULL, NULL, NULL, NULL, NULL) == -1,
		  "add_entrypoint: a NULL handler is refused");
	eo.on_failure = "explode";
	check(pgq_worker_add_entrypoint(worker, "t_x", handle_ok, NULL, NULL, NULL, &eo) == -1 &&
			  strstr(pgq_worker_error(worker), "on_failure") != NULL,
		  "add_entrypoint: a bad on_failure is refused");
	eo.on_failure = NULL;
	eo.concurrency_limit = -1;
	check(pgq_worker_add_entrypoint(worker, "t_x", handle_ok, NULL, NULL, NULL, &eo) == -1,
		  "add_entrypoint: a negative concurrency_limit is refused");
	check(pgq_worker_add_entrypoint(worker, "t_x", handle_ok, NULL, NULL, NULL, NULL) == 0 &&
			  pgq_worker_add_entrypoint(worker, "t_x", handle_ok, NULL, NULL, NULL, NULL) == -1,
		  "add_entrypoint: a duplicate name is refused");
	pgq_worker_free(worker);

	worker = pgq_worker_new(NULL);
	check(pgq_worker_run(worker) == PGQ_RUN_ERROR && strstr(pgq_worker_error(worker), "no entrypoints"),
		  "pgq_worker_run: no entrypoints is PGQ_RUN_ERROR");
	pgq_worker_free(worker);

	opts.conninfo = "host=/nonexistent/socket/dir connect_timeout=1";
	opts.log_func = log_sink;
	opts.log_arg = &shared;
	worker = pgq_worker_new(&opts);
	pgq_worker_add_entrypoint(worker, "t_x", handle_ok, NULL, NULL, NULL, NULL);
	check(pgq_worker_run(worker) == PGQ_RUN_ERROR && strstr(pgq_worker_error(worker), "could not connect"),
		  "pgq_worker_run: an unreachable server is PGQ_RUN_ERROR");
	pgq_worker_stop(worker);
	check(pgq_worker_run(worker) == PGQ_RUN_STOPPED,
		  "pgq_worker_stop before the run: the run stops at once");
	pgq_worker_free(worker);

	/* 50 + 2 jobs, drained by a worker with resources and an executor */
	client = pgq_connect(conninfo, NULL);
	if (client == NULL)
	{
		check(false, "connect for the worker tests");
		return;
	}
	for (int i = 0; i < 50; i++)
	{
		memset(&specs[i], 0, sizeof(specs[i]));
		specs[i].entrypoint = "t_ok";
		specs[i].payload = "hi";
		specs[i].payload_len = 2;
	}
	spec.entrypoint = "t_hold";
	check(pgq_enqueue_many(client, specs, 50, PGQ_ON_CONFLICT_RAISE, NULL) == 50 &&
			  pgq_enqueue(client, &spec, PGQ_ON_CONFLICT_RAISE, &hold_id) == 0,
		  "enqueue 51 jobs for the worker");
	spec.entrypoint = "t_exc";
	pgq_enqueue(client, &spec, PGQ_ON_CONFLICT_RAISE, NULL);

	pgq_worker_options_init(&opts);
	opts.conninfo = conninfo;
	opts.mode = PGQ_MODE_DRAIN;
	opts.batch_size = 7;
	opts.max_concurrent_tasks = 3;
	opts.log_level = PGQ_LOG_DEBUG;
	opts.log_func = log_sink;
	opts.log_arg = &shared;
	worker = pgq_worker_new(&opts);
	pgq_worker_set_resources(worker, &shared, cleanup);
	pgq_worker_add_entrypoint(worker, "t_ok", handle_ok, &shared.bad_args,
							  counting_executor, &shared, NULL);
	pgq_worker_add_entrypoint(worker, "t_hold", handle_hold, NULL, NULL, NULL, NULL);
	pgq_worker_add_entrypoint(worker, "t_exc", handle_exception, NULL, NULL, NULL, NULL);
	check(pgq_worker_run(worker) == PGQ_RUN_DRAINED, "drain mode: PGQ_RUN_DRAINED (%s)",
		  pgq_worker_error(worker));
	pgq_worker_stats(worker, &st);
	check(st.dequeued == 52 && st.successful == 50 && st.held == 1 && st.exception == 1 &&
			  st.retried == 0 && st.cancelled == 0 && st.running == 0,
		  "stats: dequeued %lld, successful %lld, held %lld, exception %lld",
		  (long long) st.dequeued, (long long) st.successful, (long long) st.held,
		  (long long) st.exception);
	check(shared.handled == 50 && shared.executor_calls == 50 && shared.bad_args == 0,
		  "handlers saw their job, handler_arg and resources; the executor wrapped each call");
	check(shared.log_lines > 0, "the log sink received %d lines", shared.log_lines);
	check(shared.cleanups == 0, "resources are not cleaned up before pgq_worker_free");
	pgq_worker_free(worker);
	check(shared.cleanups == 1, "pgq_worker_free runs the cleanup once");

	snprintf(sql, sizeof(sql),
			 "SELECT status || ' ' || (SELECT traceback->>'exception_type' FROM pgqueuer.pgqueuer_log WHERE job_id = %lld AND status = 'failed') FROM pgqueuer.pgqueuer WHERE id = %lld",
			 (long long) hold_id, (long long) hold_id);
	check_sql(pgq_client_conn(client), sql, "failed Held", "PGQ_HOLD keeps the job as failed, with its traceback");
	check_sql(pgq_client_conn(client),
			  "SELECT traceback->>'exception_type' FROM pgqueuer.pgqueuer_log WHERE entrypoint = 't_exc' AND status = 'exception'",
			  "HandlerError", "PGQ_EXCEPTION without details records HandlerError");

	/* pgq_worker_stop from another thread while a job runs */
	spec.entrypoint = "t_slow";
	pgq_enqueue(client, &spec, PGQ_ON_CONFLICT_RAISE, NULL);
	pgq_enqueue(client, &spec, PGQ_ON_CONFLICT_RAISE, NULL);
	opts.mode = PGQ_MODE_CONTINUOUS;
	opts.max_concurrent_tasks = 1;
	opts.log_level = PGQ_LOG_ERROR;
	worker = pgq_worker_new(&opts);
	pgq_worker_add_entrypoint(worker, "t_slow", handle_slow, NULL, NULL, NULL, NULL);
	pthread_create(&thread, NULL, stopper, worker);
	check(pgq_worker_run(worker) == PGQ_RUN_STOPPED, "pgq_worker_stop from another thread: PGQ_RUN_STOPPED");
	pthread_join(thread, NULL);
	pgq_worker_stats(worker, &st);
	check(st.dequeued == 1 && st.successful == 1,
		  "... after the running job finished, without taking the next one");
	pgq_worker_free(worker);
	check_sql(pgq_client_conn(client),
			  "SELECT string_agg(status::text, ' ' ORDER BY id) FROM pgqueuer.pgqueuer WHERE entrypoint = 't_slow'",
			  "queued", "the second job is still queued");
	PQclear(PQexec(pgq_client_conn(client),
				   "SELECT pgqueuer.cancel(array_agg(id)) FROM pgqueuer.pgqueuer WHERE entrypoint LIKE 't\\_%'"));
	pgq_disconnect(client);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: %s CONNINFO\n", argv[0]);
		return 2;
	}
	test_producer(argv[1]);
	test_wait(argv[1]);
	test_worker(argv[1]);
	printf("1..%d\n", ntests);
	return nfailed == 0 ? 0 : 1;
}
