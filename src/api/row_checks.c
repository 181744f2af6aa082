/*-------------------------------------------------------------------------
 *
 * row_checks.c
 *		Rows that the maintenance sweeps and dequeue cannot use: found,
 *		reported in the server log, and listed by verify().
 *
 * The SQL functions refuse out-of-range values (bounds.c), but a role that
 * may write the tables directly (a superuser, the owner, a restore of an
 * old dump) can still store them.  The sweeps then skip such a row rather
 * than fail for every entrypoint, and the code here says so: the
 * background worker's lease-expiry duty calls pgq_report_bad_rows() on
 * every pass, which logs one WARNING per bad row when it first appears
 * (again only after it was repaired and broke anew), and verify() lists
 * the same rows with pgq_verify_bad_rows().
 *
 * IDENTIFICATION
 *		src/api/row_checks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "bounds.h"
#include "cron.h"
#include "report_once.h"
#include "row_checks.h"
#include "spi_util.h"

/* bad rows reported per statement at most */
#define BAD_ROWS_LIMIT 1000

/* characters of a stored name or value quoted in a line at most */
#define QUOTE_MAX_BYTES 200

/*
 * Registry rows outside the bounds (one line per bad column) and an
 * unusable deferred wake-up watermark, each line naming the row.
 */
static const char *const bad_rows_sql =
	"SELECT b.line FROM ("
	" SELECT 1 AS k, e.entrypoint AS key, p.n,"
	"   pg_catalog.format('entrypoint %s: %s; lease expiry skips its jobs%s',"
	"     pg_catalog.to_jsonb(pg_catalog.\"left\"(e.entrypoint, 200)), p.problem,"
	"     CASE WHEN p.n OPERATOR(pg_catalog.=) 3 THEN ' and dequeue hands out none of them' ELSE '' END) AS line"
	" FROM pgqueuer.pgqueuer_entrypoints e"
	" CROSS JOIN LATERAL (VALUES"
	"  (1, CASE WHEN e.lease_timeout OPERATOR(pg_catalog.<) '1 second'::pg_catalog.interval"
	"         OR e.lease_timeout OPERATOR(pg_catalog.>) " PGQ_LEASE_MAX_SQL
	"      THEN pg_catalog.format('lease_timeout %s is outside 1 second .. 365 days', e.lease_timeout) END),"
	"  (2, CASE WHEN e.max_attempts OPERATOR(pg_catalog.<) 0"
	"         OR e.max_attempts OPERATOR(pg_catalog.>) 1000000"
	"      THEN pg_catalog.format('max_attempts %s is outside 0 .. 1000000', e.max_attempts) END),"
	"  (3, CASE WHEN NOT (e.requests_per_second OPERATOR(pg_catalog.=) 0"
	"         OR (e.requests_per_second OPERATOR(pg_catalog.>=) 0.000001::pg_catalog.float8"
	"             AND e.requests_per_second OPERATOR(pg_catalog.<=) 1000000000::pg_catalog.float8))"
	"      THEN pg_catalog.format('requests_per_second %s is outside 0 and 0.000001 .. 1000000000',"
	"           e.requests_per_second) END),"
	"  (4, CASE WHEN e.retry_backoff_base OPERATOR(pg_catalog.>) " PGQ_BACKOFF_MAX_SQL
	"      THEN pg_catalog.format('retry_backoff_base %s is outside 0 .. 365 days', e.retry_backoff_base) END),"
	"  (5, CASE WHEN e.retry_backoff_max OPERATOR(pg_catalog.>) " PGQ_BACKOFF_MAX_SQL
	"      THEN pg_catalog.format('retry_backoff_max %s is outside 0 .. 365 days', e.retry_backoff_max) END)"
	" ) AS p(n, problem)"
	" WHERE p.problem IS NOT NULL"
	" UNION ALL"
	" SELECT 2, s.name, 0,"
	"   pg_catalog.format('setting deferred_notified_until has the unusable value %s;"
	" deferred wake-ups treat it as never announced',"
	"     pg_catalog.to_jsonb(pg_catalog.\"left\"(s.value, 100)))"
	" FROM pgqueuer.pgqueuer_settings s"
	" WHERE s.name OPERATOR(pg_catalog.=) 'deferred_notified_until'"
	"   AND s.value OPERATOR(pg_catalog.!~) '^[0-9]{1,12}(\\.[0-9]{1,9})?$'"
	" UNION ALL"
	" SELECT 2, s.name, 0,"
	"   pg_catalog.format('setting statistics_folded_until has the unusable value %s;"
	" the statistics fold counts no row by time until it holds seconds since 1970',"
	"     pg_catalog.to_jsonb(pg_catalog.\"left\"(s.value, 100)))"
	" FROM pgqueuer.pgqueuer_settings s"
	" WHERE s.name OPERATOR(pg_catalog.=) 'statistics_folded_until'"
	"   AND s.value OPERATOR(pg_catalog.!~) '^-?[0-9]{1,12}(\\.[0-9]{1,9})?$'"
	") AS b ORDER BY b.k, b.key, b.n LIMIT $1";

