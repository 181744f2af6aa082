/*-------------------------------------------------------------------------
 *
 * log.c
 *		The worker's log: messages at or above the worker's log level go to
 *		the user's log_func, or to stderr as "LEVEL: message" lines.
 *
 * Messages come from the run loop and from pool threads; a mutex
 * serialises the calls so a log_func need not be thread-safe.
 *
 * IDENTIFICATION
 *		client/lib/log.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "pgq_internal.h"

const char *
pgq_log_level_name(PgqLogLevel level)
{
	switch (level)
	{
		case PGQ_LOG_DEBUG:
			return "DEBUG";
		case PGQ_LOG_INFO:
			return "INFO";
		case PGQ_LOG_WARNING:
			return "WARNING";
		case PGQ_LOG_ERROR:
			return "ERROR";
	}
	return "LOG";
}

/*
 * pgq_log
 *		Format and emit one message if level passes the worker's filter.
 */
void
pgq_log(PgqWorker *worker, PgqLogLevel level, const char *fmt, ...)
{
	char	message[2048];
	va_list ap;

	if (level < worker->opts.log_level)
		return;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&worker->log_lock);
	if (worker->opts.log_func)
		worker->opts.log_func(level, message, worker->opts.log_arg);
	else
	{
		fprintf(stderr, "%s: %s\n", pgq_log_level_name(level), message);
		fflush(stderr);
	}
	pthread_mutex_unlock(&worker->log_lock);
}
