/*-------------------------------------------------------------------------
 *
 * api.c
 *		pgq web's JSON endpoints and /metrics, each one call of a
 *		pgqueuer.* SQL function.
 *
 * Reads (GET):
 *	/api/overview		entrypoint_summary(), workers(), and per-minute
 *						throughput of the last hour from log_statistics()
 *	/api/jobs			list_jobs() filtered by entrypoint, status, id, dedupe_key,
 *						limit (one value each)
 *	/api/job?id=N		job_detail() and job_history()
 *	/api/entrypoints	entrypoint_summary()
 *	/api/schedules		list_schedules()
 *	/metrics			metrics(), in Prometheus's text exposition format
 * Actions (POST; http.c checked the session and CSRF token first):
 *	/api/requeue, /api/delete	ids=1,2,3 or entrypoint=NAME (all its held
 *						jobs): requeue() / cancel()
 *	/api/cancel			ids=...: cancel()
 *	/api/pause, /api/resume		entrypoint=NAME
 *	/api/schedule		id=N&enabled=true|false: set_schedule_enabled()
 *
 * Results are JSON arrays of objects whose values are the columns' text (or
 * null), so every value from the database reaches the page as data; the
 * page writes them with textContent.  A server error becomes a JSON error
 * with its SQLSTATE (403 for 42501, 400 for data errors, 503 when the
 * database cannot be reached).
 *
 * IDENTIFICATION
 *		client/web/api.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

/* Per-minute counts by status over the last hour. */
static const char *const throughput_sql =
	"SELECT pg_catalog.date_trunc('minute', s.created) AS minute, s.status,"
	" pg_catalog.sum(s.count) AS count"
	" FROM pgqueuer.log_statistics(NULL, '1 hour') AS s"
	" GROUP BY 1, 2 ORDER BY 1, 2";

static const char *const held_ids_sql =
	"SELECT pg_catalog.array_agg(j.id)"
	" FROM pgqueuer.list_jobs(ARRAY[$1::pg_catalog.text], '{failed}', NULL, NULL, 10000) AS j";

void
web_reply_error(WebReply *reply, int status, const char *message)
{
	reply->status = status;
	reply->content_type = "application/json";
	pgq_buf_reset(&reply->body);
	pgq_buf_puts(&reply->body, "{\"error\":");
	pgq_json_string(&reply->body, message);
	pgq_buf_puts(&reply->body, "}");
}

/*
 * result_json
 *		Append res as a JSON array of objects, column name to text value.
 */
static void
result_json(PgqBuf *buf, const PGresult *res)
{
	int nrows = PQntuples(res);
	int ncols = PQnfields(res);

	pgq_buf_putc(buf, '[');
	for (int r = 0; r < nrows; r++)
	{
		pgq_buf_puts(buf, r ? ",{" : "{");
		for (int c = 0; c < ncols; c++)
		{
			if (c)
				pgq_buf_putc(buf, ',');
			pgq_json_string(buf, PQfname(res, c));
			pgq_buf_putc(buf, ':');
			pgq_json_string(buf, PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c));
		}
		pgq_buf_putc(buf, '}');
	}
	pgq_buf_putc(buf, ']');
}

/*
 * server_error
 *		Turn a failed result into an error reply: the server's message with
 *		its SQLSTATE, and an HTTP status a browser and a script can act on.
 */
static void
server_error(WebReply *reply, PGconn *conn, const PGresult *res)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char		msg[PGQ_ERRMSG_LEN];
	int			status = 500;

	pgq_copy_pq_error(msg, sizeof(msg), conn, res);
	if (sqlstate == NULL || PQstatus(conn) != CONNECTION_OK)
		status = 503;
	else if (strcmp(sqlstate, "42501") == 0)
		status = 403;
	else if (strncmp(sqlstate, "22", 2) == 0)
		status = 400;
	web_reply_error(reply, status, msg);
}

/*
 * run
 *		Run sql with text parameters on conn; NULL (and an error reply) when
 *		it failed.
 */
static PGresult *
run(PGconn *conn, WebReply *reply, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	server_error(reply, conn, res);
	PQclear(res);
	return NULL;
}

/*
 * add_result
 *		Append "name": <result as JSON> for one statement; false (and an
 *		error reply) when it failed.
 */
