/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		migrate(): adopt an existing PgQueuer installation (its tables in
 *		another schema) into the extension's tables.
 *
 * PgQueuer's install SQL created, over its versions, the same four tables
 * with more or fewer columns: 0.x queue tables lack dedupe_key, headers
 * and attempts (the earliest also execute_after, heartbeat and
 * queue_manager_id), the log table appeared late, statistics used their
 * own status type and kept time_in_queue.  The layout is read from the
 * catalog, so every version moves with the same code: a missing column
 * takes the extension's default, a missing table moves nothing.
 *
 * In one transaction (the caller's):
 *
 *	1. check: the extension's tables are empty; no picked job belongs to a
 *	   running worker (heartbeat within pgqueuer.lease_timeout) unless
 *	   requeue_picked; the source tables are locked against PgQueuer's
 *	   workers (ACCESS EXCLUSIVE) first;
 *	2. jobs: queued and deferred jobs as they are, held (failed) jobs held,
 *	   picked jobs back to queued; ids, priority, execute_after, attempts,
 *	   dedupe keys, headers and payload bytes unchanged; the id sequence
 *	   continues after the old one;
 *	3. schedules (with last_run and next_run; they stay PgQueuer's, not
 *	   server-fired), the log (ids kept) and the statistics (buckets of
 *	   PgQueuer 0.x that differed only in time_in_queue are added up);
 *	4. counts: every insert is compared with the source before the old
 *	   tables are renamed to <name>_migrated (or dropped with drop_old).
 *
 * dry_run computes and returns the same figures without changing or
 * locking anything.
 *
 * IDENTIFICATION
 *		src/api/migrate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "args.h"
#include "compat.h"
#include "guc.h"
#include "schema_version.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(pgqueuer_migrate);

/* the four PgQueuer tables, as named in the source schema */
#define T_QUEUE 0
#define T_LOG	1
#define T_STATS 2
#define T_SCHED 3
#define NTABLES 4
static const char *const table_names[NTABLES] = {
	"pgqueuer", "pgqueuer_log", "pgqueuer_statistics", "pgqueuer_schedules"};

/* picked jobs of running workers named in the refusal at most */
#define MAX_NAMED 20

typedef struct Migration
{
	const char		*schema;	 /* quoted source schema */
	const char		*schema_raw; /* as given */
	bool			 present[NTABLES];
	FunctionCallInfo fcinfo; /* where result rows go */
} Migration;

/*
 * run_sql
 *		Run one statement built by us; returns SPI_processed.
 */
static int64
run_sql(const char *sql, int expected)
{
	int rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "pgqueuer: migration statement returned %s: %s",
			 SPI_result_code_string(rc), sql);
	return (int64) SPI_processed;
}

/*
 * scalar_int64
 *		The first column of the one row of a SELECT (NULL reads as 0).
 */
static int64
scalar_int64(const char *sql)
{
	run_sql(sql, SPI_OK_SELECT);
	return pgq_getint64(0, 1);
}

/*
 * table_present / has_column
 *		Catalog probes of the source schema.
 */
static bool
table_present(const Migration *m, int t)
{
	Oid nsp = get_namespace_oid(m->schema_raw, false);

	return OidIsValid(get_relname_relid(table_names[t], nsp));
}

static bool
has_column(const Migration *m, int t, const char *column)
{
	Oid nsp = get_namespace_oid(m->schema_raw, false);
	Oid rel = get_relname_relid(table_names[t], nsp);

	return OidIsValid(rel) && get_attnum(rel, column) != InvalidAttrNumber;
}

/*
 * col_or
 *		The source column if the layout has it, else the replacement.
 */
static const char *
col_or(const Migration *m, int t, const char *column, const char *otherwise)
{
	return has_column(m, t, column) ? psprintf("o.%s", column) : otherwise;
}

/*
 * emit
 *		One result row: step, rows (NULL when rows < 0).
 */
static void
emit(Migration *m, const char *step, int64 rows)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) m->fcinfo->resultinfo;
	Datum		   values[2];
	bool		   nulls[2] = {false, rows < 0};

	values[0] = CStringGetTextDatum(step);
	values[1] = Int64GetDatum(rows);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * check_target_empty
 *		The extension's four tables must be empty: migrated ids are kept.
 */
static void
check_target_empty(void)
{
	for (int t = 0; t < NTABLES; t++)
	{
		char *sql = psprintf("SELECT pg_catalog.count(*) FROM"
							 " (SELECT 1 FROM pgqueuer.%s LIMIT 1) x",
							 table_names[t]);

		if (scalar_int64(sql) > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table pgqueuer.%s is not empty", table_names[t]),
					 errdetail("migrate() keeps the ids of the old installation, so it moves into empty tables only."),
					 errhint("Run it right after CREATE EXTENSION pgqueuer, before any job is enqueued.")));
	}
}

