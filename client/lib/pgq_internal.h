/*-------------------------------------------------------------------------
 *
 * pgq_internal.h
 *		Private declarations shared by the files of libpgqueuer.
 *
 * Not installed: users include libpgqueuer.h only.  The pieces:
 *
 *	buf.c			growable strings, array literals, time helpers
 *	json.c			JSON escaping, traceback records, notification parsing
 *	log.c			the worker's log sink
 *	client.c		PgqClient: connect and enqueue
 *	context.c		PgqContext accessors
 *	worker.c		PgqWorker: configuration, stop, stats, free
 *	worker_held.c	the run's list of held jobs
 *	worker_sql.c	the worker's statements: setup, dequeue, heartbeat,
 *					cancellation check
 *	worker_pool.c	the thread pool that runs handlers
 *	worker_outcomes.c	batched reporting of finished jobs
 *	worker_run.c	pgq_worker_run(): the event loop
 *
 * IDENTIFICATION
 *		client/lib/pgq_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_INTERNAL_H
#define PGQ_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "libpgqueuer.h"

#define PGQ_CHANNEL "ch_pgqueuer"
/* PgqRun.capacity and the pool size when max_concurrent_tasks is not set */
#define PGQ_UNLIMITED	  INT_MAX
#define PGQ_ERRMSG_LEN	  2048
#define PGQ_UUID_LEN	  37 /* 36 characters and the terminator */
#define PGQ_TIMESTAMP_LEN 40

#define PGQ_PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Everything declared below is private to the library: hidden from the
 * shared library's symbol table (and from factories loaded into pgq).
 */
#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------------------
 * buf.c
 * ------------------------------------------------------------------------
 */

/*
 * A growable string.  Appending never fails visibly: on out of memory the
 * buffer is marked (oom) and further appends are ignored, so callers check
 * once at the end.
 */
typedef struct PgqBuf
{
	char  *data; /* always NUL-terminated once non-NULL */
	size_t len;
	size_t cap;
	bool   oom;
} PgqBuf;

extern void pgq_buf_init(PgqBuf *buf);
extern void pgq_buf_free(PgqBuf *buf);
extern void pgq_buf_reset(PgqBuf *buf);
extern void pgq_buf_append(PgqBuf *buf, const char *data, size_t len);
extern void pgq_buf_puts(PgqBuf *buf, const char *s);
extern void pgq_buf_putc(PgqBuf *buf, char c);
extern void pgq_buf_printf(PgqBuf *buf, const char *fmt, ...) PGQ_PRINTF(2, 3);

/* Append s as one quoted element of a PostgreSQL array literal. */
extern void pgq_buf_array_elem(PgqBuf *buf, const char *s);

/* Append "\\x<hex>" quoted as a bytea element of an array literal. */
extern void pgq_buf_array_bytea(PgqBuf *buf, const void *data, size_t len);

/* Monotonic clock in seconds. */
extern double pgq_now(void);

/* Current UTC time as ISO 8601 with microseconds and "Z". */
extern void pgq_utc_timestamp(char *out, size_t outlen);

/* A random (version 4) UUID from /dev/urandom; false on failure. */
extern bool pgq_random_uuid(char out[PGQ_UUID_LEN]);

/*
 * client.c: connect, naming the application appname unless told, within
 * connect_timeout and until stop(arg) (may be NULL) returns true; NULL
 * with the reason in err when not connected.
 */
extern PGconn *pgq_open_conn(const char *conninfo, const char *appname,
							 bool (*stop)(void *arg), void	  *arg,
							 char *err, size_t errlen);

/* strdup that accepts NULL */
extern char *pgq_strdup_null(const char *s);

/* Copy the message of conn (or res) into out without the final newline. */
extern void pgq_copy_pq_error(char *out, size_t outlen, PGconn *conn,
							  const PGresult *res);

/* ------------------------------------------------------------------------
 * json.c
 * ------------------------------------------------------------------------
 */

/* Append s (NULL: null) as a JSON string. */
extern void pgq_json_string(PgqBuf *buf, const char *s);

/* bytes of outside text (notifications) shown in a log line */
#define PGQ_LOG_TEXT_MAX 512

/*
 * Append s escaped for a log line (no control characters, no invalid
 * UTF-8), in double quotes when quoted, at most max bytes of it.
 */
extern void pgq_buf_escaped(PgqBuf *buf, const char *s, size_t max, bool quoted);

/*
 * A parsed notification payload of channel ch_pgqueuer: only what the
 * worker acts on.
 */
typedef struct PgqEvent
{
	char	 type[64]; /* "table_changed_event", ... ("" if none) */
	char	 id[64];   /* health_check_event: the probe's uuid */
	int64_t *ids;	   /* cancellation_event: malloc'd job ids */
	int		 nids;
	int64_t	 jobs;			 /* table_changed_event of the extension: jobs
								 * with new work; -1 if absent */
	bool	 no_entrypoints; /* "entrypoints": [] (no entrypoint woken) */
} PgqEvent;

/* Parse payload; false if it is not a JSON object. Free with pgq_event_free. */
extern bool pgq_event_parse(const char *payload, PgqEvent *event);
extern void pgq_event_free(PgqEvent *event);

/* ------------------------------------------------------------------------
 * Worker internals
 * ------------------------------------------------------------------------
 */

/* One entrypoint served by a worker. */
typedef struct PgqEntry
{
	char				*name;
	PgqHandler			 handler;
	void				*handler_arg;
	PgqExecutor			 executor;
	void				*executor_arg;
	PgqEntrypointOptions opts; /* on_failure points to on_failure below */
	char				*on_failure;
	double				 lease_s; /* resolved at each run start */
} PgqEntry;

