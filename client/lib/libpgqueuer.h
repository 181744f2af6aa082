/*-------------------------------------------------------------------------
 *
 * libpgqueuer.h
 *		libpgqueuer: the C client of the pgqueuer extension, on libpq.
 *
 * A thin client.  All queue logic runs in the server (CREATE EXTENSION
 * pgqueuer); this library only calls the extension's SQL functions and
 * LISTENs on channel "ch_pgqueuer".  It names no table: every read and
 * write is a call of a documented pgqueuer.* function (the one catalog read
 * checks that the extension is installed).  Every statement qualifies its
 * names and types and uses no operator, so objects another role planted in
 * a schema on the session's search_path are never used.  A notification is
 * only a hint (any role may NOTIFY): a cancellation is confirmed with the
 * server before a handler is told.  It offers:
 *
 *	producer	PgqClient: one connection; enqueue one job or many in one
 *				round trip.
 *	worker		PgqWorker: PgQueuer's QueueManager in C.  Registers
 *				entrypoints (with their registry settings), LISTENs,
 *				dequeues in batches, runs handlers on a pool of threads,
 *				heartbeats running jobs at half their lease, reports
 *				outcomes in batches, tells handlers about cancellation,
 *				and shuts down gracefully, finishing in-flight jobs.
 *
 * Connection strings are libpq's: a conninfo ("host=... dbname=...") or a
 * URI ("postgresql://..."); NULL or "" uses the PG* environment variables
 * (PGHOST, PGPORT, PGDATABASE, PGUSER, ...) as libpq does.
 *
 * Errors: functions that can fail return a negative value or NULL and
 * leave a message retrievable with pgq_client_error() or
 * pgq_worker_error(); the message is owned by the object and valid until
 * its next call.  Server errors keep libpq's text, which names the SQLSTATE
 * condition raised by the extension (see the README's SQL reference).
 *
 * Threads: a PgqClient is one libpq connection and must be used by one
 * thread at a time.  A PgqWorker owns its connection; configure it from one
 * thread, then call pgq_worker_run() from one thread.  pgq_worker_stop()
 * may be called from any thread and from a signal handler.  Handlers run on
 * the worker's pool threads, concurrently with each other; a PgqContext is
 * only valid inside the handler call it was passed to.
 *
 * Memory: strings passed in are copied unless stated otherwise; pointers
 * handed out (jobs, messages) belong to the library and stay valid for the
 * documented lifetime.  Objects made by *_new / pgq_connect are freed with
 * the matching *_free / pgq_disconnect.
 *
 * IDENTIFICATION
 *		client/lib/libpgqueuer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef LIBPGQUEUER_H
#define LIBPGQUEUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* the client's version: it calls the functions of extension version 1.1 */
#define PGQ_CLIENT_VERSION "1.1"

/* ------------------------------------------------------------------------
 * Producer
 * ------------------------------------------------------------------------
 */

typedef struct PgqClient PgqClient;

/*
 * pgq_connect
 *		Open a connection.  conninfo: libpq conninfo or URI; NULL or "" for
 *		the PG* environment.  Returns NULL on failure (out of memory, or a
 *		connection error); then *errmsg, if errmsg is not NULL, receives a
 *		malloc'd message the caller frees.  connect_timeout (conninfo, else
 *		PGCONNECT_TIMEOUT; unset: no limit) bounds the whole attempt.  The
 *		connection's search_path is not changed: every call names schema
 *		pgqueuer and qualifies every name.
 */
extern PgqClient *pgq_connect(const char *conninfo, char **errmsg);

/* Close the connection and free the client.  NULL is accepted. */
extern void pgq_disconnect(PgqClient *client);

/*
 * The libpq connection, for the caller's own SQL (for example to enqueue
 * inside the caller's transaction).  Owned by the client.
 */
extern PGconn *pgq_client_conn(PgqClient *client);

/* The message of the last failed call on this client ("" if none). */
extern const char *pgq_client_error(const PgqClient *client);

