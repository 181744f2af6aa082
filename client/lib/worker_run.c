/*-------------------------------------------------------------------------
 *
 * worker_run.c
 *		pgq_worker_run(): PgQueuer's QueueManager loop on one connection.
 *
 * The calling thread owns the worker's libpq connection and runs an event
 * loop; handlers run on the pool threads (worker_pool.c).  Each turn:
 *
 *	1. read notifications: a table_changed_event means "there may be work"
 *	   (unless it says "jobs": 0 and "entrypoints": [], an announcement
 *	   of outcomes for completion watchers),
 *	   a cancellation_event sets the cancelled flag of the jobs it names
 *	   once the server confirms that this worker no longer holds them (a
 *	   notification is only a hint: anyone may send one), a
 *	   health_check_event answers our listener probe;
 *	2. collect the jobs the pool finished; their outcomes are pending;
 *	3. heartbeat all running jobs when the first of them reaches half its
 *	   lease;
 *	4. unless stopping, dequeue as many jobs as there are free slots (at
 *	   most batch_size; a finished job's slot counts as free) when there
 *	   may be work: at start, after a notification, after the safety-net
 *	   timeout, or while the previous dequeue came back full.  The pending
 *	   outcomes go in the same round trip and transaction: complete() and
 *	   dequeue() in one libpq pipeline (worker_outcomes.c);
 *	5. report the outcomes no dequeue carried: one complete() call, plus
 *	   one retry() per PGQ_RETRY;
 *	6. wait with poll() on the connection's socket and the worker's
 *	   self-pipe (stop requests, finished jobs) until the next timer: the
 *	   next safety-net poll or the next heartbeat.
 *
 * Stopping (pgq_worker_stop, or a fatal SQL error) ends dequeuing; the
 * loop keeps heartbeating, reporting and listening for cancellations until
 * the last running handler returned.
 *
 * A lost connection, with reconnect_max_delay_s set, leaves the handlers
 * running: the loop connects again with the same queue_manager_id (back-
 * off from 0.1 s, doubling up to reconnect_max_delay_s), heartbeats every
 * held job at once, and reports the outcomes that finished meanwhile; the
 * server's fencing accepts those of jobs still held and refuses the others
 * (logged).  Jobs found no longer held while their handlers run (lease
 * expired during the outage, or cancelled while the cancellation_event
 * could not reach us) get their cancelled flag.  Without it, or when a
 * stop was requested and reconnecting keeps failing after the last
 * handler returned, the loop tells every running handler (cancelled flag),
 * waits for them and returns; their jobs come back when their leases
 * expire.
 *
 * Drain mode ends the run when a dequeue comes back empty, nothing runs or
 * waits to be reported, and no queued job of ours remains (a job retried
 * with a backoff, or deferred, keeps the run alive, as in PgQueuer).
 *
 * IDENTIFICATION
 *		client/lib/worker_run.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgq_internal.h"

#define HEALTH_INTERVAL_S		10.0 /* PgQueuer's listener probe period */
#define HEALTH_TIMEOUT_S		10.0 /* and how long the echo may take */
#define BLOCKED_POLL_S			0.25 /* drain: work exists but is not handed out */
#define RECONNECT_FIRST_DELAY_S 0.1	 /* before the first reconnection attempt */
#define RECONNECT_STOP_ATTEMPTS 5	 /* failed attempts once stopping and idle */

/* drain_wake_pipe: empty the self-pipe (its bytes only mean "wake up") */
static void
drain_wake_pipe(PgqWorker *worker)
{
	char buf[256];

	while (read(worker->wake_rd, buf, sizeof(buf)) > 0)
		;
}

/*
 * A turn's cancellation candidates: held jobs named by cancellation_event
 * notifications, confirmed with the server before anything is cancelled.
 */
typedef struct CancelList
{
	int64_t *ids;
	int		*senders; /* backend PID of the notifying session */
	int		 n;
	int		 cap;
} CancelList;

