/*-------------------------------------------------------------------------
 *
 * client.c
 *		PgqClient, the producer side of libpgqueuer: connect, enqueue one
 *		job (pgqueuer.enqueue) or many in one round trip
 *		(pgqueuer.enqueue_batch), and wait for jobs to finish
 *		(pgqueuer.wait_for).
 *
 * Statements are sent with PQexecParams (unnamed), so they never clash
 * with prepared statements of the caller, who may use the same connection
 * through pgq_client_conn().  Payloads travel in binary for one job and as
 * a hex bytea[] literal for a batch.
 *
 * IDENTIFICATION
 *		client/lib/client.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgq_internal.h"

/* type OIDs of the parameters we send */
#define TEXTOID	  25
#define BYTEAOID  17
#define INT4OID	  23
#define FLOAT8OID 701

struct PgqClient
{
	PGconn *conn;
	char	error[PGQ_ERRMSG_LEN];
};

/*
 * Every name and type below is schema-qualified and no operator is used:
 * the statements run in the caller's session, whose search_path may list
 * a schema where another role planted look-alike functions, operators or
 * types (CVE-2018-1058).
 */
static const char *const enqueue_sql =
	"SELECT pgqueuer.enqueue($1, $2, $3, pg_catalog.make_interval(secs => $4),"
	" $5, $6::pg_catalog.jsonb, $7)";

static const char *const enqueue_batch_sql =
	"SELECT t.id FROM pgqueuer.enqueue_batch($1::pg_catalog.text[],"
	" $2::pg_catalog.bytea[], $3::pg_catalog.int4[], $4::pg_catalog.interval[],"
	" $5::pg_catalog.text[], $6::pg_catalog.jsonb[], $7::pg_catalog.text)"
	" WITH ORDINALITY AS t(id, n) ORDER BY t.n";

/*
 * connect_timeout_s
 *		The connect_timeout that applies to conn (its conninfo, else
 *		PGCONNECT_TIMEOUT), in seconds, as libpq reads it: none, zero or
 *		negative means no limit (0 here), and 1 means 2.
 */
static int
connect_timeout_s(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn);
	int				  timeout = 0;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && o->val[0])
			timeout = atoi(o->val);
	PQconninfoFree(opts);
	if (timeout <= 0)
		return 0;
	return timeout < 2 ? 2 : timeout;
}

static const char *const wait_for_sql =
	"SELECT job_id, status::text FROM pgqueuer.wait_for($1::bigint[], $2::interval)";

/*
 * pgq_open_conn
 *		Connect with a libpq conninfo or URI (NULL or "": the PG*
 *		environment), naming the application appname unless the conninfo
 *		or PGAPPNAME does.  The connection is made with PQconnectPoll() so
 *		that it never blocks beyond connect_timeout (conninfo, else
 *		PGCONNECT_TIMEOUT; unset or 0: no limit -- the limit covers the
 *		whole attempt, all hosts together) and gives up within 100 ms once
 *		stop(arg) returns true (stop may be NULL).  Returns the connection,
 *		or NULL with the reason in err (errlen bytes).
 */