/* ON CONFLICT behaviour of a dedupe_key that is already queued or picked */
typedef enum PgqOnConflict
{
	PGQ_ON_CONFLICT_RAISE = 0, /* the call fails (SQLSTATE 23505) */
	PGQ_ON_CONFLICT_SKIP	   /* the job is skipped (id 0) */
} PgqOnConflict;

/*
 * One job to enqueue.  Zero-initialise and set what you need:
 * entrypoint is required; everything else defaults (no payload, priority 0,
 * due at once, no dedupe key, no headers).
 */
typedef struct PgqJobSpec
{
	const char *entrypoint;	  /* required, not empty */
	const void *payload;	  /* bytes, or NULL for a NULL payload */
	size_t		payload_len;  /* length of payload in bytes */
	int32_t		priority;	  /* higher runs first; default 0 */
	double		delay_s;	  /* execute_after = now() + delay_s seconds (>= 0) */
	const char *dedupe_key;	  /* NULL: none */
	const char *headers_json; /* a JSON object as text, or NULL */
} PgqJobSpec;

/*
 * pgq_enqueue
 *		Enqueue one job (pgqueuer.enqueue).  On success returns 0 and sets
 *		*id (if not NULL) to the new job's id, or to 0 when the job was
 *		skipped under PGQ_ON_CONFLICT_SKIP.  Returns -1 on error (bad
 *		argument, server error, lost connection); see pgq_client_error().
 */
extern int pgq_enqueue(PgqClient *client, const PgqJobSpec *job,
					   PgqOnConflict on_conflict, int64_t *id);

/*
 * pgq_enqueue_many
 *		Enqueue n jobs in one round trip (pgqueuer.enqueue_batch).  ids, if
 *		not NULL, has room for n ids and receives them in input order (0 for
 *		a skipped job).  Under PGQ_ON_CONFLICT_RAISE it is all or nothing.
 *		Returns the number of jobs enqueued (n minus skipped), or -1 on
 *		error.  n = 0 returns 0 without a round trip.
 */
extern int pgq_enqueue_many(PgqClient *client, const PgqJobSpec *jobs, int n,
							PgqOnConflict on_conflict, int64_t *ids);

/* One job's status as reported by pgq_wait_for(). */
typedef struct PgqJobState
{
	int64_t id;
	char	status[16]; /* "queued", "picked", "failed" (held), or the
								 * logged outcome: "successful", "exception",
								 * "canceled", "deleted" */
} PgqJobState;

/*
 * pgq_wait_for
 *		Wait until each of the n jobs in ids has an outcome, or until
 *		timeout_s seconds (finite, >= 0; 0 looks once) have passed
 *		(pgqueuer.wait_for).  The server does the waiting: the call is one
 *		statement that returns within milliseconds of the commit that ends
 *		the last job (with pgqueuer in shared_preload_libraries; otherwise
 *		within about 100 ms).  Held (failed) jobs count as finished, as do
 *		ids the server does not know, which are left out of the result.
 *
 *		states has room for n entries and receives one per known job, in
 *		the order of ids.  *pending (if not NULL) receives how many of them
 *		are still queued or picked: 0 means every job finished, more means
 *		the timeout passed first.  Returns the number of entries written,
 *		or -1 on error (bad argument; a server error such as a duplicate id,
 *		more than 10000 ids, or a transaction not in READ COMMITTED; a lost
 *		connection), see pgq_client_error().  n = 0 returns 0 without a round
 *		trip.  Blocks the calling thread; the connection is busy meanwhile.
 */
extern int pgq_wait_for(PgqClient *client, const int64_t *ids, int n,
						double timeout_s, PgqJobState *states, int *pending);

/* ------------------------------------------------------------------------
 * Jobs and handlers
 * ------------------------------------------------------------------------
 */

/*
 * A dequeued job: a row of the queue, as pgqueuer.dequeue() returns it.
 * Owned by the worker, valid
 * until the handler that received it returns.
 */