/*
 * note_cancellation
 *		Remember the ids of a cancellation_event that name jobs this worker
 *		holds and has not cancelled yet, with the backend PID of the session
 *		that sent it (for the warning about a forged one).  Ids we do not
 *		hold are someone else's.  False when out of memory.
 */
static bool
note_cancellation(PgqRun *run, CancelList *list, const int64_t *ids, int nids,
				  int sender)
{
	for (int i = 0; i < nids; i++)
	{
		bool wanted = false;

		for (PgqContext *c = run->held_head; c && !wanted; c = c->run_next)
			wanted = c->job.id == ids[i] && !atomic_load(&c->cancelled);
		for (int j = 0; j < list->n && wanted; j++)
			wanted = list->ids[j] != ids[i];
		if (!wanted)
			continue;
		if (list->n == list->cap)
		{
			int		 cap = list->cap ? list->cap * 2 : 16;
			int64_t *grown = realloc(list->ids, sizeof(int64_t) * (size_t) cap);
			int		*grown_senders;

			if (grown == NULL)
				return false;
			list->ids = grown;
			grown_senders = realloc(list->senders, sizeof(int) * (size_t) cap);
			if (grown_senders == NULL)
				return false;
			list->senders = grown_senders;
			list->cap = cap;
		}
		list->senders[list->n] = sender;
		list->ids[list->n++] = ids[i];
	}
	return true;
}

/*
 * cancel_jobs
 *		Cancel the candidate jobs the server confirms: set their cancelled
 *		flag so that their handlers can return early.  A notification is
 *		only a hint -- any role that can connect may NOTIFY on the channel
 *		-- so a job the server says this worker still holds keeps running,
 *		with a warning.  When the check fails nothing is cancelled.
 */
static void
cancel_jobs(PgqRun *run, const CancelList *list)
{
	PgqWorker *worker = run->worker;
	bool	  *gone;

	if (list->n == 0)
		return;
	gone = calloc((size_t) list->n, sizeof(bool));
	if (gone == NULL)
		return;
	if (pgq_run_confirm_not_held(run, list->ids, list->n, gone) < 0)
	{
		free(gone);
		return;
	}
	for (int i = 0; i < list->n; i++)
	{
		for (PgqContext *c = run->held_head; c; c = c->run_next)
		{
			bool reached = false;

			if (c->job.id != list->ids[i])
				continue;
			if (!gone[i])
			{
				pgq_log(worker, PGQ_LOG_WARNING,
						"ignored a cancellation_event for job %lld (%s) sent by backend PID %d: the server says this worker still holds it",
						(long long) c->job.id, c->entry->name, list->senders[i]);
				break;
			}
			pthread_mutex_lock(&worker->lock);
			if (!atomic_load(&c->cancelled))
			{
				atomic_store(&c->cancelled, true);
				if (c->state != PGQ_SLOT_DONE)
				{
					worker->stats.cancelled++;
					reached = true;
				}
			}
			pthread_mutex_unlock(&worker->lock);
			if (reached)
				pgq_log(worker, PGQ_LOG_INFO, "job %lld (%s) cancelled",
						(long long) c->job.id, c->entry->name);
			break;
		}
	}
	free(gone);
}

/*
 * log_unparseable
 *		Warn about a notification that is not a JSON object, its text
 *		escaped and cut short: anyone may send one, and it must not forge
 *		log lines or reach a terminal as control sequences.
 */
static void
log_unparseable(PgqWorker *worker, const char *payload)
{
	PgqBuf text;

	pgq_buf_init(&text);
	pgq_buf_escaped(&text, payload, PGQ_LOG_TEXT_MAX, true);
	pgq_log(worker, PGQ_LOG_WARNING, "unparseable notification on %s: %s",
			PGQ_CHANNEL, text.oom ? "(out of memory)" : text.data);
	pgq_buf_free(&text);
}

/*
 * handle_notifications
 *		Read what arrived on the connection and act on every notification.
 *		Returns the number of notifications handled, or -1 when the
 *		connection is lost.
 */
