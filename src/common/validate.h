/*-------------------------------------------------------------------------
 *
 * validate.h
 *		Checks of rows that roles other than the extension may have written,
 *		made by the superuser background worker before acting on them.
 *
 * IDENTIFICATION
 *		src/common/validate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_VALIDATE_H
#define PGQ_VALIDATE_H

#include "postgres.h"

/*
 * A picked job that the lease sweep may act on, as a SQL condition on the
 * queue row aliased q; pgq_job_problem() says what is wrong with one that
 * fails it.  Both must change together.
 */
#define PGQ_JOB_VALID_SQL \
	"(q.entrypoint OPERATOR(pg_catalog.<>) ''::pg_catalog.text" \
	" AND q.attempts OPERATOR(pg_catalog.>=) 0" \
	" AND q.queue_manager_id IS NOT NULL)"

extern const char *pgq_entrypoint_problem(const char *entrypoint, int64 bytes);
extern const char *pgq_job_problem(const char *entrypoint, int64 bytes,
								   int attempts, bool has_owner);
extern void		   pgq_report_skipped_row(const char *table, int64 id,
										  const char *problem);

#endif /* PGQ_VALIDATE_H */