typedef struct PgqJob
{
	int64_t				 id;
	const char			*entrypoint;
	int32_t				 priority;
	int32_t				 attempts; /* earlier attempts: 0 on the first run */
	const unsigned char *payload;  /* NULL if the payload is NULL */
	size_t				 payload_len;
	const char			*headers_json;	   /* NULL if none */
	const char			*dedupe_key;	   /* NULL if none */
	const char			*created;		   /* timestamptz as text (ISO 8601) */
	const char			*execute_after;	   /* timestamptz as text */
	const char			*queue_manager_id; /* this worker's uuid */
} PgqJob;

/* The outcome a handler (or executor) returns. */
typedef enum PgqStatus
{
	PGQ_SUCCESSFUL = 0, /* done: the job is logged successful */
	PGQ_EXCEPTION,		/* failed: logged exception with a traceback; a
								 * registered entrypoint with attempts left is
								 * retried by the server with backoff */
	PGQ_RETRY,			/* back to the queue after the delay set by
								 * pgq_ctx_set_retry() (default 0), attempts +
								 * 1, decided by the client */
	PGQ_HOLD			/* held in the queue as failed (pgq requeue) */
} PgqStatus;

/*
 * What a handler receives.  Valid only during the call; all functions
 * are safe to call from the handler's thread.
 */
typedef struct PgqContext PgqContext;

/* The job being run. */
extern const PgqJob *pgq_ctx_job(const PgqContext *ctx);

/*
 * True once the job has been cancelled (pgqueuer.cancel() sent a
 * cancellation_event naming it, and the server confirmed that this worker
 * no longer holds the job) or the worker is shutting down because its
 * connection was lost.  Long handlers poll it and return
 * early; whatever they return, a cancelled job is already gone from the
 * queue and its outcome is ignored.
 */
extern bool pgq_ctx_cancelled(const PgqContext *ctx);

/* The resources the factory set with pgq_worker_set_resources(), or NULL. */
extern void *pgq_ctx_resources(const PgqContext *ctx);

/* The handler_arg given to pgq_worker_add_entrypoint(). */
extern void *pgq_ctx_handler_arg(const PgqContext *ctx);

/*
 * The lease of the job's entrypoint in seconds, as the worker learnt it at
 * its start (the registry's lease_timeout, else pgqueuer.lease_timeout):
 * the worker heartbeats the job every half lease, and a job not
 * heartbeated for a whole lease may be handed to another worker.
 */
extern double pgq_ctx_lease_timeout(const PgqContext *ctx);

/*
 * Describe an exception for PGQ_EXCEPTION: exception_type (e.g.
 * "ValueError"), message and an optional traceback text; stored in the
 * log row's traceback column as PgQueuer's JSON object (keys
 * job_id, timestamp, exception_type, exception_message, traceback,
 * additional_context).  Strings are copied; NULL means empty.  Without
 * it, PGQ_EXCEPTION records exception_type "HandlerError".
 */
extern void pgq_ctx_set_exception(PgqContext *ctx, const char *exception_type,
								  const char *message, const char *traceback);

/* The delay, in seconds (>= 0), of a PGQ_RETRY outcome. */
extern void pgq_ctx_set_retry(PgqContext *ctx, double delay_s);

/*
 * A handler: runs one job on a pool thread and returns its outcome.  It
 * must not call exit() or longjmp out; an error it reports by returning
 * PGQ_EXCEPTION never stops the worker.
 */
typedef PgqStatus (*PgqHandler)(PgqContext *ctx);

/*
 * An executor (PgQueuer's executor_factory): wraps how a handler runs,
 * for example retrying inside the client with backoff, or dispatching a
 * notification afterwards.  It calls handler(ctx) zero or more times and
 * returns the final outcome.  executor_arg is the pointer given at
 * registration.  NULL at registration means the plain call.
 */
typedef PgqStatus (*PgqExecutor)(PgqContext *ctx, PgqHandler handler,
								 void *executor_arg);

/* ------------------------------------------------------------------------
 * Worker
 * ------------------------------------------------------------------------
 */

typedef struct PgqWorker PgqWorker;

typedef enum PgqMode
{
	PGQ_MODE_CONTINUOUS = 0, /* run until stopped */
	PGQ_MODE_DRAIN			 /* stop once no job is due and none runs */
} PgqMode;