PGconn *
pgq_open_conn(const char *conninfo, const char *appname,
			  bool (*stop)(void *arg), void *arg, char *err, size_t errlen)
{
	const char				 *keywords[] = {"fallback_application_name", "dbname", NULL};
	const char				 *values[] = {appname, conninfo, NULL};
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn					 *conn;
	int						  timeout;
	double					  deadline;

	if (conninfo == NULL || conninfo[0] == '\0')
		keywords[1] = NULL;
	conn = PQconnectStartParams(keywords, values, 1);
	if (conn == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	timeout = connect_timeout_s(conn);
	deadline = timeout > 0 ? pgq_now() + timeout : INFINITY;
	while (PQstatus(conn) != CONNECTION_BAD &&
		   st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
	{
		struct pollfd fd;
		double		  left = deadline - pgq_now();

		if (stop != NULL && stop(arg))
		{
			snprintf(err, errlen, "connection attempt interrupted");
			PQfinish(conn);
			return NULL;
		}
		if (left <= 0)
		{
			snprintf(err, errlen, "timeout expired after %d s while connecting (connect_timeout, PGCONNECT_TIMEOUT)",
					 timeout);
			PQfinish(conn);
			return NULL;
		}
		fd.fd = PQsocket(conn);
		fd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		fd.revents = 0;
		if (fd.fd < 0)
			break;
		if (poll(&fd, 1, (int) ceil(fmin(left, 0.1) * 1000)) > 0)
			st = PQconnectPoll(conn);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		pgq_copy_pq_error(err, errlen, conn, NULL);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PgqClient *
pgq_connect(const char *conninfo, char **errmsg)
{
	PgqClient *client;
	char	   msg[PGQ_ERRMSG_LEN];

	if (errmsg)
		*errmsg = NULL;
	client = calloc(1, sizeof(PgqClient));
	if (client == NULL)
	{
		if (errmsg)
			*errmsg = strdup("out of memory");
		return NULL;
	}
	client->conn = pgq_open_conn(conninfo, "libpgqueuer", NULL, NULL, msg, sizeof(msg));
	if (client->conn == NULL)
	{
		if (errmsg)
		{
			size_t len = strlen(msg) + sizeof("could not connect: ");

			*errmsg = malloc(len);
			if (*errmsg)
				snprintf(*errmsg, len, "could not connect: %s", msg);
		}
		free(client);
		return NULL;
	}
	return client;
}

void
pgq_disconnect(PgqClient *client)
{
	if (client == NULL)
		return;
	PQfinish(client->conn);
	free(client);
}

PGconn *
pgq_client_conn(PgqClient *client)
{
	return client->conn;
}

const char *
pgq_client_error(const PgqClient *client)
{
	return client->error;
}

/* set_error: printf into the client's error message */
static int set_error(PgqClient *client, const char *fmt, ...) PGQ_PRINTF(2, 3);

static int
set_error(PgqClient *client, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(client->error, sizeof(client->error), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * check_spec
 *		Validate one job; returns 0, or -1 with the error set.  i is its
 *		position in a batch (-1 for a single job).
 */
static int
check_spec(PgqClient *client, const PgqJobSpec *job, int i)
{
	char where[32] = "";

	if (i >= 0)
		snprintf(where, sizeof(where), "job %d: ", i);
	if (job->entrypoint == NULL || job->entrypoint[0] == '\0')
		return set_error(client, "%sentrypoint is required", where);
	if (!isfinite(job->delay_s) || job->delay_s < 0)
		return set_error(client, "%sdelay_s must be a finite number of seconds >= 0", where);
	if (job->payload == NULL && job->payload_len != 0)
		return set_error(client, "%spayload is NULL but payload_len is not 0", where);
	return 0;
}

/*
 * result_error
 *		Record the error of a failed statement (res may be NULL) and clear
 *		res; returns -1.
 */
static int
result_error(PgqClient *client, PGresult *res)
{
	pgq_copy_pq_error(client->error, sizeof(client->error), client->conn, res);
	PQclear(res);
	return -1;
}

int
pgq_enqueue(PgqClient *client, const PgqJobSpec *job,
			PgqOnConflict on_conflict, int64_t *id)
{
	const Oid	types[7] = {TEXTOID, BYTEAOID, INT4OID, FLOAT8OID, TEXTOID, TEXTOID, TEXTOID};
	const char *values[7];
	int			lengths[7] = {0};
	int			formats[7] = {0};
	char		priority[16];
	char		delay[64];
	PGresult   *res;

	client->error[0] = '\0';
	if (job == NULL)
		return set_error(client, "job is NULL");
	if (check_spec(client, job, -1) < 0)
		return -1;

	snprintf(priority, sizeof(priority), "%d", (int) job->priority);
	snprintf(delay, sizeof(delay), "%.6f", job->delay_s);
	values[0] = job->entrypoint;
	values[1] = job->payload ? (job->payload_len ? job->payload : "") : NULL;
	lengths[1] = (int) job->payload_len;
	formats[1] = 1; /* bytes as they are */
	values[2] = priority;
	values[3] = delay;
	values[4] = job->dedupe_key;
	values[5] = job->headers_json;
	values[6] = (on_conflict == PGQ_ON_CONFLICT_SKIP) ? "skip" : "raise";

	res = PQexecParams(client->conn, enqueue_sql, 7, types, values, lengths,
					   formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return result_error(client, res);
	if (id)
		*id = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * array_param
 *		Finish an array literal in buf as parameter text, or NULL when no
 *		job set the field (any is false): the server's default for all.
 */
static const char *
array_param(PgqBuf *buf, bool any)
{
	if (!any)
		return NULL;
	pgq_buf_putc(buf, '}');
	return buf->data;
}

/*
 * build_arrays
 *		The six array literals of enqueue_batch() from n jobs: entrypoints,
 *		payloads, priorities, delays, dedupe keys, headers (arr, initialised
 *		here; the closing braces come from array_param).  any[a] becomes
 *		true when a job sets field a (any[0] is the caller's: always true).
 */
static void
build_arrays(const PgqJobSpec *jobs, int n, PgqBuf arr[6], bool any[6])
{
	for (int a = 0; a < 6; a++)
	{
		pgq_buf_init(&arr[a]);
		pgq_buf_putc(&arr[a], '{');
	}
	for (int i = 0; i < n; i++)
	{
		const PgqJobSpec *job = &jobs[i];
		const char		 *sep = (i > 0) ? "," : "";

		for (int a = 0; a < 6; a++)
			pgq_buf_puts(&arr[a], sep);
		pgq_buf_array_elem(&arr[0], job->entrypoint);
		pgq_buf_array_bytea(&arr[1], job->payload ? job->payload : NULL,
							job->payload_len);
		pgq_buf_printf(&arr[2], "%d", (int) job->priority);
		pgq_buf_printf(&arr[3], "\"%.6f seconds\"", job->delay_s);
		pgq_buf_array_elem(&arr[4], job->dedupe_key);
		pgq_buf_array_elem(&arr[5], job->headers_json);
		any[1] |= (job->payload != NULL);
		any[2] |= (job->priority != 0);
		any[3] |= (job->delay_s > 0);
		any[4] |= (job->dedupe_key != NULL);
		any[5] |= (job->headers_json != NULL);
	}
}

/*
 * pgq_enqueue_many
 *		pgqueuer.enqueue_batch() of n jobs; see libpgqueuer.h.
 */
int
pgq_enqueue_many(PgqClient *client, const PgqJobSpec *jobs, int n,
				 PgqOnConflict on_conflict, int64_t *ids)
{
	PgqBuf		arr[6];
	bool		any[6] = {true, false, false, false, false, false};
	const char *values[7];
	PGresult   *res;
	int			enqueued = 0;
	int			rc = -1;

	client->error[0] = '\0';
	if (n < 0)
		return set_error(client, "n must be >= 0");
	if (n == 0)
		return 0;
	if (jobs == NULL)
		return set_error(client, "jobs is NULL");
	for (int i = 0; i < n; i++)
		if (check_spec(client, &jobs[i], i) < 0)
			return -1;

	build_arrays(jobs, n, arr, any);
	for (int a = 0; a < 6; a++)
	{
		if (arr[a].oom)
		{
			set_error(client, "out of memory");
			goto done;
		}
		values[a] = array_param(&arr[a], any[a]);
	}
	values[6] = (on_conflict == PGQ_ON_CONFLICT_SKIP) ? "skip" : "raise";

	res = PQexecParams(client->conn, enqueue_batch_sql, 7, NULL, values, NULL,
					   NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != n)
	{
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			set_error(client, "enqueue_batch returned %d rows for %d jobs",
					  PQntuples(res), n);
			PQclear(res);
		}
		else
			result_error(client, res);
		goto done;
	}
	for (int i = 0; i < n; i++)
	{
		int64_t id = PQgetisnull(res, i, 0) ? 0 : strtoll(PQgetvalue(res, i, 0), NULL, 10);

		if (ids)
			ids[i] = id;
		if (id != 0)
			enqueued++;
	}
	PQclear(res);
	rc = enqueued;

done:
	for (int a = 0; a < 6; a++)
		pgq_buf_free(&arr[a]);
	return rc;
}

/*
 * pgq_wait_for
 *		pgqueuer.wait_for() of n ids; see libpgqueuer.h.
 */
int
pgq_wait_for(PgqClient *client, const int64_t *ids, int n, double timeout_s,
			 PgqJobState *states, int *pending)
{
	PgqBuf		arr;
	char		timeout[64];
	const char *values[2];
	PGresult   *res;
	int			rows;

	client->error[0] = '\0';
	if (pending)
		*pending = 0;
	if (n < 0)
		return set_error(client, "n must be >= 0");
	if (n > 0 && (ids == NULL || states == NULL))
		return set_error(client, "ids and states must not be NULL");
	if (!isfinite(timeout_s) || timeout_s < 0)
		return set_error(client, "timeout_s must be a finite number of seconds >= 0");
	if (n == 0)
		return 0;

	pgq_buf_init(&arr);
	pgq_buf_putc(&arr, '{');
	for (int i = 0; i < n; i++)
		pgq_buf_printf(&arr, "%s%lld", i > 0 ? "," : "", (long long) ids[i]);
	pgq_buf_putc(&arr, '}');
	if (arr.oom)
	{
		pgq_buf_free(&arr);
		return set_error(client, "out of memory");
	}
	snprintf(timeout, sizeof(timeout), "%.6f seconds", timeout_s);
	values[0] = arr.data;
	values[1] = timeout;
	res = PQexecParams(client->conn, wait_for_sql, 2, NULL, values, NULL, NULL, 0);
	pgq_buf_free(&arr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return result_error(client, res);

	rows = PQntuples(res);
	for (int r = 0; r < rows && r < n; r++)
	{
		const char *status = PQgetvalue(res, r, 1);

		states[r].id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		snprintf(states[r].status, sizeof(states[r].status), "%s", status);
		if (pending && (strcmp(status, "queued") == 0 || strcmp(status, "picked") == 0))
			(*pending)++;
	}
	PQclear(res);
	return rows;
}