/* Where a job is in its life inside the worker. */
typedef enum PgqSlotState
{
	PGQ_SLOT_QUEUED = 0, /* waiting for a pool thread */
	PGQ_SLOT_RUNNING,	 /* handler running */
	PGQ_SLOT_DONE		 /* handler returned, outcome not reported */
} PgqSlotState;

/* A dequeued job and its handler's outcome (the handler's PgqContext). */
struct PgqContext
{
	PgqWorker	   *worker;
	const PgqEntry *entry;
	PgqJob			job;
	char		   *strings; /* storage of job's strings */
	unsigned char  *payload; /* PQunescapeBytea result */

	atomic_bool	 cancelled;
	PgqSlotState state; /* under worker->lock */

	/* outcome, written by the pool thread before it hands the job back */
	PgqStatus status;
	bool	  exc_set; /* pgq_ctx_set_exception() was called */
	char	 *exc_type;
	char	 *exc_message;
	char	 *exc_traceback;
	double	  retry_delay;
	char	  finished_at[PGQ_TIMESTAMP_LEN];

	/* run loop only */
	double next_heartbeat; /* monotonic seconds */

	struct PgqContext *next;	 /* pool queue / done list */
	struct PgqContext *run_prev; /* run loop's list of held jobs */
	struct PgqContext *run_next;
};

/* The thread pool (worker_pool.c); one per run. */
typedef struct PgqPool PgqPool;

struct PgqWorker
{
	PgqWorkerOptions opts;
	char			*conninfo;

	PgqEntry *entries;
	int		  nentries;
	int		  maxentries;

	void *resources;
	void (*cleanup)(void *resources);

	/* stop request: set from any thread or a signal handler */
	atomic_int stop_requested; /* lock-free: async-signal-safe */
	int		   wake_rd;		   /* self-pipe, non-blocking, close-on-exec */
	int		   wake_wr;

	/* protects stats, done list and slot states */
	pthread_mutex_t lock;
	PgqWorkerStats	stats;
	PgqContext	   *done_head; /* finished jobs, oldest first */
	PgqContext	   *done_tail;

	pthread_mutex_t log_lock;

	bool running;			  /* inside pgq_worker_run() */
	char qm_id[PGQ_UUID_LEN]; /* queue_manager_id of the run */
	char error[PGQ_ERRMSG_LEN];
};

/* worker.c */
extern void pgq_worker_wake(PgqWorker *worker);
extern void pgq_worker_set_error(PgqWorker *worker, const char *fmt, ...) PGQ_PRINTF(2, 3);
extern void pgq_context_free(PgqContext *ctx);

/* log.c */
extern void		   pgq_log(PgqWorker *worker, PgqLogLevel level, const char *fmt, ...) PGQ_PRINTF(3, 4);
extern const char *pgq_log_level_name(PgqLogLevel level);

/* worker_pool.c */
extern PgqPool *pgq_pool_start(PgqWorker *worker, int max_threads);
extern bool		pgq_pool_submit(PgqPool *pool, PgqContext *ctx);
extern void		pgq_pool_stop(PgqPool *pool);

/* ------------------------------------------------------------------------
 * The state of one pgq_worker_run() (worker_run.c and friends)
 * ------------------------------------------------------------------------
 */
typedef struct PgqRun
{
	PgqWorker *worker;
	PGconn	  *conn;
	PgqPool	  *pool;
	int		   capacity;			/* most jobs held at once; PGQ_UNLIMITED:
									 * no cap */
	char	  *entrypoints_literal; /* text[] literal of the names */

	PgqContext *held_head; /* dequeued, outcome not yet reported */
	int			nheld;

	PgqContext *pending_head; /* finished, waiting for the flush */
	PgqContext *pending_tail;
	int			npending;
	int			flush_failures; /* consecutive failed flushes */

	bool   broken;		  /* the connection is lost */
	bool   set_up;		  /* pgq_run_setup() succeeded once */
	bool   failed;		  /* a non-transient SQL error */
	bool   can_probe;	  /* the queued-work probe works */
	double backoff_until; /* after a transient error: no SQL before */
	double rate_poll_s;	  /* poll period of rate-limited entrypoints */

	/* listener health check */
	char   health_id[PGQ_UUID_LEN];
	double health_sent; /* 0: no probe outstanding */
	double health_next;

	PgqBuf sql; /* scratch for array literals */
} PgqRun;

/*
 * The files of a run call each other in one direction only:
 * worker_run.c -> worker_outcomes.c -> worker_sql.c -> worker_held.c.
 */

/* worker_held.c */
extern void pgq_run_hold(PgqRun *run, PgqContext *ctx);
extern void pgq_run_release(PgqRun *run, PgqContext *ctx);

/* worker_sql.c */
extern bool		 pgq_run_setup(PgqRun *run);
extern int		 pgq_run_dequeue(PgqRun *run, int want);
extern bool		 pgq_run_send_dequeue(PgqRun *run, int want);
extern int		 pgq_run_take_jobs(PgqRun *run, PGresult *res, int want);
extern PGresult *pgq_run_last_result(PgqRun *run);
extern void		 pgq_run_heartbeat(PgqRun *run, double now);
extern double	 pgq_run_probe_queued(PgqRun *run);
extern void		 pgq_run_send_health_check(PgqRun *run, double now);
extern bool		 pgq_run_check_result(PgqRun *run, PGresult *res, const char *what);
extern int		 pgq_run_confirm_not_held(PgqRun *run, const int64_t *ids, int n,
										  bool *gone);

/* worker_outcomes.c */
extern void pgq_run_collect_done(PgqRun *run);
extern void pgq_run_flush_outcomes(PgqRun *run);
extern int	pgq_run_flush_and_dequeue(PgqRun *run, int want);

#pragma GCC visibility pop

#endif /* PGQ_INTERNAL_H */
