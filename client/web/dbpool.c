/*-------------------------------------------------------------------------
 *
 * dbpool.c
 *		The libpq connections pgq web's requests borrow.
 *
 * A fixed number of slots; a connection is made when a request needs one
 * and none is idle, kept while it works, and closed when a request finds
 * it broken (the database restarted, the backend was terminated), so the
 * next request connects afresh.  A libpq connection is used by one thread
 * at a time, which borrowing guarantees.
 *
 * IDENTIFICATION
 *		client/web/dbpool.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

struct WebPool
{
	pthread_mutex_t lock;
	pthread_cond_t	freed;
	char		   *conninfo;
	int				timeout_s;
	int				size;
	int				borrowed; /* connections out, or being made */
	int				nidle;
	PGconn		  **idle;
};

WebPool *
web_pool_new(const char *conninfo, int size, int timeout_s)
{
	WebPool *pool = calloc(1, sizeof(WebPool));

	if (pool == NULL)
		return NULL;
	pool->idle = calloc((size_t) size, sizeof(PGconn *));
	pool->conninfo = strdup(conninfo ? conninfo : "");
	if (pool->idle == NULL || pool->conninfo == NULL)
	{
		free(pool->idle);
		free(pool->conninfo);
		free(pool);
		return NULL;
	}
	pool->size = size;
	pool->timeout_s = timeout_s;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->freed, NULL);
	return pool;
}

/*
 * connect_one
 *		A new connection named "pgq web", with the pool's connect timeout
 *		unless the connection string sets one.  NULL on failure, with the
 *		reason in err.
 */
static PGconn *
connect_one(WebPool *pool, char *err, size_t errlen)
{
	char		timeout[16];
	const char *keywords[] = {"connect_timeout", "fallback_application_name",
							  "dbname", NULL};
	const char *values[] = {timeout, "pgq web", pool->conninfo, NULL};
	PGconn	   *conn;

	snprintf(timeout, sizeof(timeout), "%d", pool->timeout_s);
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		pgq_copy_pq_error(err, errlen, conn, NULL);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *
web_pool_get(WebPool *pool, char *err, size_t errlen)
{
	PGconn *conn = NULL;

	pthread_mutex_lock(&pool->lock);
	while (pool->nidle == 0 && pool->borrowed >= pool->size)
		pthread_cond_wait(&pool->freed, &pool->lock);
	if (pool->nidle > 0)
		conn = pool->idle[--pool->nidle];
	pool->borrowed++;
	pthread_mutex_unlock(&pool->lock);

	if (conn != NULL && PQstatus(conn) != CONNECTION_OK)
	{
		PQfinish(conn);
		conn = NULL;
	}
	if (conn == NULL)
		conn = connect_one(pool, err, errlen);
	if (conn == NULL)
	{
		pthread_mutex_lock(&pool->lock);
		pool->borrowed--;
		pthread_cond_signal(&pool->freed);
		pthread_mutex_unlock(&pool->lock);
	}
	return conn;
}

void
web_pool_put(WebPool *pool, PGconn *conn)
{
	/* a connection left inside a transaction or broken is not reused */
	if (PQstatus(conn) != CONNECTION_OK ||
		PQtransactionStatus(conn) != PQTRANS_IDLE)
	{
		PQfinish(conn);
		conn = NULL;
	}
	pthread_mutex_lock(&pool->lock);
	pool->borrowed--;
	if (conn != NULL)
		pool->idle[pool->nidle++] = conn;
	pthread_cond_signal(&pool->freed);
	pthread_mutex_unlock(&pool->lock);
}

void
web_pool_free(WebPool *pool)
{
	if (pool == NULL)
		return;
	for (int i = 0; i < pool->nidle; i++)
		PQfinish(pool->idle[i]);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->freed);
	free(pool->idle);
	free(pool->conninfo);
	free(pool);
}