/*
 * live_picked_where
 *		The condition of a picked job whose worker still heartbeats.
 */
static char *
live_picked_where(const Migration *m)
{
	const char *hb = col_or(m, T_QUEUE, "heartbeat",
							col_or(m, T_QUEUE, "updated", "o.created"));

	return psprintf("o.status::text OPERATOR(pg_catalog.=) 'picked' AND %s OPERATOR(pg_catalog.>)"
					" (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => %d))",
					hb, pgq_lease_timeout_s);
}

/*
 * check_running_workers
 *		Refuse while picked jobs belong to running workers, naming them;
 *		with requeue_picked or in a dry run, only count them.
 */
static int64
check_running_workers(Migration *m, bool requeue_picked, bool dry_run)
{
	StringInfoData names;
	int64		   n;

	n = run_sql(psprintf("SELECT o.id, %s::text FROM %s.pgqueuer o WHERE %s ORDER BY o.id",
						 col_or(m, T_QUEUE, "queue_manager_id", "NULL"),
						 m->schema, live_picked_where(m)),
				SPI_OK_SELECT);
	if (n == 0 || requeue_picked)
		return n;

	initStringInfo(&names);
	for (int i = 0; i < n && i < MAX_NAMED; i++)
	{
		bool  isnull;
		Datum qm = pgq_getdatum(i, 2, &isnull);

		appendStringInfo(&names, "%s" INT64_FORMAT " (worker %s)", i > 0 ? ", " : "",
						 pgq_getint64(i, 1), isnull ? "unknown" : TextDatumGetCString(qm));
	}
	if (n > MAX_NAMED)
		appendStringInfo(&names, " and " INT64_FORMAT " more", n - MAX_NAMED);
	ereport(dry_run ? NOTICE : ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("picked jobs in %s.pgqueuer belong to running workers: %s",
					m->schema, names.data),
			 errdetail(INT64_FORMAT " jobs have a heartbeat younger than pgqueuer.lease_timeout.", n),
			 errhint("Stop the PgQueuer workers and let them finish, or pass requeue_picked => true (pgq migrate --requeue-picked) to put these jobs back in the queue.")));
	return n;
}

/*
 * plan_jobs
 *		Count what moves from the queue table, one result row per kind.
 *		Returns the total.
 */
static int64
plan_jobs(Migration *m, int64 live, bool requeue_picked)
{
	const char *ea = col_or(m, T_QUEUE, "execute_after", "o.created");
	int64		total;

	run_sql(psprintf("SELECT"
					 " pg_catalog.count(*) FILTER (WHERE o.status::text OPERATOR(pg_catalog.=) 'queued'"
					 "   AND %s OPERATOR(pg_catalog.<=) pg_catalog.now()),"
					 " pg_catalog.count(*) FILTER (WHERE o.status::text OPERATOR(pg_catalog.=) 'queued'"
					 "   AND %s OPERATOR(pg_catalog.>) pg_catalog.now()),"
					 " pg_catalog.count(*) FILTER (WHERE o.status::text OPERATOR(pg_catalog.=) 'failed'),"
					 " pg_catalog.count(*) FILTER (WHERE o.status::text OPERATOR(pg_catalog.=) 'picked'),"
					 " pg_catalog.count(*)"
					 " FROM %s.pgqueuer o",
					 ea, ea, m->schema),
			SPI_OK_SELECT);
	total = pgq_getint64(0, 5);
	emit(m, "jobs queued", pgq_getint64(0, 1));
	emit(m, "jobs deferred", pgq_getint64(0, 2));
	emit(m, "jobs held as failed", pgq_getint64(0, 3));
	emit(m, "jobs picked by stopped workers, requeued", pgq_getint64(0, 4) - live);
	emit(m, requeue_picked ? "jobs picked by running workers, requeued" : "jobs picked by running workers, refused (requeue_picked requeues them)", live);
	return total;
}

/*
 * move_jobs
 *		Copy the queue; picked jobs become queued again.  Returns the rows
 *		inserted.
 */
static int64
move_jobs(Migration *m)
{
	const char *created = "COALESCE(o.created, pg_catalog.now())";
	int64		n;

	n = run_sql(psprintf("INSERT INTO pgqueuer.pgqueuer (id, priority, queue_manager_id, created,"
						 " updated, heartbeat, execute_after, status, entrypoint, dedupe_key, payload,"
						 " headers, attempts)"
						 " SELECT o.id, o.priority, NULL, %s, %s, %s, %s,"
						 "  (CASE WHEN o.status::text OPERATOR(pg_catalog.=) 'failed' THEN 'failed'"
						 "   ELSE 'queued' END)::pgqueuer.pgqueuer_status,"
						 "  o.entrypoint, %s, o.payload, %s, %s"
						 " FROM %s.pgqueuer o ORDER BY o.id",
						 created, col_or(m, T_QUEUE, "updated", created),
						 col_or(m, T_QUEUE, "heartbeat", created),
						 col_or(m, T_QUEUE, "execute_after", created),
						 col_or(m, T_QUEUE, "dedupe_key", "NULL"),
						 col_or(m, T_QUEUE, "headers", "NULL"),
						 col_or(m, T_QUEUE, "attempts", "0"),
						 m->schema),
				SPI_OK_INSERT);
	return n;
}

