/*-------------------------------------------------------------------------
 *
 * http.c
 *		pgq web's HTTP side: libmicrohttpd daemon, routing, request limits,
 *		security headers, sessions and CSRF.
 *
 * Routes:
 *	GET  /, /jobs, /job, /failed, /entrypoints, /schedules	the page
 *	GET  /static/NAME				the page's script, style and icon
 *	GET  /api/...,  /metrics		reads (api.c), no login needed
 *	GET  /api/session				whether actions are possible, the CSRF token
 *	GET  /events					Server-Sent Events: "change" per notification
 *	POST /api/login, /api/logout	token -> session cookie
 *	POST /api/<action>				actions (api.c)
 * Anything else is 404; other methods 405; a request line or body over the
 * limits of web.h, a body on a GET, or a malformed argument 400.
 *
 * Actions need the token given at start (--token-file or PGQ_WEB_TOKEN):
 * either as "Authorization: Bearer TOKEN" (scripts) or as a session made by
 * POST /api/login, whose cookie is HttpOnly and SameSite=Strict, plus the
 * session's CSRF token in the X-CSRF-Token header.  Without a token pgq web
 * is read-only.  Every response forbids framing, sniffing and any script,
 * style or connection not from pgq web itself (Content-Security-Policy).
 *
 * IDENTIFICATION
 *		client/web/http.c
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "web.h"

#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
			"img-src 'self' data:; connect-src 'self'; form-action 'self'; " \
			"base-uri 'none'; frame-ancestors 'none'"

typedef struct WebSession
{
	bool   used;
	time_t expires;
	char   id[2 * WEB_SESSION_BYTES + 1];
	char   csrf[2 * WEB_SESSION_BYTES + 1];
} WebSession;

struct WebServer
{
	struct MHD_Daemon *daemon;
	WebPool			  *pool;
	WebEvents		  *events;
	char			  *token;
	pthread_mutex_t	   lock; /* protects sessions */
	WebSession		   sessions[WEB_MAX_SESSIONS];
};

/* Per-request state, made by uri_logged() before the headers are read. */
typedef struct WebRequest
{
	size_t				   uri_len;
	PgqBuf				   body;
	bool				   too_big;
	bool				   seen; /* the first call (headers only) is over */
	struct MHD_Connection *conn;
} WebRequest;

/* A stream of /events. */
typedef struct WebStream
{
	WebServer *server;
	uint64_t   seen;
	bool	   started;
} WebStream;

/* ---- helpers ---- */

/* random_hex: 2 * n hex characters of n random bytes; false on failure */
static bool
random_hex(char *out, size_t n)
{
	unsigned char bytes[64];

	if (n > sizeof(bytes) || getrandom(bytes, n, 0) != (ssize_t) n)
		return false;
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
	return true;
}

/* same_secret: compare without leaking where two strings differ */
static bool
same_secret(const char *a, const char *b)
{
	size_t la = strlen(a),
		   lb = strlen(b);
	unsigned char diff = (unsigned char) (la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i % (lb ? lb : 1)];
	return diff == 0;
}