static int
handle_notifications(PgqRun *run, bool *want_dequeue)
{
	PgqWorker *worker = run->worker;
	PGnotify  *n;
	int		   count = 0;
	CancelList cancels = {0};

	if (!PQconsumeInput(run->conn) || PQstatus(run->conn) == CONNECTION_BAD)
	{
		char msg[PGQ_ERRMSG_LEN];

		pgq_copy_pq_error(msg, sizeof(msg), run->conn, NULL);
		pgq_worker_set_error(worker, "connection to the server lost: %s", msg);
		run->broken = true;
		return -1;
	}
	while ((n = PQnotifies(run->conn)) != NULL)
	{
		PgqEvent event;

		count++;
		if (strcmp(n->relname, PGQ_CHANNEL) != 0)
		{
			PQfreemem(n);
			continue;
		}
		if (!pgq_event_parse(n->extra, &event))
		{
			/* unknown writers: treat as a wake-up, the dequeue decides */
			log_unparseable(worker, n->extra);
			*want_dequeue = true;
		}
		else if (strcmp(event.type, "cancellation_event") == 0)
		{
			if (!note_cancellation(run, &cancels, event.ids, event.nids, n->be_pid))
				pgq_log(worker, PGQ_LOG_ERROR, "out of memory: a cancellation_event was not handled");
		}
		else if (strcmp(event.type, "health_check_event") == 0)
		{
			if (run->health_sent > 0 && strcmp(event.id, run->health_id) == 0)
			{
				pgq_log(worker, PGQ_LOG_DEBUG, "listener health check: answered in %.1f ms",
						(pgq_now() - run->health_sent) * 1000);
				run->health_sent = 0;
			}
		}
		else if (event.jobs != 0 || !event.no_entrypoints)
			*want_dequeue = true; /* table_changed_event and the like */
		/* "jobs": 0 with "entrypoints": [] announces only outcomes */
		pgq_event_free(&event);
		PQfreemem(n);
	}
	cancel_jobs(run, &cancels);
	free(cancels.ids);
	free(cancels.senders);
	return run->broken ? -1 : count;
}

/*
 * wait_for_events
 *		Sleep until the socket or the self-pipe is readable, or until
 *		deadline (monotonic seconds; INFINITY: no timer).  False when the
 *		connection is lost.
 */
static bool
wait_for_events(PgqRun *run, double deadline)
{
	struct pollfd fds[2];
	int			  timeout_ms = -1;
	int			  sock = PQsocket(run->conn);

	if (sock < 0)
	{
		pgq_worker_set_error(run->worker, "connection to the server lost: no socket");
		run->broken = true;
		return false;
	}
	if (isfinite(deadline))
	{
		double wait_s = deadline - pgq_now();

		timeout_ms = wait_s <= 0 ? 0 : (int) fmin(ceil(wait_s * 1000), 24 * 3600 * 1000.0);
	}
	fds[0].fd = sock;
	fds[0].events = POLLIN;
	fds[1].fd = run->worker->wake_rd;
	fds[1].events = POLLIN;
	if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR)
		pgq_log(run->worker, PGQ_LOG_WARNING, "poll failed: %s", strerror(errno));
	return true;
}

/*
 * abandon
 *		The connection is lost: tell every running handler (cancelled flag),
 *		wait until all returned, and forget their outcomes (the jobs come
 *		back when their leases expire).
 */
static void
abandon(PgqRun *run)
{
	PgqWorker *worker = run->worker;
	int		   running = run->nheld - run->npending;

	pgq_log(worker, PGQ_LOG_ERROR, "%s", worker->error);
	if (run->nheld > 0)
		pgq_log(worker, PGQ_LOG_WARNING,
				"abandoning %d job%s (%d running, told to stop); they return to the queue when their leases expire",
				run->nheld, run->nheld == 1 ? "" : "s", running);
	for (PgqContext *c = run->held_head; c; c = c->run_next)
		atomic_store(&c->cancelled, true);
	while (run->pending_head)
	{
		PgqContext *c = run->pending_head;

		run->pending_head = c->next;
		pgq_run_release(run, c);
	}
	run->pending_tail = NULL;
	run->npending = 0;
	for (;;)
	{
		struct pollfd fd = {.fd = worker->wake_rd, .events = POLLIN};

		drain_wake_pipe(worker);
		pgq_run_collect_done(run); /* all cancelled: released */
		if (run->nheld == 0)
			break;
		if (poll(&fd, 1, -1) < 0 && errno != EINTR)
			break;
	}
}