/*
 * continue_sequence
 *		Make the extension's sequence of table t continue after the old one
 *		(and after every id moved).
 */
static void
continue_sequence(Migration *m, int t)
{
	run_sql(psprintf("SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('pgqueuer.%s', 'id'),"
					 " GREATEST((SELECT pg_catalog.max(id) FROM pgqueuer.%s),"
					 "  (SELECT pg_catalog.max(id) FROM %s.%s),"
					 "  pg_catalog.nextval(pg_catalog.pg_get_serial_sequence(%s, 'id')), 1))",
					 table_names[t], table_names[t], m->schema, table_names[t],
					 quote_literal_cstr(psprintf("%s.%s", m->schema, table_names[t]))),
			SPI_OK_SELECT);
}

/*
 * move_table
 *		Count (and unless dry_run copy) the log, statistics or schedules;
 *		the counts must agree.  Returns the rows counted.
 */
static int64
move_table(Migration *m, int t, bool dry_run)
{
	char *insert;
	int64 counted;
	int64 moved;

	if (!m->present[t])
		return 0;
	counted = scalar_int64(psprintf("SELECT %s FROM %s.%s",
									t == T_STATS ? "pg_catalog.sum(count)::pg_catalog.int8" : "pg_catalog.count(*)",
									m->schema, table_names[t]));
	if (dry_run)
		return counted;

	if (t == T_LOG)
		insert = psprintf("INSERT INTO pgqueuer.pgqueuer_log (id, created, job_id, status, priority,"
						  " entrypoint, traceback, aggregated)"
						  " SELECT o.id, o.created, o.job_id, o.status::text::pgqueuer.pgqueuer_status,"
						  "  o.priority, o.entrypoint, %s, %s FROM %s.pgqueuer_log o",
						  col_or(m, T_LOG, "traceback", "NULL"),
						  col_or(m, T_LOG, "aggregated", "false"), m->schema);
	else if (t == T_SCHED)
		insert = psprintf("INSERT INTO pgqueuer.pgqueuer_schedules (id, expression, entrypoint,"
						  " heartbeat, created, updated, next_run, last_run, status)"
						  " SELECT o.id, o.expression, o.entrypoint, o.heartbeat, o.created, o.updated,"
						  "  o.next_run, o.last_run, o.status::text::pgqueuer.pgqueuer_status"
						  " FROM %s.pgqueuer_schedules o",
						  m->schema);
	else
	{
		/* 0.x kept time_in_queue in the bucket: add those buckets up */
		insert = psprintf("INSERT INTO pgqueuer.pgqueuer_statistics (created, count, priority, status,"
						  " entrypoint)"
						  " SELECT pg_catalog.min(o.created), pg_catalog.sum(o.count), o.priority,"
						  "  o.status::text::pgqueuer.pgqueuer_status, o.entrypoint"
						  " FROM %s.pgqueuer_statistics o"
						  " GROUP BY o.priority, pg_catalog.date_trunc('sec', pg_catalog.timezone('UTC', o.created)),"
						  "  o.status::text, o.entrypoint",
						  m->schema);
		run_sql(insert, SPI_OK_INSERT);
		moved = scalar_int64("SELECT pg_catalog.sum(count)::pg_catalog.int8 FROM pgqueuer.pgqueuer_statistics");
		if (moved != counted)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("statistics counts differ after the copy: " INT64_FORMAT " moved, " INT64_FORMAT " in the source",
							moved, counted),
					 errdetail("Nothing was changed.")));
		return counted;
	}
	moved = run_sql(insert, SPI_OK_INSERT);
	if (moved != counted)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s: " INT64_FORMAT " rows moved, " INT64_FORMAT " in the source",
						table_names[t], moved, counted),
				 errdetail("Nothing was changed.")));
	if (t != T_STATS)
		continue_sequence(m, t);
	return counted;
}

/*
 * retire_old_tables
 *		Rename the old tables to <name>_migrated, or drop them (and
 *		PgQueuer's trigger function and status types in that schema).
 */