/* server-fired schedules, for the parse check of verify() */
static const char *const schedules_sql =
	"SELECT s.id, s.expression, s.next_run OPERATOR(pg_catalog.=) 'infinity'::pg_catalog.timestamptz"
	" FROM pgqueuer.pgqueuer_schedules s WHERE s.server_fired ORDER BY s.id LIMIT $1";

static SPIPlanPtr bad_rows_plan = NULL;
static SPIPlanPtr schedules_plan = NULL;

/*
 * pgq_quote_for_log
 *		A stored string as a JSON string literal (quotes and control
 *		characters escaped), cut to QUOTE_MAX_BYTES bytes, for log lines.
 */
char *
pgq_quote_for_log(const char *s)
{
	StringInfoData buf;
	int			   len = strlen(s);
	char		  *cut;

	if (len > QUOTE_MAX_BYTES)
		len = pg_mbcliplen(s, len, QUOTE_MAX_BYTES);
	cut = pnstrdup(s, len);
	initStringInfo(&buf);
	escape_json(&buf, cut);
	return buf.data;
}

/*
 * warn_row
 *		The WARNING of one bad row: an entrypoint's registry row or a
 *		setting (whose line starts with "setting ").
 */
static void
warn_row(const char *line)
{
	if (strncmp(line, "setting ", 8) == 0)
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgqueuer: %s", line),
				 errhint("pgqueuer.verify() lists such rows; a superuser corrects or deletes the row in pgqueuer.pgqueuer_settings.")));
	else
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pgqueuer: %s", line),
				 errhint("pgqueuer.verify() lists such rows; register the entrypoint again with pgqueuer.register_entrypoint() to repair it.")));
}

/*
 * pgq_report_once
 *		Log a bad row's line once per backend (a dequeue that skips an
 *		entrypoint would otherwise say so on every call).
 */
void
pgq_report_once(const char *line)
{
	if (pgq_first_report_line(line))
		warn_row(line);
}

/*
 * pgq_report_bad_rows
 *		Log each bad row that was not bad at the previous call.  Must run
 *		inside SPI.
 */
void
pgq_report_bad_rows(void)
{
	static const Oid argtypes[1] = {INT4OID};
	Datum			 limit = Int32GetDatum(BAD_ROWS_LIMIT);
	char		   **found;
	bool			*is_new;
	int				 n;

	n = pgq_execute(pgq_plan(&bad_rows_plan, bad_rows_sql, 1, argtypes),
					&limit, NULL, SPI_OK_SELECT);
	found = palloc(sizeof(char *) * Max(n, 1));
	is_new = palloc(sizeof(bool) * Max(n, 1));
	for (int i = 0; i < n; i++)
		found[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	pgq_mark_new_lines(found, n, is_new);
	for (int i = 0; i < n; i++)
		if (is_new[i])
			warn_row(found[i]);
}

/*
 * add_line
 *		One line of verify()'s result.
 */
static void
add_line(FunctionCallInfo fcinfo, const char *line)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		   value = CStringGetTextDatum(line);
	bool		   isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/*
 * pgq_verify_bad_rows
 *		verify()'s lines for bad rows: those of pgq_report_bad_rows(), and
 *		server-fired schedules whose expression does not parse or that the
 *		schedules sweep parked because they never fire.  Must run inside
 *		SPI; the tables are known to exist.
 */
void
pgq_verify_bad_rows(FunctionCallInfo fcinfo)
{
	static const Oid argtypes[1] = {INT4OID};
	Datum			 limit = Int32GetDatum(BAD_ROWS_LIMIT);
	int				 n;

	pgq_execute(pgq_plan(&bad_rows_plan, bad_rows_sql, 1, argtypes),
				&limit, NULL, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, 1);

	n = pgq_execute(pgq_plan(&schedules_plan, schedules_sql, 1, argtypes),
					&limit, NULL, SPI_OK_SELECT);
	for (int i = 0; i < n; i++)
	{
		bool		 isnull;
		int64		 id = pgq_getint64(i, 1);
		char		*expression = TextDatumGetCString(pgq_getdatum(i, 2, &isnull));
		bool		 parked = DatumGetBool(pgq_getdatum(i, 3, &isnull));
		CronSchedule sched;
		CronError	 err;

		if (!cron_parse(expression, &sched, &err))
			add_line(fcinfo, psprintf("schedule " INT64_FORMAT ": cron expression %s does not parse (%s); it will not fire",
									  id, pgq_quote_for_log(expression), err.message));
		else if (parked)
			add_line(fcinfo, psprintf("schedule " INT64_FORMAT ": cron expression %s never fires; the schedules sweep parked it",
									  id, pgq_quote_for_log(expression)));
	}
}
