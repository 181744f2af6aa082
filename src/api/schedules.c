/*-------------------------------------------------------------------------
 *
 * schedules.c
 *		Cron schedules: cron_next(), schedule(), unschedule() and firing
 *		due schedules.
 *
 * PgQueuer's SchedulerManager runs the scheduled function in the client.
 * A server cannot run client code, so here firing a schedule enqueues one
 * job for its entrypoint.  Only rows created by schedule() (server_fired)
 * are fired, so rows that PgQueuer's own scheduler registered in the same
 * table are left to it.  A schedule fires at most once per due time: the
 * row is locked FOR UPDATE SKIP LOCKED and its next_run moved past now() in
 * the same transaction; after downtime a missed run fires once.  Each
 * schedule reads its fields on the wall clock of its time zone (column
 * timezone, 'UTC' by default as in PgQueuer; schedule_tz.c defines the
 * daylight-saving rules).
 *
 * IDENTIFICATION
 *		src/api/schedules.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "args.h"
#include "cron.h"
#include "guc.h"
#include "history.h"
#include "notify.h"
#include "row_checks.h"
#include "schedule_tz.h"
#include "schedules.h"
#include "spi_util.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(pgqueuer_cron_next);
PG_FUNCTION_INFO_V1(pgqueuer_schedule);
PG_FUNCTION_INFO_V1(pgqueuer_unschedule_id);
PG_FUNCTION_INFO_V1(pgqueuer_unschedule_entrypoint);

/* Due schedules fired per statement at most. */
#define FIRE_CHUNK 1000

/* seconds between the Unix epoch and PostgreSQL's (2000-01-01) */
#define PG_EPOCH_OFFSET_S \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* a changed time zone moves next_run; otherwise re-registering keeps it */
static const char *const schedule_sql =
	"INSERT INTO pgqueuer.pgqueuer_schedules AS s (expression, entrypoint, next_run,"
	"  payload, priority, server_fired, timezone)"
	" VALUES ($1, $2, $3, $4, $5, true, $6)"
	" ON CONFLICT (expression, entrypoint) DO UPDATE SET payload = EXCLUDED.payload,"
	"  priority = EXCLUDED.priority, server_fired = true, updated = pg_catalog.now(),"
	"  next_run = CASE WHEN s.timezone OPERATOR(pg_catalog.=) EXCLUDED.timezone"
	"    THEN s.next_run ELSE EXCLUDED.next_run END,"
	"  timezone = EXCLUDED.timezone"
	" RETURNING s.id";

static const char *const unschedule_id_sql =
	"DELETE FROM pgqueuer.pgqueuer_schedules WHERE id OPERATOR(pg_catalog.=) $1";

static const char *const unschedule_ep_sql =
	"DELETE FROM pgqueuer.pgqueuer_schedules WHERE entrypoint OPERATOR(pg_catalog.=) $1";

static const char *const due_sql =
	"SELECT id, expression, entrypoint, pg_catalog.octet_length(entrypoint)::pg_catalog.int8,"
	"   timezone"
	" FROM pgqueuer.pgqueuer_schedules"
	" WHERE server_fired AND enabled AND status OPERATOR(pg_catalog.=) 'queued'::pgqueuer.pgqueuer_status"
	"   AND next_run OPERATOR(pg_catalog.<=) pg_catalog.now()"
	" ORDER BY next_run, id LIMIT $1"
	" FOR UPDATE SKIP LOCKED";

#define FIRE_SQL_HEAD \
	"WITH nx AS (" \
	" SELECT * FROM unnest($1::pg_catalog.int8[], $2::pg_catalog.timestamptz[], $3::pg_catalog.bool[])" \
	"   AS t(id, next_run, ok)" \
	"), s AS (" \
	" UPDATE pgqueuer.pgqueuer_schedules s SET next_run = nx.next_run," \
	"   last_run = CASE WHEN nx.ok THEN pg_catalog.now() ELSE s.last_run END," \
	"   updated = pg_catalog.now(), heartbeat = pg_catalog.now()" \
	" FROM nx WHERE s.id OPERATOR(pg_catalog.=) nx.id" \
	" RETURNING s.entrypoint, s.payload, s.priority, nx.ok" \
	"), ins AS (" \
	" INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint, payload)" \
	" SELECT priority, 'queued'::pgqueuer.pgqueuer_status, entrypoint, payload FROM s WHERE ok" \
	" RETURNING id, priority, entrypoint" \
	")"