/*
 * running
 *		Held jobs whose handlers have not finished.  A finished job whose
 *		outcome is pending still holds its slot until the outcome is sent,
 *		but that happens in the same round trip as the next dequeue.
 */
static int
running(const PgqRun *run)
{
	return run->nheld - run->npending;
}

/*
 * min_dequeue
 *		The fewest free slots worth a dequeue: one when nothing runs, else
 *		half a batch (capped by the capacity), so that steady traffic is
 *		claimed in batches.
 */
static int
min_dequeue(const PgqRun *run)
{
	int batch = run->worker->opts.batch_size;

	if (running(run) == 0)
		return 1;
	if (batch > run->capacity)
		batch = run->capacity;
	return batch / 2 > 1 ? batch / 2 : 1;
}

/*
 * log_stopping
 *		The INFO line of the start of a graceful stop.
 */
static void
log_stopping(PgqRun *run)
{
	if (run->nheld > 0)
		pgq_log(run->worker, PGQ_LOG_INFO, "stopping: waiting for %d job%s to finish",
				run->nheld, run->nheld == 1 ? "" : "s");
	else
		pgq_log(run->worker, PGQ_LOG_INFO, "stopping");
}

/*
 * reconnect
 *		The connection is lost and reconnect_max_delay_s is set: keep the
 *		handlers running, collect those that finish (their outcomes wait),
 *		and connect again with the same queue_manager_id, waiting
 *		RECONNECT_FIRST_DELAY_S before the first attempt and doubling the
 *		wait up to reconnect_max_delay_s.  A stop request met meanwhile
 *		sets *stopping.  Returns true once connected again, with every held
 *		job due for a heartbeat; false when giving up: stopping, no handler
 *		running, and RECONNECT_STOP_ATTEMPTS attempts failed since.
 */
static bool
reconnect(PgqRun *run, bool *stopping)
{
	PgqWorker *worker = run->worker;
	double	   cap = worker->opts.reconnect_max_delay_s;
	double	   delay = fmin(RECONNECT_FIRST_DELAY_S, cap);
	double	   since = pgq_now();
	int		   idle_failures = 0;

	pgq_log(worker, PGQ_LOG_WARNING,
			"%s; reconnecting as worker %s (%d job%s held: %d running, %d outcome%s to report)",
			worker->error, worker->qm_id, run->nheld, run->nheld == 1 ? "" : "s",
			running(run), run->npending, run->npending == 1 ? "" : "s");
	PQfinish(run->conn);
	run->conn = NULL;
	for (;;)
	{
		double until = pgq_now() + delay;
		double left;

		/* wait out the delay; collect finished handlers meanwhile */
		for (;;)
		{
			struct pollfd fd = {.fd = worker->wake_rd, .events = POLLIN};

			drain_wake_pipe(worker);
			pgq_run_collect_done(run);
			if (!*stopping && atomic_load(&worker->stop_requested))
			{
				*stopping = true;
				log_stopping(run);
			}
			left = until - pgq_now();
			if (left <= 0)
				break;
			if (poll(&fd, 1, (int) ceil(left * 1000)) < 0 && errno != EINTR)
				break;
		}

		if (pgq_run_setup(run))
			break;
		pgq_log(worker, PGQ_LOG_WARNING, "could not reconnect: %s", worker->error);
		PQfinish(run->conn);
		run->conn = NULL;
		if (*stopping && running(run) == 0 && ++idle_failures >= RECONNECT_STOP_ATTEMPTS)
		{
			pgq_worker_set_error(worker, "connection to the server lost; stopping after %d failed reconnection attempts",
								 idle_failures);
			return false;
		}
		delay = fmin(delay * 2, cap);
	}

	run->broken = false;
	run->backoff_until = 0;
	run->flush_failures = 0;
	run->health_sent = 0;
	run->health_next = pgq_now() + HEALTH_INTERVAL_S;
	for (PgqContext *c = run->held_head; c; c = c->run_next)
		c->next_heartbeat = 0;
	pgq_log(worker, PGQ_LOG_INFO,
			"reconnected as worker %s after %.1f s (%d job%s held: %d running, %d outcome%s to report)",
			worker->qm_id, pgq_now() - since, run->nheld, run->nheld == 1 ? "" : "s",
			running(run), run->npending, run->npending == 1 ? "" : "s");
	return true;
}