static const char *
arg_of(void *request, const char *name)
{
	WebRequest *req = request;

	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/*
 * respond
 *		Queue a response with pgq web's security headers.
 */
static enum MHD_Result
respond(struct MHD_Connection *conn, int status, const char *content_type,
		const void *data, size_t len, const char *cookie)
{
	struct MHD_Response *r;
	enum MHD_Result		 ret;

	r = MHD_create_response_from_buffer(len, (void *) data, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (cookie)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	ret = MHD_queue_response(conn, (unsigned int) status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
respond_reply(struct MHD_Connection *conn, WebReply *reply, const char *cookie)
{
	if (reply->body.oom)
		web_reply_error(reply, 500, "out of memory");
	return respond(conn, reply->status, reply->content_type,
				   reply->body.data ? reply->body.data : "", reply->body.len, cookie);
}

static enum MHD_Result
respond_error(struct MHD_Connection *conn, int status, const char *message)
{
	WebReply		reply = {0};
	enum MHD_Result ret;

	pgq_buf_init(&reply.body);
	web_reply_error(&reply, status, message);
	ret = respond_reply(conn, &reply, NULL);
	pgq_buf_free(&reply.body);
	return ret;
}

/* ---- sessions ---- */

/*
 * find_session
 *		The live session named by the request's pgq_session cookie, copied
 *		into *out; false when there is none.
 */
static bool
find_session(WebServer *server, struct MHD_Connection *conn, WebSession *out)
{
	const char *id = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "pgq_session");
	time_t		now = time(NULL);
	bool		found = false;

	if (id == NULL || strlen(id) != 2 * WEB_SESSION_BYTES)
		return false;
	pthread_mutex_lock(&server->lock);
	for (int i = 0; i < WEB_MAX_SESSIONS; i++)
	{
		WebSession *s = &server->sessions[i];

		if (s->used && s->expires < now)
			s->used = false;
		if (s->used && same_secret(s->id, id))
		{
			*out = *s;
			found = true;
		}
	}
	pthread_mutex_unlock(&server->lock);
	return found;
}

/*
 * new_session
 *		A new session in a free slot (or the one expiring first); false when
 *		no random bytes could be had.
 */
static bool
new_session(WebServer *server, WebSession *out)
{
	WebSession s = {.used = true, .expires = time(NULL) + WEB_SESSION_TTL};
	int		   slot = 0;

	if (!random_hex(s.id, WEB_SESSION_BYTES) || !random_hex(s.csrf, WEB_SESSION_BYTES))
		return false;
	pthread_mutex_lock(&server->lock);
	for (int i = 0; i < WEB_MAX_SESSIONS; i++)
	{
		if (!server->sessions[i].used)
		{
			slot = i;
			break;
		}
		if (server->sessions[i].expires < server->sessions[slot].expires)
			slot = i;
	}
	server->sessions[slot] = s;
	pthread_mutex_unlock(&server->lock);
	*out = s;
	return true;
}

static void
drop_session(WebServer *server, const WebSession *s)
{
	pthread_mutex_lock(&server->lock);
	for (int i = 0; i < WEB_MAX_SESSIONS; i++)
		if (server->sessions[i].used && strcmp(server->sessions[i].id, s->id) == 0)
			server->sessions[i].used = false;
	pthread_mutex_unlock(&server->lock);
}

/*
 * authorized
 *		Whether a POST may act: the bearer token, or a session whose CSRF
 *		token is in X-CSRF-Token.  Sets *session when it was a session.
 */
static bool
authorized(WebServer *server, struct MHD_Connection *conn, WebSession *session,
		   bool *by_session)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
												   MHD_HTTP_HEADER_AUTHORIZATION);
	const char *csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");

	*by_session = false;
	if (server->token == NULL)
		return false;
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		return same_secret(auth + 7, server->token);
	if (csrf == NULL || !find_session(server, conn, session))
		return false;
	*by_session = true;
	return same_secret(csrf, session->csrf);
}

/* ---- the event stream ---- */

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	WebStream *st = cls;
	bool	   db_ok;
	int		   n;

	(void) pos;
	if (!st->started)
	{
		st->started = true;
		(void) web_events_wait(st->server->events, &st->seen, &db_ok, 0);
		n = snprintf(buf, max, "retry: 2000\nevent: hello\ndata: {\"db\":%s}\n\n",
					 db_ok ? "true" : "false");
		return n;
	}
	{
		uint64_t before = st->seen;

		if (!web_events_wait(st->server->events, &st->seen, &db_ok, 15000))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (st->seen == before)
			n = snprintf(buf, max, ": keep-alive\n\n");
		else
			n = snprintf(buf, max, "event: change\ndata: {\"db\":%s}\n\n",
						 db_ok ? "true" : "false");
	}
	return n;
}