static bool
add_result(PGconn *conn, WebReply *reply, PgqBuf *out, const char *name,
		   const char *sql, int n, const char *const *params)
{
	PGresult *res = run(conn, reply, sql, n, params);

	if (res == NULL)
		return false;
	if (out->len > 1)
		pgq_buf_putc(out, ',');
	pgq_json_string(out, name);
	pgq_buf_putc(out, ':');
	result_json(out, res);
	PQclear(res);
	return true;
}

/* empty_null: NULL for a missing or empty argument (SQL NULL: no filter) */
static const char *
empty_null(const char *s)
{
	return (s == NULL || s[0] == '\0') ? NULL : s;
}

/*
 * valid_int
 *		Whether s is a decimal integer (optional sign, at most 19 digits):
 *		malformed numbers are the client's error (400), not the server's.
 */
static bool
valid_int(const char *s)
{
	int digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	for (; *s; s++, digits++)
		if (!isdigit((unsigned char) *s))
			return false;
	return digits > 0 && digits <= 19;
}

/*
 * ids_literal
 *		Turn "1,2,3" into the array literal "{1,2,3}" in out; false for
 *		anything else, an empty list or more than WEB_MAX_IDS ids.
 */
static bool
ids_literal(const char *ids, PgqBuf *out)
{
	int			n = 0;
	const char *p = ids;

	pgq_buf_putc(out, '{');
	while (*p)
	{
		char   one[24];
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= sizeof(one) || ++n > WEB_MAX_IDS)
			return false;
		memcpy(one, p, len);
		one[len] = '\0';
		if (!valid_int(one))
			return false;
		if (n > 1)
			pgq_buf_putc(out, ',');
		pgq_buf_puts(out, one);
		p += len;
		if (*p == ',')
			p++;
	}
	pgq_buf_putc(out, '}');
	return n > 0 && !out->oom;
}

/*
 * metric_value_escaped
 *		Append a label value as the text exposition format wants it inside
 *		double quotes: backslash, double quote and newline escaped.  The
 *		labels come from metrics() as jsonb, split into key and value by
 *		pg_catalog.jsonb_each_text() in metrics_sql.
 */
static void
metric_value_escaped(PgqBuf *buf, const char *v)
{
	for (; *v; v++)
	{
		if (*v == '\\' || *v == '"')
		{
			pgq_buf_putc(buf, '\\');
			pgq_buf_putc(buf, *v);
		}
		else if (*v == '\n')
			pgq_buf_puts(buf, "\\n");
		else
			pgq_buf_putc(buf, *v);
	}
}

/* metrics() flattened: one row per sample and label, labels in key order. */
static const char *const metrics_sql =
	"SELECT m.ord, m.name, m.type, m.help, m.value::pg_catalog.text, l.key, l.value"
	" FROM pgqueuer.metrics() WITH ORDINALITY AS m(name, type, help, labels, value, ord)"
	" LEFT JOIN LATERAL pg_catalog.jsonb_each_text(m.labels) AS l(key, value) ON true"
	" ORDER BY m.name, m.ord, l.key";

/*
 * metrics_text
 *		Render the rows of metrics_sql in the text exposition format: one
 *		HELP and TYPE line per metric name, then its samples.
 */
static void
metrics_text(PgqBuf *out, const PGresult *res)
{
	int			n = PQntuples(res);
	const char *last_name = "";

	for (int r = 0; r < n;)
	{
		const char *ord = PQgetvalue(res, r, 0);
		const char *name = PQgetvalue(res, r, 1);
		const char *value = PQgetvalue(res, r, 4);
		bool		first = true;

		if (strcmp(name, last_name) != 0)
		{
			pgq_buf_printf(out, "# HELP %s ", name);
			for (const char *h = PQgetvalue(res, r, 3); *h; h++)
			{
				if (*h == '\\')
					pgq_buf_puts(out, "\\\\");
				else if (*h == '\n')
					pgq_buf_puts(out, "\\n");
				else
					pgq_buf_putc(out, *h);
			}
			pgq_buf_printf(out, "\n# TYPE %s %s\n", name, PQgetvalue(res, r, 2));
			last_name = name;
		}
		pgq_buf_puts(out, name);
		for (; r < n && strcmp(PQgetvalue(res, r, 0), ord) == 0; r++)
		{
			if (PQgetisnull(res, r, 5))
				continue;
			pgq_buf_puts(out, first ? "{" : ",");
			first = false;
			pgq_buf_printf(out, "%s=\"", PQgetvalue(res, r, 5));
			metric_value_escaped(out, PQgetvalue(res, r, 6));
			pgq_buf_putc(out, '"');
		}
		if (!first)
			pgq_buf_putc(out, '}');
		if (strcmp(value, "Infinity") == 0)
			value = "+Inf";
		pgq_buf_printf(out, " %s\n", value);
	}
}

