/*-------------------------------------------------------------------------
 *
 * events.c
 *		LISTEN on ch_pgqueuer for pgq web and wake the pages' event streams.
 *
 * One thread holds one connection that LISTENs.  Each notification only
 * bumps a generation counter: its text comes from any role that can
 * connect, so it is never passed on or parsed; a page that sees the
 * counter move fetches fresh figures through the SQL functions.  When the
 * connection is lost the thread marks the database as unreachable (the
 * pages show a banner), and reconnects with backoff from 0.5 s to 10 s.
 *
 * IDENTIFICATION
 *		client/web/events.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "web.h"

struct WebEvents
{
	pthread_t		thread;
	pthread_mutex_t lock;
	pthread_cond_t	changed;
	uint64_t		generation; /* bumped per notification or state change */
	bool			db_ok;
	bool			stopping;
	char		   *conninfo;
	int				timeout_s;
	int				stop_pipe[2]; /* wakes the thread's poll() on stop */
};

/* bump: record a change and wake every waiting stream */
static void
bump(WebEvents *ev, int db_ok)
{
	pthread_mutex_lock(&ev->lock);
	ev->generation++;
	if (db_ok >= 0)
		ev->db_ok = db_ok != 0;
	pthread_cond_broadcast(&ev->changed);
	pthread_mutex_unlock(&ev->lock);
}

static bool
stopping(WebEvents *ev)
{
	bool s;

	pthread_mutex_lock(&ev->lock);
	s = ev->stopping;
	pthread_mutex_unlock(&ev->lock);
	return s;
}

/*
 * listen_conn
 *		A connection that LISTENs on ch_pgqueuer, or NULL.
 */
static PGconn *
listen_conn(WebEvents *ev)
{
	char		timeout[16];
	const char *keywords[] = {"connect_timeout", "fallback_application_name",
							  "dbname", NULL};
	const char *values[] = {timeout, "pgq web listener", ev->conninfo, NULL};
	PGconn	   *conn;
	PGresult   *res;

	snprintf(timeout, sizeof(timeout), "%d", ev->timeout_s);
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		PQfinish(conn);
		return NULL;
	}
	res = PQexec(conn, "LISTEN " PGQ_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/*
 * serve
 *		Wait for notifications on conn until it breaks or stop is asked.
 */
static void
serve(WebEvents *ev, PGconn *conn)
{
	struct pollfd fds[2];

	fds[0].fd = PQsocket(conn);
	fds[0].events = POLLIN;
	fds[1].fd = ev->stop_pipe[0];
	fds[1].events = POLLIN;
	while (!stopping(ev))
	{
		PGnotify *n;
		bool	  any = false;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return;
		if (fds[1].revents)
			return;
		if (!PQconsumeInput(conn))
			return;
		while ((n = PQnotifies(conn)) != NULL)
		{
			any = true;
			PQfreemem(n);
		}
		if (any)
			bump(ev, -1);
		if (PQstatus(conn) != CONNECTION_OK)
			return;
	}
}

/* sleep_ms: sleep unless stop is asked first */
static void
sleep_ms(WebEvents *ev, int ms)
{
	struct pollfd fd = {.fd = ev->stop_pipe[0], .events = POLLIN};

	(void) poll(&fd, 1, ms);
}

static void *
events_main(void *arg)
{
	WebEvents *ev = arg;
	int		   backoff = 500;

	while (!stopping(ev))
	{
		PGconn *conn = listen_conn(ev);

		if (conn != NULL)
		{
			backoff = 500;
			bump(ev, 1);
			serve(ev, conn);
			PQfinish(conn);
			if (stopping(ev))
				break;
		}
		bump(ev, 0);
		sleep_ms(ev, backoff);
		backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
	}
	return NULL;
}

WebEvents *
web_events_start(const char *conninfo, int timeout_s)
{
	WebEvents *ev = calloc(1, sizeof(WebEvents));

	if (ev == NULL)
		return NULL;
	ev->conninfo = strdup(conninfo ? conninfo : "");
	if (ev->conninfo == NULL || pipe(ev->stop_pipe) != 0)
	{
		free(ev->conninfo);
		free(ev);
		return NULL;
	}
	ev->timeout_s = timeout_s;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->changed, NULL);
	if (pthread_create(&ev->thread, NULL, events_main, ev) != 0)
	{
		close(ev->stop_pipe[0]);
		close(ev->stop_pipe[1]);
		free(ev->conninfo);
		free(ev);
		return NULL;
	}
	return ev;
}

void
web_events_stop(WebEvents *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->stopping = true;
	pthread_cond_broadcast(&ev->changed);
	pthread_mutex_unlock(&ev->lock);
	if (write(ev->stop_pipe[1], "x", 1) < 0)
	{
		/* the thread then notices at its next wake-up */
	}
	pthread_join(ev->thread, NULL);
}

void
web_events_free(WebEvents *ev)
{
	if (ev == NULL)
		return;
	close(ev->stop_pipe[0]);
	close(ev->stop_pipe[1]);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->changed);
	free(ev->conninfo);
	free(ev);
}

bool
web_events_wait(WebEvents *ev, uint64_t *seen, bool *db_ok, int timeout_ms)
{
	struct timespec deadline;
	bool			alive;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ev->lock);
	while (!ev->stopping && ev->generation == *seen)
	{
		if (pthread_cond_timedwait(&ev->changed, &ev->lock, &deadline) == ETIMEDOUT)
			break;
	}
	*seen = ev->generation;
	*db_ok = ev->db_ok;
	alive = !ev->stopping;
	pthread_mutex_unlock(&ev->lock);
	return alive;
}