typedef enum PgqLogLevel
{
	PGQ_LOG_DEBUG = 0,
	PGQ_LOG_INFO,
	PGQ_LOG_WARNING,
	PGQ_LOG_ERROR
} PgqLogLevel;

/*
 * Log sink: called from the worker's threads (serialised by the library)
 * for messages at or above the worker's log level.  The default writes
 * "LEVEL: message" lines to stderr.
 */
typedef void (*PgqLogFunc)(PgqLogLevel level, const char *message, void *arg);

/*
 * Worker settings.  Zero-initialise, or start from pgq_worker_options_init()
 * which sets the defaults noted here (those of PgQueuer's `pgq run`).  A
 * batch_size or dequeue_timeout_s of zero (or less) means its default.
 */
typedef struct PgqWorkerOptions
{
	const char *conninfo;					  /* NULL: PG* environment */
	int			batch_size;					  /* jobs per dequeue; default 10 */
	double		dequeue_timeout_s;			  /* safety-net poll when no NOTIFY arrives;
									 * default 30.0 */
	int			max_concurrent_tasks;		  /* cap on jobs running at once and
										 * on pool threads; 0 = no cap
										 * (PgQueuer's None): the worker
										 * dequeues a batch whenever there
										 * may be work, and starts a thread
										 * per job running at once */
	PgqMode		mode;						  /* default PGQ_MODE_CONTINUOUS */
	bool		shutdown_on_listener_failure; /* stop (error) if the LISTEN
												 * health check fails;
												 * default false: reconnect
												 * is the supervisor's job */
	PgqLogLevel log_level;					  /* default PGQ_LOG_INFO */
	PgqLogFunc	log_func;					  /* NULL: stderr */
	void	   *log_arg;
	double		reconnect_max_delay_s; /* > 0: when the connection is lost,
										 * keep the handlers running and
										 * reconnect with the same
										 * queue_manager_id, waiting 0.1 s
										 * before the first attempt and
										 * doubling up to this many seconds
										 * between attempts; 0 (default):
										 * return PGQ_RUN_CONNECTION_LOST */
} PgqWorkerOptions;

/* Fill *opts with the defaults above. */
extern void pgq_worker_options_init(PgqWorkerOptions *opts);

/*
 * Server-side registry settings of an entrypoint
 * (pgqueuer.register_entrypoint).  Zero-initialise; zero values mean the
 * server's defaults.  With register_entrypoint false nothing is written
 * to the registry (the entrypoint keeps PgQueuer's semantics: an exception
 * is terminal).
 */
typedef struct PgqEntrypointOptions
{
	bool		register_entrypoint;  /* call register_entrypoint() */
	int			concurrency_limit;	  /* jobs running at once across all
									 * workers; 0 = unlimited */
	double		requests_per_second;  /* dequeue rate across all workers;
										 * 0 = unlimited */
	double		lease_timeout_s;	  /* 0 = pgqueuer.lease_timeout */
	int			max_attempts;		  /* 0 = pgqueuer.max_attempts */
	double		retry_backoff_base_s; /* 0 = 1 s */
	double		retry_backoff_max_s;  /* 0 = 300 s */
	const char *on_failure;			  /* "delete" (default) or "hold" */
} PgqEntrypointOptions;

/*
 * pgq_worker_new
 *		A worker with the given options (NULL: defaults).  Does not connect
 *		yet.  Returns NULL only when out of memory.
 */
extern PgqWorker *pgq_worker_new(const PgqWorkerOptions *opts);

/*
 * pgq_worker_add_entrypoint
 *		Serve entrypoint "name" with handler.  handler_arg is handed to the
 *		handler through pgq_ctx_handler_arg(); executor (NULL: plain call)
 *		wraps the handler with executor_arg; opts (NULL: none) are the
 *		registry settings written when the worker starts.  Returns 0, or -1
 *		for an empty or duplicate name, a NULL handler or a bad option (see
 *		pgq_worker_error()).  Call before pgq_worker_run().
 */
extern int pgq_worker_add_entrypoint(PgqWorker *worker, const char *name,
									 PgqHandler handler, void *handler_arg,
									 PgqExecutor executor, void *executor_arg,
									 const PgqEntrypointOptions *opts);

