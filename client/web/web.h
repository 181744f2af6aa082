/*-------------------------------------------------------------------------
 *
 * web.h
 *		pgq web: the dashboard and Prometheus endpoint served by pgq.
 *
 * pgq web is an HTTP server on libmicrohttpd (one thread per connection,
 * bounded in number, so a slow client holds only its own thread).  Every
 * read and every action is a call of a pgqueuer.* SQL function made on a
 * small pool of libpq connections as the role pgq web connected with, so the
 * database's grants decide what works.  One more connection LISTENs on
 * ch_pgqueuer and wakes the pages' Server-Sent Event streams; notification
 * text is never passed on, a page only learns "something changed" and
 * fetches again.
 *
 * Files: cmd_web.c (options, start, stop), http.c (routing, limits,
 * security headers, sessions and CSRF), api.c (the JSON and /metrics
 * endpoints), dbpool.c (connections), events.c (LISTEN and SSE), assets.c
 * (the page, generated from assets/ at build time).
 *
 * IDENTIFICATION
 *		client/web/web.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_WEB_H
#define PGQ_WEB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pgq_internal.h"

/* Limits on what a client may send. */
#define WEB_MAX_URL		  2048		  /* bytes of path and query */
#define WEB_MAX_BODY	  4096		  /* bytes of a POST body */
#define WEB_MAX_IDS		  10000		  /* job ids in one action */
#define WEB_SESSION_BYTES 32		  /* random bytes of a session id */
#define WEB_MAX_SESSIONS  64		  /* logged-in browsers at once */
#define WEB_SESSION_TTL	  (12 * 3600) /* seconds a session lives */

/* ---- dbpool.c ---- */

typedef struct WebPool WebPool;

/*
 * A pool of up to size connections to conninfo (NULL or "": libpq's
 * environment), made on demand with a connect timeout of timeout_s seconds.
 */
extern WebPool *web_pool_new(const char *conninfo, int size, int timeout_s);

/*
 * Borrow a connection, waiting while all are in use.  Returns NULL when no
 * connection could be made, with libpq's reason in err (errlen bytes).
 */
extern PGconn *web_pool_get(WebPool *pool, char *err, size_t errlen);

/* Give a borrowed connection back; a broken one is closed and forgotten. */
extern void web_pool_put(WebPool *pool, PGconn *conn);

/* Close every connection (none may be borrowed). */
extern void web_pool_free(WebPool *pool);

/* ---- events.c ---- */

typedef struct WebEvents WebEvents;

/*
 * Start the thread that LISTENs on ch_pgqueuer over its own connection to
 * conninfo and reconnects with backoff when the connection is lost.
 */
extern WebEvents *web_events_start(const char *conninfo, int timeout_s);

/*
 * Stop the thread and wake every stream so that it ends; waiting streams
 * then return false from web_events_wait().
 */
extern void web_events_stop(WebEvents *events);

/* Free a stopped WebEvents (once no stream can use it any more). */
extern void web_events_free(WebEvents *events);

/*
 * Wait until a notification newer than *seen arrives, the listener's
 * connection state changes, or timeout_ms passes.  Returns the current
 * generation in *seen and whether the listener is connected in *db_ok;
 * the return value is false once web_events_stop() was called.
 */
extern bool web_events_wait(WebEvents *events, uint64_t *seen, bool *db_ok,
							int timeout_ms);

/* ---- http.c ---- */

typedef struct WebConfig
{
	const char *host;			 /* address to bind, numeric */
	int			port;			 /* TCP port */
	const char *conninfo;		 /* libpq connection string, or NULL */
	const char *token;			 /* secret for actions, or NULL: read-only */
	int			pool_size;		 /* database connections for requests */
	int			max_clients;	 /* HTTP connections at once */
	int			connect_timeout; /* seconds */
} WebConfig;

typedef struct WebServer WebServer;

/*
 * Start serving; returns NULL (with the reason on stderr) when the address
 * cannot be bound or a part cannot start.
 */
extern WebServer *web_server_start(const WebConfig *config);

/* Stop serving: end the streams, wait for the connections, free all. */
extern void web_server_stop(WebServer *server);

/* ---- api.c ---- */

/* What an endpoint hands back to http.c. */
typedef struct WebReply
{
	int			status; /* HTTP status */
	const char *content_type;
	PgqBuf		body;
} WebReply;

/* A request's arguments: query string values, by name. */
typedef const char *(*WebArgFn)(void *request, const char *name);

/* Read endpoints: GET /api/... and GET /metrics. */
extern void web_api_get(WebPool *pool, const char *path, WebArgFn arg,
						void *request, WebReply *reply);

/* Action endpoints: POST /api/... (caller checked session and CSRF). */
extern void web_api_post(WebPool *pool, const char *path, WebArgFn arg,
						 void *request, WebReply *reply);

/* Set reply to a JSON error {"error": message} with the given status. */
extern void web_reply_error(WebReply *reply, int status, const char *message);

/* ---- assets.c (generated) ---- */

typedef struct WebAsset
{
	const char			*name; /* file name under assets/ */
	const char			*content_type;
	const unsigned char *data;
	size_t				 size;
} WebAsset;

/* The asset called name, or NULL. */
extern const WebAsset *web_asset(const char *name);

#endif /* PGQ_WEB_H */