/*
 * get_json
 *		The JSON read endpoints; false when path is not one of them.
 */
static bool
get_json(PGconn *conn, const char *path, WebArgFn arg, void *request,
		 WebReply *reply, PgqBuf *out)
{
	if (strcmp(path, "/api/overview") == 0)
		return add_result(conn, reply, out, "entrypoints",
						  "SELECT * FROM pgqueuer.entrypoint_summary()", 0, NULL) &&
			   add_result(conn, reply, out, "workers",
						  "SELECT * FROM pgqueuer.workers()", 0, NULL) &&
			   add_result(conn, reply, out, "throughput", throughput_sql, 0, NULL);
	if (strcmp(path, "/api/entrypoints") == 0)
		return add_result(conn, reply, out, "entrypoints",
						  "SELECT * FROM pgqueuer.entrypoint_summary()", 0, NULL);
	if (strcmp(path, "/api/schedules") == 0)
		return add_result(conn, reply, out, "schedules",
						  "SELECT * FROM pgqueuer.list_schedules()", 0, NULL);
	if (strcmp(path, "/api/jobs") == 0)
	{
		const char *params[5] = {
			empty_null(arg(request, "entrypoint")),
			empty_null(arg(request, "status")),
			empty_null(arg(request, "id")),
			empty_null(arg(request, "dedupe_key")),
			empty_null(arg(request, "limit")),
		};

		if ((params[2] && !valid_int(params[2])) || (params[4] && !valid_int(params[4])))
		{
			web_reply_error(reply, 400, "id and limit must be integers");
			return false;
		}
		return add_result(conn, reply, out, "jobs",
						  "SELECT * FROM pgqueuer.list_jobs("
						  " CASE WHEN $1::pg_catalog.text IS NULL THEN NULL ELSE ARRAY[$1::pg_catalog.text] END,"
						  " CASE WHEN $2::pg_catalog.text IS NULL THEN NULL"
						  "  ELSE ARRAY[$2::pg_catalog.text::pgqueuer.pgqueuer_status] END,"
						  " CASE WHEN $3::pg_catalog.text IS NULL THEN NULL ELSE ARRAY[$3::bigint] END,"
						  " CASE WHEN $4::pg_catalog.text IS NULL THEN NULL ELSE ARRAY[$4::pg_catalog.text] END,"
						  " COALESCE($5::integer, 100))",
						  5, params);
	}
	if (strcmp(path, "/api/job") == 0)
	{
		const char *params[1] = {arg(request, "id")};

		if (params[0] == NULL || !valid_int(params[0]))
		{
			web_reply_error(reply, 400, "id must be an integer");
			return false;
		}
		return add_result(conn, reply, out, "job",
						  "SELECT * FROM pgqueuer.job_detail($1::bigint, 4096)", 1, params) &&
			   add_result(conn, reply, out, "history",
						  "SELECT * FROM pgqueuer.job_history($1::bigint)", 1, params);
	}
	web_reply_error(reply, 404, "no such endpoint");
	return false;
}

/*
 * borrow
 *		A connection from the pool, or NULL with a 503 reply saying why.
 */
static PGconn *
borrow(WebPool *pool, WebReply *reply)
{
	char	err[PGQ_ERRMSG_LEN];
	PGconn *conn = web_pool_get(pool, err, sizeof(err));

	if (conn == NULL)
		web_reply_error(reply, 503, err);
	return conn;
}

void
web_api_get(WebPool *pool, const char *path, WebArgFn arg, void *request,
			WebReply *reply)
{
	PGconn *conn;

	if (strcmp(path, "/metrics") != 0 && strncmp(path, "/api/", 5) != 0)
	{
		web_reply_error(reply, 404, "no such endpoint");
		return;
	}
	if ((conn = borrow(pool, reply)) == NULL)
		return;
	if (strcmp(path, "/metrics") == 0)
	{
		PGresult *res = run(conn, reply, metrics_sql, 0, NULL);

		if (res != NULL)
		{
			reply->status = 200;
			reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
			metrics_text(&reply->body, res);
			PQclear(res);
		}
	}
	else
	{
		PgqBuf out;

		pgq_buf_init(&out);
		pgq_buf_putc(&out, '{');
		if (get_json(conn, path, arg, request, reply, &out))
		{
			pgq_buf_putc(&out, '}');
			reply->status = 200;
			reply->content_type = "application/json";
			pgq_buf_reset(&reply->body);
			pgq_buf_append(&reply->body, out.data, out.len);
		}
		pgq_buf_free(&out);
	}
	web_pool_put(pool, conn);
}