/*
 * pgq_worker_set_resources
 *		Shared resources for every handler (PgQueuer's Context resources: a
 *		connection pool, an HTTP client, ...), reachable through
 *		pgq_ctx_resources().  cleanup, if not NULL, is called once with
 *		resources by pgq_worker_free() (after the last handler returned).
 *		The worker does not otherwise touch them.
 */
extern void pgq_worker_set_resources(PgqWorker *worker, void *resources,
									 void (*cleanup)(void *resources));

/*
 * Why pgq_worker_run() returned.
 */
typedef enum PgqRunResult
{
	PGQ_RUN_STOPPED = 0,	 /* pgq_worker_stop(), in-flight jobs finished */
	PGQ_RUN_DRAINED,		 /* drain mode: nothing left to do */
	PGQ_RUN_CONNECTION_LOST, /* the connection failed (and, with
								 * reconnect_max_delay_s, a stop was
								 * requested and reconnecting kept failing
								 * after the last handler returned);
								 * in-flight handlers were told (cancelled
								 * flag) and waited for; their jobs return
								 * to the queue when their lease expires */
	PGQ_RUN_ERROR			 /* setup failed: connection refused, no
								 * extension, no entrypoints, registry error */
} PgqRunResult;

/*
 * pgq_worker_run
 *		Connect (within connect_timeout, else PGCONNECT_TIMEOUT; a stop
 *		request while connecting returns PGQ_RUN_STOPPED), check that the
 *		extension is 1.1 or later, register the entrypoints that asked for
 *		it, LISTEN on ch_pgqueuer, and process jobs until stopped, drained,
 *		or the connection is lost.  A handler returning PGQ_EXCEPTION, or an
 *		executor doing so, never stops the run.  May be called again on the
 *		same worker after it returned (the supervisor's restart); each run
 *		uses a new queue_manager_id (a reconnection within a run, see
 *		reconnect_max_delay_s, keeps it).  Details of a PGQ_RUN_ERROR or
 *		PGQ_RUN_CONNECTION_LOST: pgq_worker_error().
 */
extern PgqRunResult pgq_worker_run(PgqWorker *worker);

/*
 * pgq_worker_stop
 *		Ask a running pgq_worker_run() to stop gracefully: no new dequeue,
 *		in-flight jobs finish and are reported, then it returns
 *		PGQ_RUN_STOPPED.  Async-signal-safe; idempotent; harmless when the
 *		worker is not running (the next run then stops at once).
 */
extern void pgq_worker_stop(PgqWorker *worker);

/* Counters of the worker since it was made, for progress displays. */
typedef struct PgqWorkerStats
{
	int64_t dequeued; /* jobs handed to handlers */
	int64_t successful;
	int64_t exception;
	int64_t retried;   /* PGQ_RETRY outcomes */
	int64_t held;	   /* PGQ_HOLD outcomes */
	int64_t cancelled; /* cancellation_event reached a running job */
	int		running;   /* handlers running now */
} PgqWorkerStats;

/* A consistent snapshot of the counters; callable from any thread. */
extern void pgq_worker_stats(PgqWorker *worker, PgqWorkerStats *stats);

/* The message of the last error of the worker ("" if none). */
extern const char *pgq_worker_error(const PgqWorker *worker);

/* Free the worker (not while pgq_worker_run() runs); NULL is accepted. */
extern void pgq_worker_free(PgqWorker *worker);

/* ------------------------------------------------------------------------
 * Factories (pgq run LIB.so:SYMBOL)
 * ------------------------------------------------------------------------
 */

/*
 * The signature of a factory symbol that `pgq run ./libmyjobs.so:setup`
 * loads with dlopen() and calls before every (re)start with a fresh worker:
 * it adds the entrypoints and may set shared resources (whose cleanup runs
 * on shutdown).  Returns 0, or non-zero to abort the start (pgq run exits
 * with status 1, or retries under --restart-on-failure).
 */
typedef int (*PgqFactory)(PgqWorker *worker);

#ifdef __cplusplus
}
#endif

#endif /* LIBPGQUEUER_H */