static void
retire_old_tables(Migration *m, bool drop_old, bool dry_run)
{
	for (int t = 0; t < NTABLES; t++)
	{
		if (!m->present[t])
			continue;
		if (drop_old)
		{
			if (!dry_run)
				run_sql(psprintf("DROP TABLE %s.%s", m->schema, table_names[t]),
						SPI_OK_UTILITY);
			emit(m, psprintf("drop table %s.%s", m->schema, table_names[t]), -1);
		}
		else
		{
			if (!dry_run)
				run_sql(psprintf("ALTER TABLE %s.%s RENAME TO %s_migrated", m->schema,
								 table_names[t], table_names[t]),
						SPI_OK_UTILITY);
			emit(m, psprintf("rename table %s.%s to %s_migrated", m->schema, table_names[t], table_names[t]), -1);
		}
	}
	if (drop_old)
	{
		if (!dry_run)
		{
			run_sql(psprintf("DROP FUNCTION IF EXISTS %s.fn_pgqueuer_changed()", m->schema),
					SPI_OK_UTILITY);
			run_sql(psprintf("DROP TYPE IF EXISTS %s.pgqueuer_status, %s.pgqueuer_statistics_status",
							 m->schema, m->schema),
					SPI_OK_UTILITY);
		}
		emit(m, psprintf("drop function %s.fn_pgqueuer_changed() and the status types", m->schema), -1);
	}
}

/*
 * pgqueuer_migrate
 *		migrate(source_schema, dry_run, drop_old, requeue_picked)
 *		-> TABLE(step text, rows bigint)
 */
Datum
pgqueuer_migrate(PG_FUNCTION_ARGS)
{
	Migration				 m;
	bool					 dry_run;
	bool					 drop_old;
	bool					 requeue_picked;
	int64					 jobs;
	int64					 live;
	static const char *const what[NTABLES] = {"jobs", "log rows", "statistics count", "schedules"};

	pgq_init_materialized_srf(fcinfo);
	pgq_require_arg(fcinfo, 0, "source_schema");
	pgq_require_arg(fcinfo, 1, "dry_run");
	pgq_require_arg(fcinfo, 2, "drop_old");
	pgq_require_arg(fcinfo, 3, "requeue_picked");
	memset(&m, 0, sizeof(m));
	m.fcinfo = fcinfo;
	m.schema_raw = text_to_cstring(PG_GETARG_TEXT_PP(0));
	m.schema = quote_identifier(m.schema_raw);
	dry_run = PG_GETARG_BOOL(1);
	drop_old = PG_GETARG_BOOL(2);
	requeue_picked = PG_GETARG_BOOL(3);

	if (strcmp(m.schema_raw, PGQ_SCHEMA) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the source schema must not be \"%s\"", PGQ_SCHEMA),
				 errhint("Rename PgQueuer's schema before CREATE EXTENSION pgqueuer; pgq migrate does it.")));
	if (!OidIsValid(get_namespace_oid(m.schema_raw, true)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_NAME),
				 errmsg("schema \"%s\" does not exist", pgq_clip(m.schema_raw))));
	for (int t = 0; t < NTABLES; t++)
		m.present[t] = table_present(&m, t);
	/* PgQueuer 0.1-0.3 had a log of durations without job ids: not ours */
	if (m.present[T_LOG] && !has_column(&m, T_LOG, "job_id"))
		m.present[T_LOG] = false;
	if (!m.present[T_QUEUE])
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("no PgQueuer queue table %s.pgqueuer", pgq_clip(m.schema)),
				 errhint("Name the schema of the PgQueuer installation (PGQUEUER_SCHEMA, default public).")));

	pgq_connect();
	check_target_empty();
	if (!dry_run)
		run_sql(psprintf("LOCK TABLE %s.pgqueuer IN ACCESS EXCLUSIVE MODE", m.schema),
				SPI_OK_UTILITY);
	emit(&m, psprintf("PgQueuer %s layout in schema %s", has_column(&m, T_QUEUE, "attempts") ? "1.x" : "0.x", m.schema), -1);

	live = check_running_workers(&m, requeue_picked, dry_run);
	jobs = plan_jobs(&m, live, requeue_picked);
	if (!dry_run)
	{
		int64 moved;

		for (int t = 1; t < NTABLES; t++)
			if (m.present[t])
				run_sql(psprintf("LOCK TABLE %s.%s IN ACCESS EXCLUSIVE MODE", m.schema,
								 table_names[t]),
						SPI_OK_UTILITY);
		moved = move_jobs(&m);
		if (moved != jobs)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("jobs: " INT64_FORMAT " moved, " INT64_FORMAT " in the source", moved, jobs),
					 errdetail("Nothing was changed.")));
		continue_sequence(&m, T_QUEUE);
	}
	for (int t = 1; t < NTABLES; t++)
		emit(&m, what[t], move_table(&m, t, dry_run));
	retire_old_tables(&m, drop_old, dry_run);
	pgq_finish();
	return (Datum) 0;
}