/*
 * action
 *		Run one action statement whose result is a set or a scalar and reply
 *		{"changed": [...rows...]}.
 */
static void
action(PGconn *conn, WebReply *reply, const char *sql, int n, const char *const *params)
{
	PgqBuf out;

	pgq_buf_init(&out);
	pgq_buf_putc(&out, '{');
	if (add_result(conn, reply, &out, "changed", sql, n, params))
	{
		pgq_buf_putc(&out, '}');
		reply->status = 200;
		reply->content_type = "application/json";
		pgq_buf_reset(&reply->body);
		pgq_buf_append(&reply->body, out.data, out.len);
	}
	pgq_buf_free(&out);
}

/*
 * ids_action
 *		requeue/delete/cancel: the ids given, or with entrypoint= (requeue
 *		and delete only) every held job of that entrypoint.
 */
static void
ids_action(PGconn *conn, WebReply *reply, const char *fn, bool by_entrypoint,
		   WebArgFn arg, void *request)
{
	const char *ids = arg(request, "ids");
	const char *ep = empty_null(arg(request, "entrypoint"));
	char		sql[128];
	PgqBuf		lit;

	snprintf(sql, sizeof(sql), "SELECT * FROM pgqueuer.%s($1::bigint[])", fn);
	if (ids == NULL && ep != NULL && by_entrypoint)
	{
		PGresult   *res = run(conn, reply, held_ids_sql, 1, &ep);
		const char *params[1];

		if (res == NULL)
			return;
		params[0] = PQgetisnull(res, 0, 0) ? "{}" : PQgetvalue(res, 0, 0);
		action(conn, reply, sql, 1, params);
		PQclear(res);
		return;
	}
	pgq_buf_init(&lit);
	if (ids == NULL || !ids_literal(ids, &lit))
		web_reply_error(reply, 400, by_entrypoint ? "give ids=1,2,... (at most 10000) or entrypoint=NAME" : "give ids=1,2,... (at most 10000)");
	else
	{
		const char *params[1] = {lit.data};

		action(conn, reply, sql, 1, params);
	}
	pgq_buf_free(&lit);
}

void
web_api_post(WebPool *pool, const char *path, WebArgFn arg, void *request,
			 WebReply *reply)
{
	PGconn	   *conn;
	const char *ep = empty_null(arg(request, "entrypoint"));

	if (strcmp(path, "/api/requeue") != 0 && strcmp(path, "/api/delete") != 0 &&
		strcmp(path, "/api/cancel") != 0 && strcmp(path, "/api/pause") != 0 &&
		strcmp(path, "/api/resume") != 0 && strcmp(path, "/api/schedule") != 0)
	{
		web_reply_error(reply, 404, "no such action");
		return;
	}
	if ((conn = borrow(pool, reply)) == NULL)
		return;
	if (strcmp(path, "/api/requeue") == 0)
		ids_action(conn, reply, "requeue", true, arg, request);
	else if (strcmp(path, "/api/delete") == 0)
		ids_action(conn, reply, "cancel", true, arg, request);
	else if (strcmp(path, "/api/cancel") == 0)
		ids_action(conn, reply, "cancel", false, arg, request);
	else if (strcmp(path, "/api/pause") == 0 || strcmp(path, "/api/resume") == 0)
	{
		if (ep == NULL)
			web_reply_error(reply, 400, "give entrypoint=NAME");
		else
			action(conn, reply, strcmp(path, "/api/pause") == 0 ? "SELECT pgqueuer.pause($1) AS changed" : "SELECT pgqueuer.resume($1) AS changed", 1, &ep);
	}
	else
	{
		const char *params[2] = {arg(request, "id"), arg(request, "enabled")};

		if (params[0] == NULL || !valid_int(params[0]) || params[1] == NULL ||
			(strcmp(params[1], "true") != 0 && strcmp(params[1], "false") != 0))
			web_reply_error(reply, 400, "give id=N and enabled=true or enabled=false");
		else
			action(conn, reply, "SELECT pgqueuer.set_schedule_enabled($1::bigint,"
								" $2::boolean) AS changed",
				   2, params);
	}
	web_pool_put(pool, conn);
}