/* the 'queued' log rows of the schedules' jobs (history.c) */
#define FIRE_SQL_LOG \
	"SELECT id, 'queued'::pgqueuer.pgqueuer_status, priority, entrypoint, NULL::pg_catalog.jsonb FROM ins"

static const char *const fire_sql_tail = " SELECT entrypoint FROM ins";

static SPIPlanPtr schedule_plan = NULL;
static SPIPlanPtr unschedule_id_plan = NULL;
static SPIPlanPtr unschedule_ep_plan = NULL;
static SPIPlanPtr due_plan = NULL;
/* the variants of pgq_log_plan() (history.c) */
static SPIPlanPtr fire_plans[PGQ_LOG_PLAN_SLOTS];

/*
 * report_cron_error
 *		Raise the error of an invalid cron expression.
 */
static void
report_cron_error(const char *expression, const CronError *err)
{
	if (err->field > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cron expression \"%s\"", pgq_clip(expression)),
				 errdetail("Field %d (%s) at position %d: %s.",
						   err->field, err->field_name, err->position,
						   err->message),
				 errhint("Use 5 fields (minute hour day-of-month month day-of-week), 6 with trailing seconds, or a macro such as @hourly.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid cron expression \"%s\"", pgq_clip(expression)),
			 errdetail("At position %d: %s.", err->position, err->message),
			 errhint("Use 5 fields (minute hour day-of-month month day-of-week), 6 with trailing seconds, or a macro such as @hourly.")));
}

/* results of next_fire() */
#define NEXT_FIRE_NONE		   0 /* nothing within the search horizon */
#define NEXT_FIRE_OK		   1
#define NEXT_FIRE_OUT_OF_RANGE 2 /* later than timestamptz can hold */

/*
 * next_fire
 *		Next fire time of a parsed schedule strictly after "after" (a
 *		finite timestamp), on the wall clock of tz, as NEXT_FIRE_*.
 */
static int
next_fire(const CronSchedule *sched, const pg_tz *tz, TimestampTz after,
		  TimestampTz *next)
{
	int64 secs = after / USECS_PER_SEC;
	int64 unix_next;

	/* floor division: "after" may lie before 2000 */
	if (after < 0 && after % USECS_PER_SEC != 0)
		secs--;
	if (!pgq_cron_next_in_zone(sched, tz, secs + PG_EPOCH_OFFSET_S, &unix_next))
		return NEXT_FIRE_NONE;
	/* compare in seconds: the product could overflow */
	if (unix_next - PG_EPOCH_OFFSET_S >= END_TIMESTAMP / USECS_PER_SEC)
		return NEXT_FIRE_OUT_OF_RANGE;
	*next = (TimestampTz) (unix_next - PG_EPOCH_OFFSET_S) * USECS_PER_SEC;
	return NEXT_FIRE_OK;
}

/*
 * pgq_cron_next_or_error
 *		Next fire time of a cron expression strictly after "after" in zone
 *		tz, or an error naming the mistake or saying that it never fires.
 */
TimestampTz
pgq_cron_next_or_error(const char *expression, TimestampTz after,
					   const pg_tz *tz)
{
	CronSchedule sched;
	CronError	 err;
	TimestampTz	 next;
	int			 result;

	if (!cron_parse(expression, &sched, &err))
		report_cron_error(expression, &err);
	result = next_fire(&sched, tz, after, &next);
	if (result == NEXT_FIRE_OUT_OF_RANGE)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("next fire time of cron expression \"%s\" is out of range", pgq_clip(expression)),
				 errdetail("The first match after %s is later than the largest timestamp.",
						   timestamptz_to_str(after))));
	if (result == NEXT_FIRE_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cron expression \"%s\" never fires", pgq_clip(expression)),
				 errdetail("No time within %d years after %s matches it.",
						   CRON_SEARCH_YEARS, timestamptz_to_str(after)),
				 errhint("Check the day of month against the months, e.g. February has no 30th.")));
	return next;
}

/*
 * pgqueuer_cron_next
 *		cron_next(expression, after, timezone) -> timestamptz
 */