/*
 * next_deadline
 *		The earliest timer of the loop: the next dequeue poll (when not
 *		stopping), the next heartbeat, the health check, a back-off.
 */
static double
next_deadline(PgqRun *run, bool stopping, bool want_dequeue, double next_poll,
			  bool health)
{
	double deadline = INFINITY;

	if (!stopping)
	{
		if (want_dequeue && run->capacity - running(run) >= min_dequeue(run))
			deadline = fmax(run->backoff_until, 0);
		else
			deadline = next_poll;
		if (health)
			deadline = fmin(deadline, run->health_sent > 0 ?
										  run->health_sent + HEALTH_TIMEOUT_S :
										  run->health_next);
	}
	for (PgqContext *c = run->held_head; c; c = c->run_next)
		if (!atomic_load(&c->cancelled))
			deadline = fmin(deadline, c->next_heartbeat);
	if (run->npending > 0)
		deadline = fmin(deadline, run->backoff_until);
	return deadline;
}

/*
 * check_listener_health
 *		The listener health check of shutdown_on_listener_failure: fail the
 *		run when the last health_check_event did not come back in time,
 *		send the next when it is due.  Returns 1 when the check failed
 *		(run->failed set), -1 when the connection broke, else 0.
 */
static int
check_listener_health(PgqRun *run, double now)
{
	PgqWorker *worker = run->worker;

	if (run->health_sent > 0 && now - run->health_sent > HEALTH_TIMEOUT_S)
	{
		pgq_worker_set_error(worker,
							 "listener health check failed: no health_check_event came back on %s within %.0f s",
							 PGQ_CHANNEL, HEALTH_TIMEOUT_S);
		pgq_log(worker, PGQ_LOG_ERROR, "%s; shutting down", worker->error);
		run->failed = true;
		return 1;
	}
	if (run->health_sent == 0 && now >= run->health_next)
	{
		pgq_run_send_health_check(run, now);
		run->health_next = now + HEALTH_INTERVAL_S;
		if (run->broken)
			return -1;
	}
	return 0;
}

/*
 * run_loop
 *		The event loop (see the file header).  Returns why it ended.
 *
 * Long because each pass is one ordered sequence (notifications, stop,
 * health, heartbeats, dequeue and the drain probe, outcomes, wait) whose
 * steps share the loop's state (stopping, want_dequeue, next_poll) and
 * leave by continue, break or the one reconnection path at "lost"; in
 * separate functions each of those exits would become a returned code to
 * dispatch on again.
 */