static enum MHD_Result
serve_events(WebServer *server, struct MHD_Connection *conn)
{
	WebStream			*st = calloc(1, sizeof(WebStream));
	struct MHD_Response *r;
	enum MHD_Result		 ret;

	if (st == NULL)
		return MHD_NO;
	st->server = server;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_read, st, free);
	if (r == NULL)
	{
		free(st);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- routing ---- */

static bool
is_page(const char *url)
{
	static const char *const pages[] = {"/", "/jobs", "/job", "/failed",
										"/entrypoints", "/schedules", NULL};

	for (int i = 0; pages[i]; i++)
		if (strcmp(url, pages[i]) == 0)
			return true;
	return false;
}

static enum MHD_Result
serve_get(WebServer *server, struct MHD_Connection *conn, const char *url,
		  WebRequest *req)
{
	const WebAsset *asset = NULL;

	if (is_page(url))
		asset = web_asset("index.html");
	else if (strncmp(url, "/static/", 8) == 0)
		asset = web_asset(url + 8);
	if (asset != NULL)
		return respond(conn, MHD_HTTP_OK, asset->content_type, asset->data,
					   asset->size, NULL);
	if (strcmp(url, "/events") == 0)
		return serve_events(server, conn);
	if (strcmp(url, "/api/session") == 0)
	{
		WebSession s;
		bool	   logged_in = server->token != NULL && find_session(server, conn, &s);
		char	   body[256];

		snprintf(body, sizeof(body), "{\"actions\":%s,\"authenticated\":%s,\"csrf\":%s%s%s}",
				 server->token ? "true" : "false", logged_in ? "true" : "false",
				 logged_in ? "\"" : "", logged_in ? s.csrf : "null", logged_in ? "\"" : "");
		return respond(conn, MHD_HTTP_OK, "application/json", body, strlen(body), NULL);
	}
	if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0)
	{
		WebReply		reply = {0};
		enum MHD_Result ret;

		pgq_buf_init(&reply.body);
		web_api_get(server->pool, url, arg_of, req, &reply);
		ret = respond_reply(conn, &reply, NULL);
		pgq_buf_free(&reply.body);
		return ret;
	}
	return respond_error(conn, MHD_HTTP_NOT_FOUND, "not found");
}

/*
 * login
 *		POST /api/login with body token=SECRET (form-encoded): a session
 *		cookie when the token matches.
 */
static enum MHD_Result
login(WebServer *server, struct MHD_Connection *conn, WebRequest *req)
{
	char	  *body = req->body.data ? req->body.data : "";
	WebSession s;
	char	   cookie[160];
	char	   reply[160];

	if (server->token == NULL)
		return respond_error(conn, MHD_HTTP_FORBIDDEN,
							 "actions are disabled: start pgq web with --token-file or PGQ_WEB_TOKEN");
	if (strncmp(body, "token=", 6) != 0 || strchr(body, '&') != NULL)
		return respond_error(conn, MHD_HTTP_BAD_REQUEST, "the body must be token=SECRET");
	MHD_http_unescape(body + 6);
	if (!same_secret(body + 6, server->token))
		return respond_error(conn, MHD_HTTP_UNAUTHORIZED, "wrong token");
	if (!new_session(server, &s))
		return respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "no random bytes");
	snprintf(cookie, sizeof(cookie),
			 "pgq_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d",
			 s.id, WEB_SESSION_TTL);
	snprintf(reply, sizeof(reply), "{\"authenticated\":true,\"csrf\":\"%s\"}", s.csrf);
	return respond(conn, MHD_HTTP_OK, "application/json", reply, strlen(reply), cookie);
}