Datum
pgqueuer_cron_next(PG_FUNCTION_ARGS)
{
	char	   *expression = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(1);

	/* 1.0 declared cron_next(expression, after): UTC, as it was then */
	pg_tz *tz = pgq_lookup_timezone(PG_NARGS() > 2 ?
										text_to_cstring(PG_GETARG_TEXT_PP(2)) :
										"UTC",
									"timezone", NULL);

	if (TIMESTAMP_NOT_FINITE(after))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"after\" must be a finite timestamp")));
	PG_RETURN_TIMESTAMPTZ(pgq_cron_next_or_error(expression, after, tz));
}

/*
 * pgqueuer_schedule
 *		schedule(entrypoint, expression, payload, priority, timezone) -> bigint
 *
 * A NULL timezone means pgqueuer.schedule_timezone; the zone is stored
 * under the tz database's spelling of its name.
 */
Datum
pgqueuer_schedule(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[6] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, BYTEAOID,
									INT4OID, TEXTOID};
	Datum			 values[6];
	char			 nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	const char		*zone_name;
	pg_tz			*tz;
	char			*expression;
	char			 normalized[256];
	CronError		 err;
	int64			 id;

	/*
	 * 1.0 declared schedule() with four arguments, and its table has no
	 * timezone column: a 1.0 schema awaiting its update cannot schedule.
	 */
	if (PG_NARGS() < 5)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgqueuer.schedule() needs extension version 1.1"),
				 errdetail("The installed schema is an older version."),
				 errhint("Run ALTER EXTENSION pgqueuer UPDATE.")));
	pgq_require_arg(fcinfo, 0, "entrypoint");
	pgq_require_arg(fcinfo, 1, "expression");
	pgq_require_arg(fcinfo, 3, "priority");
	pgq_check_entrypoint(TextDatumGetCString(PG_GETARG_DATUM(0)));
	expression = TextDatumGetCString(PG_GETARG_DATUM(1));
	if (!cron_normalize(expression, normalized, sizeof(normalized), &err))
		report_cron_error(expression, &err);
	tz = pgq_lookup_timezone(PG_ARGISNULL(4) ? pgq_schedule_timezone :
											   TextDatumGetCString(PG_GETARG_DATUM(4)),
							 PG_ARGISNULL(4) ? "pgqueuer.schedule_timezone" : "timezone",
							 &zone_name);

	values[0] = CStringGetTextDatum(normalized);
	values[1] = PG_GETARG_DATUM(0);
	values[2] = TimestampTzGetDatum(pgq_cron_next_or_error(normalized,
														   GetCurrentTransactionStartTimestamp(),
														   tz));
	values[3] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	nulls[3] = PG_ARGISNULL(2) ? 'n' : ' ';
	values[4] = PG_GETARG_DATUM(3);
	values[5] = CStringGetTextDatum(zone_name);

	pgq_connect();
	pgq_execute(pgq_plan(&schedule_plan, schedule_sql, 6, argtypes),
				values, nulls, SPI_OK_INSERT_RETURNING);
	id = pgq_getint64(0, 1);
	pgq_finish();
	PG_RETURN_INT64(id);
}

/*
 * unschedule_by
 *		Run one of the two DELETEs; returns the rows deleted.
 */
static int
unschedule_by(SPIPlanPtr *cache, const char *sql, Oid argtype, Datum value)
{
	int n;

	pgq_connect();
	n = pgq_execute(pgq_plan(cache, sql, 1, &argtype), &value, NULL,
					SPI_OK_DELETE);
	pgq_finish();
	return n;
}

/*
 * pgqueuer_unschedule_id
 *		unschedule(schedule_id) -> boolean
 */
Datum
pgqueuer_unschedule_id(PG_FUNCTION_ARGS)
{
	pgq_require_arg(fcinfo, 0, "schedule_id");
	PG_RETURN_BOOL(unschedule_by(&unschedule_id_plan, unschedule_id_sql,
								 INT8OID, PG_GETARG_DATUM(0)) > 0);
}

/*
 * pgqueuer_unschedule_entrypoint
 *		unschedule(entrypoint) -> integer
 */
Datum
pgqueuer_unschedule_entrypoint(PG_FUNCTION_ARGS)
{
	pgq_require_arg(fcinfo, 0, "entrypoint");
	PG_RETURN_INT32(unschedule_by(&unschedule_ep_plan, unschedule_ep_sql,
								  TEXTOID, PG_GETARG_DATUM(0)));
}

