/*-------------------------------------------------------------------------
 *
 * validate.c
 *		Checks of rows that roles other than the extension may have written,
 *		made by the superuser background worker before acting on them.
 *
 * The extension's functions check every value they write.  The tables can
 * also be written directly: by a role given the PgQueuer client opt-in
 * (grant_pgqueuer_client_access(), SECURITY.md section 3), by roles that
 * had table privileges before version 1.1, or by a superuser's hand.  The
 * duties of the background worker (maintenance.c) run as superuser and
 * over many rows at once, so a row with values the extension would never
 * write is skipped and reported here, rather than acted on or allowed to
 * make the whole sweep fail.
 *
 * IDENTIFICATION
 *		src/common/validate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "validate.h"

/*
 * pgq_entrypoint_problem
 *		What is wrong with an entrypoint name of "bytes" bytes, or NULL if
 *		nothing: like enqueue(), the server refuses an empty name.
 */
const char *
pgq_entrypoint_problem(const char *entrypoint, int64 bytes)
{
	if (entrypoint == NULL || bytes == 0)
		return "its entrypoint is empty";
	return NULL;
}

/*
 * pgq_job_problem
 *		What is wrong with a picked job, or NULL if nothing: the C side of
 *		PGQ_JOB_VALID_SQL.  A picked job has an owner (its worker's
 *		queue_manager_id) and no negative attempt count.
 */
const char *
pgq_job_problem(const char *entrypoint, int64 bytes, int attempts,
				bool has_owner)
{
	const char *problem = pgq_entrypoint_problem(entrypoint, bytes);

	if (problem != NULL)
		return problem;
	if (attempts < 0)
		return "its attempt count is negative";
	if (!has_owner)
		return "it is picked but has no queue_manager_id";
	return NULL;
}

/*
 * pgq_report_skipped_row
 *		A WARNING that a row of pgqueuer.<table> was skipped, and why.
 */
void
pgq_report_skipped_row(const char *table, int64 id, const char *problem)
{
	ereport(WARNING,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("pgqueuer: skipped row " INT64_FORMAT " of pgqueuer.%s: %s",
					id, table, problem),
			 errdetail("The extension never writes such a value; the row was written directly to the table."),
			 errhint("Correct or delete the row; roles given grant_pgqueuer_client_access() can write it.")));
}