static PgqRunResult
run_loop(PgqRun *run)
{
	PgqWorker			   *worker = run->worker;
	const PgqWorkerOptions *o = &worker->opts;
	bool					drain = (o->mode == PGQ_MODE_DRAIN);
	bool					health = o->shutdown_on_listener_failure && !drain;
	bool					stopping = false;
	bool					want_dequeue = true;
	double					next_poll = 0;
	PgqRunResult			result = PGQ_RUN_STOPPED;

	run->health_next = pgq_now() + HEALTH_INTERVAL_S;
	for (;;)
	{
		int	   held_before = run->nheld;
		double now;

		drain_wake_pipe(worker);
		if (handle_notifications(run, &want_dequeue) < 0)
			goto lost;
		pgq_run_collect_done(run);
		/* drain: the last job finished, look again */
		if (drain && held_before > 0 && running(run) == 0)
			want_dequeue = true;

		if (!stopping && (atomic_load(&worker->stop_requested) || run->failed))
		{
			stopping = true;
			if (run->failed)
				result = PGQ_RUN_ERROR;
			log_stopping(run);
		}

		now = pgq_now();
		if (health && !stopping)
		{
			int checked = check_listener_health(run, now);

			if (checked < 0)
				goto lost;
			if (checked > 0)
				continue;
		}

		/* before dequeuing: a stream of full batches must not starve it */
		if (run->nheld > 0 && now >= run->backoff_until)
		{
			pgq_run_heartbeat(run, now);
			if (run->broken)
				goto lost;
		}

		if (!stopping && now >= next_poll)
			want_dequeue = true;
		/*
		 * While jobs run, wait until half a batch of slots is free: a
		 * notification per enqueue must not turn into a dequeue round trip
		 * per finished job.
		 */
		if (!stopping && want_dequeue &&
			run->capacity - running(run) >= min_dequeue(run) &&
			now >= run->backoff_until)
		{
			int ask = run->capacity - running(run);
			int got;

			if (ask > o->batch_size)
				ask = o->batch_size;
			/* the pending outcomes go in the same round trip */
			got = pgq_run_flush_and_dequeue(run, ask);
			if (run->broken)
				goto lost;
			if (got < 0)
				continue; /* failed: stop; transient: back off */
			now = pgq_now();
			next_poll = now + o->dequeue_timeout_s;
			want_dequeue = (got == ask);

			if (got < ask &&
				((drain && run->nheld == 0 && run->npending == 0) || run->rate_poll_s > 0))
			{
				double eta = pgq_run_probe_queued(run);

				if (run->broken)
					goto lost;
				if (isnan(eta))
				{
					if (drain && run->nheld == 0 && run->npending == 0)
					{
						pgq_log(worker, PGQ_LOG_INFO, "drained: no job left");
						result = PGQ_RUN_DRAINED;
						break;
					}
				}
				else if (eta <= 0)
					next_poll = now + (run->rate_poll_s > 0 ? run->rate_poll_s : BLOCKED_POLL_S);
				else
					next_poll = now + fmin(eta, o->dequeue_timeout_s);
			}
			if (want_dequeue)
				continue; /* a full batch: more may be waiting */
		}

		/* outcomes that no dequeue carried */
		pgq_run_flush_outcomes(run);
		if (run->broken)
			goto lost;
		if (stopping && run->nheld == 0)
			break;

		/* notifications read along with query results are already here */
		if (handle_notifications(run, &want_dequeue) != 0)
		{
			if (run->broken)
				goto lost;
			continue;
		}
		if (wait_for_events(run, next_deadline(run, stopping, want_dequeue,
											   next_poll, health)))
			continue;

lost:
		if (o->reconnect_max_delay_s > 0 && reconnect(run, &stopping))
		{
			want_dequeue = !stopping;
			next_poll = 0;
			continue;
		}
		abandon(run);
		return PGQ_RUN_CONNECTION_LOST;
	}
	return result;
}

/*
 * log_started
 *		The INFO line of a run's start: entrypoints, batch size, cap.
 */
static void
log_started(PgqRun *run)
{
	const PgqWorkerOptions *o = &run->worker->opts;
	char					cap[32];

	if (run->capacity == PGQ_UNLIMITED)
		snprintf(cap, sizeof(cap), "no cap on");
	else
		snprintf(cap, sizeof(cap), "at most %d", run->capacity);
	pgq_log(run->worker, PGQ_LOG_INFO,
			"worker %s started: entrypoints %s, batch size %d, %s jobs at once, %s mode",
			run->worker->qm_id, run->entrypoints_literal, o->batch_size, cap,
			o->mode == PGQ_MODE_DRAIN ? "drain" : "continuous");
}

/*
 * entrypoints_literal
 *		The worker's entrypoint names as a text[] literal; NULL when out of
 *		memory.
 */