/*
 * due_row_next_run
 *		For row "row" of due_sql's result (schedule id): the next fire time
 *		after now in the schedule's zone.  False, with one WARNING, when the
 *		row was written behind our back with an entrypoint the extension
 *		refuses (validate.c), a zone PostgreSQL does not know, or an
 *		expression that does not parse: the caller parks it at 'infinity'.
 */
static bool
due_row_next_run(int row, int64 id, TimestampTz now, TimestampTz *next)
{
	bool		isnull;
	char	   *expression = TextDatumGetCString(pgq_getdatum(row, 2, &isnull));
	char	   *zone = TextDatumGetCString(pgq_getdatum(row, 5, &isnull));
	const char *problem =
		pgq_entrypoint_problem(TextDatumGetCString(pgq_getdatum(row, 3, &isnull)),
							   pgq_getint64(row, 4));
	pg_tz		*tz;
	CronSchedule sched;
	CronError	 err;

	if (problem != NULL)
	{
		pgq_report_skipped_row("pgqueuer_schedules", id, problem);
		return false;
	}
	tz = pg_tzset(zone);
	if (tz == NULL || !pg_tz_acceptable(tz))
	{
		ereport(WARNING,
				(errmsg("schedule " INT64_FORMAT " has an unknown time zone %s; it will not fire",
						id, pgq_quote_for_log(zone)),
				 errhint("Delete it with pgqueuer.unschedule() and register it again with pgqueuer.schedule().")));
		return false;
	}
	if (!cron_parse(expression, &sched, &err) ||
		next_fire(&sched, tz, now, next) != NEXT_FIRE_OK)
	{
		ereport(WARNING,
				(errmsg("schedule " INT64_FORMAT " has an unusable cron expression %s; it will not fire",
						id, pgq_quote_for_log(expression)),
				 errhint("Delete it with pgqueuer.unschedule() and register it again with pgqueuer.schedule().")));
		*next = DT_NOEND;
		return false;
	}
	return true;
}

/*
 * pgq_fire_schedules
 *		Enqueue one job for every due server-fired schedule and move its
 *		next_run to the first fire time after now in its time zone.  A row
 *		whose expression does not parse, whose zone PostgreSQL does not know
 *		or whose entrypoint the extension would refuse (written behind our
 *		back, validate.c) is parked at 'infinity' with one WARNING instead of
 *		failing every pass or being fired.  Must run inside
 *		SPI.  Returns the number of jobs enqueued.
 */
int64
pgq_fire_schedules(void)
{
	static const Oid due_types[1] = {INT4OID};
	static const Oid fire_types[3] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID, BOOLARRAYOID};
	TimestampTz		 now = GetCurrentTransactionStartTimestamp();
	Datum			 limit = Int32GetDatum(FIRE_CHUNK);
	Datum			*ids;
	Datum			*nexts;
	Datum			*oks;
	Datum			 values[3];
	int				 n;
	int				 fired;

	n = pgq_execute(pgq_plan(&due_plan, due_sql, 1, due_types), &limit, NULL,
					SPI_OK_SELECT);
	if (n == 0)
		return 0;

	ids = palloc(sizeof(Datum) * n);
	nexts = palloc(sizeof(Datum) * n);
	oks = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		TimestampTz next = DT_NOEND;

		ids[i] = pgq_getdatum(i, 1, &isnull);
		oks[i] = BoolGetDatum(due_row_next_run(i, DatumGetInt64(ids[i]), now, &next));
		nexts[i] = TimestampTzGetDatum(next);
	}

	values[0] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(nexts, n, TIMESTAMPTZOID, 8, true, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(oks, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	fired = pgq_execute(pgq_log_plan(fire_plans, PGQ_LOG_TRANSITION, FIRE_SQL_HEAD,
									 FIRE_SQL_LOG, fire_sql_tail, 3, fire_types),
						values,
						NULL, SPI_OK_SELECT);
	if (fired > 0)
	{
		char **woken = palloc(sizeof(char *) * fired);

		for (int i = 0; i < fired; i++)
		{
			bool isnull;

			woken[i] = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		}
		pgq_notify_entrypoints("insert", woken, fired);
	}
	return fired;
}