static enum MHD_Result
serve_post(WebServer *server, struct MHD_Connection *conn, const char *url,
		   WebRequest *req)
{
	WebSession		s;
	bool			by_session;
	WebReply		reply = {0};
	enum MHD_Result ret;

	if (strcmp(url, "/api/login") == 0)
		return login(server, conn, req);
	if (strncmp(url, "/api/", 5) != 0)
		return respond_error(conn, MHD_HTTP_NOT_FOUND, "not found");
	if (server->token == NULL)
		return respond_error(conn, MHD_HTTP_FORBIDDEN,
							 "actions are disabled: start pgq web with --token-file or PGQ_WEB_TOKEN");
	if (!authorized(server, conn, &s, &by_session))
		return respond_error(conn, MHD_HTTP_FORBIDDEN,
							 "log in first, and send the session's CSRF token");
	if (strcmp(url, "/api/logout") == 0)
	{
		if (by_session)
			drop_session(server, &s);
		return respond(conn, MHD_HTTP_OK, "application/json", "{}", 2,
					   "pgq_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	}
	pgq_buf_init(&reply.body);
	web_api_post(server->pool, url, arg_of, req, &reply);
	ret = respond_reply(conn, &reply, NULL);
	pgq_buf_free(&reply.body);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload_data,
	   size_t *upload_data_size, void **con_cls)
{
	WebServer  *server = cls;
	WebRequest *req = *con_cls;
	bool		get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
			   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	(void) version;
	if (req == NULL)
		return MHD_NO;
	req->conn = conn;
	if (!req->seen && post)
	{
		/* the body, if any, comes in the next calls */
		req->seen = true;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
	{
		/* collect the body, up to the limit */
		if (!post || req->body.len + *upload_data_size > WEB_MAX_BODY)
			req->too_big = true;
		else
			pgq_buf_append(&req->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->uri_len > WEB_MAX_URL)
		return respond_error(conn, MHD_HTTP_BAD_REQUEST, "the request line is too long");
	if (req->too_big)
		return respond_error(conn, MHD_HTTP_BAD_REQUEST,
							 post ? "the request body is too large" : "a GET has no body");
	if (get)
		return serve_get(server, conn, url, req);
	if (post)
		return serve_post(server, conn, url, req);
	return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET, HEAD and POST");
}

/* uri_logged: MHD's first look at a request; makes its state */
static void *
uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
	WebRequest *req = calloc(1, sizeof(WebRequest));

	(void) cls;
	if (req == NULL)
		return NULL;
	req->uri_len = strlen(uri);
	req->conn = conn;
	pgq_buf_init(&req->body);
	return req;
}

static void
request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	WebRequest *req = *con_cls;

	(void) cls;
	(void) conn;
	(void) toe;
	if (req != NULL)
	{
		pgq_buf_free(&req->body);
		free(req);
		*con_cls = NULL;
	}
}

WebServer *
web_server_start(const WebConfig *config)
{
	WebServer		   *server = calloc(1, sizeof(WebServer));
	struct sockaddr_in6 a6 = {0};
	struct sockaddr_in	a4 = {0};
	struct sockaddr	   *addr;
	unsigned int		flags = MHD_USE_INTERNAL_POLLING_THREAD |
						 MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

	if (server == NULL)
		return NULL;
	if (inet_pton(AF_INET, config->host, &a4.sin_addr) == 1)
	{
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t) config->port);
		addr = (struct sockaddr *) &a4;
	}
	else if (inet_pton(AF_INET6, config->host, &a6.sin6_addr) == 1)
	{
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t) config->port);
		addr = (struct sockaddr *) &a6;
		flags |= MHD_USE_IPv6;
	}
	else
	{
		fprintf(stderr, "pgq web: error: \"%s\" is not a numeric IP address\n", config->host);
		free(server);
		return NULL;
	}
	pthread_mutex_init(&server->lock, NULL);
	server->token = config->token ? strdup(config->token) : NULL;
	server->pool = web_pool_new(config->conninfo, config->pool_size, config->connect_timeout);
	server->events = web_events_start(config->conninfo, config->connect_timeout);
	if (server->pool == NULL || server->events == NULL)
	{
		fprintf(stderr, "pgq web: error: out of memory\n");
		web_server_stop(server);
		return NULL;
	}
	server->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, server,
									  MHD_OPTION_SOCK_ADDR, addr,
									  MHD_OPTION_CONNECTION_LIMIT, (unsigned int) config->max_clients,
									  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) config->max_clients,
									  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 30,
									  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32768,
									  MHD_OPTION_URI_LOG_CALLBACK, uri_logged, NULL,
									  MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
									  MHD_OPTION_END);
	if (server->daemon == NULL)
	{
		fprintf(stderr, "pgq web: error: could not listen on %s port %d\n",
				config->host, config->port);
		web_server_stop(server);
		return NULL;
	}
	return server;
}

void
web_server_stop(WebServer *server)
{
	if (server == NULL)
		return;
	/* end the event streams first, so that their threads can be joined */
	web_events_stop(server->events);
	if (server->daemon)
		MHD_stop_daemon(server->daemon);
	web_events_free(server->events);
	web_pool_free(server->pool);
	pthread_mutex_destroy(&server->lock);
	free(server->token);
	free(server);
}