static char *
entrypoints_literal(PgqWorker *worker)
{
	PgqBuf buf;

	pgq_buf_init(&buf);
	pgq_buf_putc(&buf, '{');
	for (int i = 0; i < worker->nentries; i++)
	{
		if (i > 0)
			pgq_buf_putc(&buf, ',');
		pgq_buf_array_elem(&buf, worker->entries[i].name);
	}
	pgq_buf_putc(&buf, '}');
	if (buf.oom)
	{
		pgq_buf_free(&buf);
		return NULL;
	}
	return buf.data;
}

static const char *
result_name(PgqRunResult result)
{
	switch (result)
	{
		case PGQ_RUN_STOPPED:
			return "stopped";
		case PGQ_RUN_DRAINED:
			return "drained";
		case PGQ_RUN_CONNECTION_LOST:
			return "connection lost";
		case PGQ_RUN_ERROR:
			return "error";
	}
	return "?";
}

PgqRunResult
pgq_worker_run(PgqWorker *worker)
{
	PgqRun					run;
	PgqRunResult			result = PGQ_RUN_ERROR;
	PgqWorkerStats			st;
	const PgqWorkerOptions *o = &worker->opts;

	if (worker->running)
	{
		pgq_worker_set_error(worker, "pgq_worker_run() is already running on this worker");
		return PGQ_RUN_ERROR;
	}
	worker->error[0] = '\0';
	if (worker->nentries == 0)
	{
		pgq_worker_set_error(worker, "no entrypoints: add one with pgq_worker_add_entrypoint()");
		return PGQ_RUN_ERROR;
	}
	if (atomic_load(&worker->stop_requested))
	{
		pgq_log(worker, PGQ_LOG_INFO, "stop requested before the start: not running");
		return PGQ_RUN_STOPPED;
	}
	if (!pgq_random_uuid(worker->qm_id))
	{
		pgq_worker_set_error(worker, "could not read /dev/urandom for the queue_manager_id");
		return PGQ_RUN_ERROR;
	}

	memset(&run, 0, sizeof(run));
	run.worker = worker;
	/* no cap by default, as PgQueuer's max_concurrent_tasks = None */
	run.capacity = o->max_concurrent_tasks > 0 ? o->max_concurrent_tasks : PGQ_UNLIMITED;
	pgq_buf_init(&run.sql);
	run.entrypoints_literal = entrypoints_literal(worker);
	if (run.entrypoints_literal == NULL)
	{
		pgq_worker_set_error(worker, "out of memory");
		return PGQ_RUN_ERROR;
	}
	worker->running = true;
	drain_wake_pipe(worker);

	if (!pgq_run_setup(&run))
	{
		/* a stop while connecting is a stop, not a failure */
		if (atomic_load(&worker->stop_requested))
			result = PGQ_RUN_STOPPED;
		pgq_log(worker, result == PGQ_RUN_STOPPED ? PGQ_LOG_INFO : PGQ_LOG_ERROR,
				"%s", worker->error);
	}
	else if ((run.pool = pgq_pool_start(worker, run.capacity)) == NULL)
	{
		pgq_worker_set_error(worker, "out of memory");
		pgq_log(worker, PGQ_LOG_ERROR, "%s", worker->error);
	}
	else
	{
		log_started(&run);
		result = run_loop(&run);
		pgq_pool_stop(run.pool);
	}

	PQfinish(run.conn);
	free(run.entrypoints_literal);
	pgq_buf_free(&run.sql);
	worker->running = false;

	pgq_worker_stats(worker, &st);
	pgq_log(worker, result == PGQ_RUN_STOPPED || result == PGQ_RUN_DRAINED ? PGQ_LOG_INFO : PGQ_LOG_WARNING,
			"worker %s finished (%s): dequeued %lld, successful %lld, exception %lld, retried %lld, held %lld, cancelled %lld",
			worker->qm_id, result_name(result), (long long) st.dequeued,
			(long long) st.successful, (long long) st.exception,
			(long long) st.retried, (long long) st.held, (long long) st.cancelled);
	return result;
}
