/*-------------------------------------------------------------------------
 *
 * verify.c
 *		pgqueuer.verify(): check the installation against the install
 *		script and the stored settings.
 *
 * The expected schema (tables and columns, the status enum, indexes,
 * triggers, functions) is described by the static tables below, which
 * mirror sql/pgqueuer--1.0.sql and must change with it (the admin
 * regression test counts the installed objects to catch a forgotten
 * update).  Each kind of
 * object is checked by one catalog query that gets the expected objects as
 * arrays and returns one human-readable line per problem, so a healthy
 * installation returns no rows.  The queries read only the catalogs (and
 * the settings table, as whole rows, when it exists), so any damage is
 * reported rather than raised as an error.
 *
 * verify() runs with the fixed search_path of its declaration (pg_catalog,
 * pg_temp), so type names of schema pgqueuer are printed qualified.  Its
 * SQL, like all of the extension's, qualifies every object and operator.
 *
 * IDENTIFICATION
 *		src/api/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "durability.h"
#include "pgqueuer.h"
#include "row_checks.h"

PG_FUNCTION_INFO_V1(pgqueuer_verify);

/*
 * The type named by the text expression x, read as pg_catalog's type when
 * x is a plain name ("text", "uuid[]") that pg_catalog has, so that no
 * type of another schema on search_path can stand in for it.  Names with a
 * schema or with spaces ("double precision") need no help; SQL keywords
 * ("integer") are pg_catalog's by grammar.
 */
#define PGQ_REGTYPE(x) \
	"COALESCE(CASE WHEN pg_catalog.strpos(" x ", ' ') OPERATOR(pg_catalog.=) 0" \
	"           AND pg_catalog.strpos(" x ", '.') OPERATOR(pg_catalog.=) 0" \
	"          THEN pg_catalog.to_regtype('pg_catalog.' OPERATOR(pg_catalog.||) " x ") END," \
	"         pg_catalog.to_regtype(" x "))"

/* the extension's schema, as a scalar subquery */
#define PGQ_NSP \
	"(SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'pgqueuer')"

/* The tables of the install script. */
static const char *const expected_tables[] = {
	"pgqueuer",
	"pgqueuer_log",
	"pgqueuer_statistics",
	"pgqueuer_schedules",
	"pgqueuer_entrypoints",
	"pgqueuer_rate_grants",
	"pgqueuer_settings",
};

/*
 * Every column of the install script.  Types are as to_regtype() reads
 * them and carry no type modifier.
 */
typedef struct ExpectedColumn
{
	const char *table;
	const char *column;
	const char *type;
	bool		notnull;
} ExpectedColumn;

#define TSTZ "timestamp with time zone"
#define STATUS "pgqueuer.pgqueuer_status"

static const ExpectedColumn expected_columns[] = {
	{"pgqueuer", "id", "bigint", true},
	{"pgqueuer", "priority", "integer", true},
	{"pgqueuer", "queue_manager_id", "uuid", false},
	{"pgqueuer", "created", TSTZ, true},
	{"pgqueuer", "updated", TSTZ, true},
	{"pgqueuer", "heartbeat", TSTZ, true},
	{"pgqueuer", "execute_after", TSTZ, true},
	{"pgqueuer", "status", STATUS, true},
	{"pgqueuer", "entrypoint", "text", true},
	{"pgqueuer", "dedupe_key", "text", false},
	{"pgqueuer", "payload", "bytea", false},
	{"pgqueuer", "headers", "jsonb", false},
	{"pgqueuer", "attempts", "integer", true},

	{"pgqueuer_log", "id", "bigint", true},
	{"pgqueuer_log", "created", TSTZ, true},
	{"pgqueuer_log", "job_id", "bigint", true},
	{"pgqueuer_log", "status", STATUS, true},
	{"pgqueuer_log", "priority", "integer", true},
	{"pgqueuer_log", "entrypoint", "text", true},
	{"pgqueuer_log", "traceback", "jsonb", false},
	{"pgqueuer_log", "aggregated", "boolean", false},

	{"pgqueuer_statistics", "id", "bigint", true},
	{"pgqueuer_statistics", "created", TSTZ, true},
	{"pgqueuer_statistics", "count", "bigint", true},
	{"pgqueuer_statistics", "priority", "integer", true},
	{"pgqueuer_statistics", "status", STATUS, true},
	{"pgqueuer_statistics", "entrypoint", "text", true},

	{"pgqueuer_schedules", "id", "bigint", true},
	{"pgqueuer_schedules", "expression", "text", true},
	{"pgqueuer_schedules", "entrypoint", "text", true},
	{"pgqueuer_schedules", "heartbeat", TSTZ, true},
	{"pgqueuer_schedules", "created", TSTZ, true},
	{"pgqueuer_schedules", "updated", TSTZ, true},
	{"pgqueuer_schedules", "next_run", TSTZ, true},
	{"pgqueuer_schedules", "last_run", TSTZ, false},
	{"pgqueuer_schedules", "status", STATUS, false},
	{"pgqueuer_schedules", "payload", "bytea", false},
	{"pgqueuer_schedules", "priority", "integer", true},
	{"pgqueuer_schedules", "server_fired", "boolean", true},
	{"pgqueuer_schedules", "enabled", "boolean", true},

	{"pgqueuer_entrypoints", "entrypoint", "text", true},
	{"pgqueuer_entrypoints", "concurrency_limit", "integer", true},
	{"pgqueuer_entrypoints", "requests_per_second", "double precision", true},
	{"pgqueuer_entrypoints", "lease_timeout", "interval", false},
	{"pgqueuer_entrypoints", "max_attempts", "integer", false},
	{"pgqueuer_entrypoints", "retry_backoff_base", "interval", true},
	{"pgqueuer_entrypoints", "retry_backoff_max", "interval", true},
	{"pgqueuer_entrypoints", "on_failure", "text", true},
	{"pgqueuer_entrypoints", "paused", "boolean", true},
	{"pgqueuer_entrypoints", "registered", "boolean", true},
	{"pgqueuer_entrypoints", "created", TSTZ, true},
	{"pgqueuer_entrypoints", "updated", TSTZ, true},

	{"pgqueuer_rate_grants", "entrypoint", "text", true},
	{"pgqueuer_rate_grants", "granted_at", TSTZ, true},
	{"pgqueuer_rate_grants", "jobs", "integer", true},

	{"pgqueuer_settings", "name", "text", true},
	{"pgqueuer_settings", "value", "text", true},
	{"pgqueuer_settings", "updated", TSTZ, true},
};

/* The labels of pgqueuer.pgqueuer_status, in order (PgQueuer's). */
static const char *const expected_labels[] = {
	"queued", "picked", "successful", "exception", "canceled", "deleted", "failed",
};

/* Every index of the install script, constraint indexes included. */
typedef struct ExpectedIndex
{
	const char *name;
	const char *table;
	bool		unique;
} ExpectedIndex;

static const ExpectedIndex expected_indexes[] = {
	{"pgqueuer_pkey", "pgqueuer", true},
	{"pgqueuer_priority_id_id1_idx", "pgqueuer", false},
	{"pgqueuer_updated_id_id1_idx", "pgqueuer", false},
	{"pgqueuer_heartbeat_id_id1_idx", "pgqueuer", false},
	{"pgqueuer_queue_manager_id_idx", "pgqueuer", false},
	{"pgqueuer_ep_prio_id_idx", "pgqueuer", false},
	{"pgqueuer_deferred_idx", "pgqueuer", false},
	{"pgqueuer_unique_dedupe_key", "pgqueuer", true},
	{"pgqueuer_log_pkey", "pgqueuer_log", true},
	{"pgqueuer_log_not_aggregated", "pgqueuer_log", false},
	{"pgqueuer_log_created", "pgqueuer_log", false},
	{"pgqueuer_log_status", "pgqueuer_log", false},
	{"pgqueuer_log_job_id_status", "pgqueuer_log", false},
	{"pgqueuer_log_traceback_idx", "pgqueuer_log", false},
	{"pgqueuer_statistics_pkey", "pgqueuer_statistics", true},
	{"pgqueuer_statistics_unique_count", "pgqueuer_statistics", true},
	{"pgqueuer_schedules_pkey", "pgqueuer_schedules", true},
	{"pgqueuer_schedules_expression_entrypoint_key", "pgqueuer_schedules", true},
	{"pgqueuer_entrypoints_pkey", "pgqueuer_entrypoints", true},
	{"pgqueuer_rate_grants_ep_at_idx", "pgqueuer_rate_grants", false},
	{"pgqueuer_settings_pkey", "pgqueuer_settings", true},
};

/* The triggers of the install script, with their pg_trigger.tgtype. */
typedef struct ExpectedTrigger
{
	const char *name;
	const char *table;
	const char *function;		/* as to_regprocedure() reads it */
	int16		tgtype;
} ExpectedTrigger;

static const ExpectedTrigger expected_triggers[] = {
	{"tg_pgqueuer_changed", "pgqueuer", "pgqueuer.fn_pgqueuer_changed()",
	TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE | TRIGGER_TYPE_TRUNCATE},
	{"settings_apply", "pgqueuer_settings", "pgqueuer.settings_apply()",
	TRIGGER_TYPE_ROW | TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE},
};

/*
 * Every function of the install script: name and argument types, the
 * latter separated by ", " and as to_regtype() reads them.
 */
typedef struct ExpectedFunction
{
	const char *name;
	const char *args;
} ExpectedFunction;

static const ExpectedFunction expected_functions[] = {
	{"fn_pgqueuer_changed", ""},
	{"settings_apply", ""},
	{"enqueue", "text, bytea, integer, interval, text, jsonb, text"},
	{"enqueue_batch", "text[], bytea[], integer[], interval[], text[], jsonb[], text"},
	{"dequeue", "integer, text[], uuid, integer"},
	{"complete", "bigint[], " STATUS "[], jsonb[], uuid"},
	{"retry", "bigint, interval, jsonb, uuid"},
	{"heartbeat", "bigint[], uuid"},
	{"requeue", "bigint[]"},
	{"cancel", "bigint[]"},
	{"register_entrypoint", "text, integer, interval, integer, double precision, interval, interval, text"},
	{"pause", "text"},
	{"resume", "text"},
	{"queue_size", ""},
	{"job_status", "bigint[]"},
	{"log_statistics", "integer, interval"},
	{"cron_next", "text, timestamp with time zone"},
	{"schedule", "text, text, bytea, integer"},
	{"unschedule", "bigint"},
	{"unschedule", "text"},
	{"set_durability", "text, boolean"},
	{"autovac", "boolean, boolean"},
	{"verify", ""},
	{"run_maintenance", ""},
	/* 1.1 */
	{"grant_pgqueuer_client_access", "regrole"},
	{"revoke_pgqueuer_client_access", "regrole"},
	{"entrypoint_summary", ""},
	{"list_jobs", "text[], " STATUS "[], bigint[], text[], integer"},
	{"job_detail", "bigint, integer"},
	{"job_history", "bigint"},
	{"workers", ""},
	{"list_schedules", ""},
	{"set_schedule_enabled", "bigint, boolean"},
	{"metrics", ""},
};

/*
 * Missing or misplaced tables; missing columns, wrong types, wrong
 * nullability.  $1: tables; $2..$5: table, column, type, NOT NULL of each
 * column.
 */
static const char *const tables_sql =
"WITH t AS ("
" SELECT e.tab, e.ord, c.oid AS relid, c.relkind"
" FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY AS e(tab, ord)"
" LEFT JOIN pg_catalog.pg_class c"
"   ON c.relname OPERATOR(pg_catalog.=) e.tab AND c.relnamespace OPERATOR(pg_catalog.=) " PGQ_NSP
") SELECT p.line FROM ("
" SELECT t.ord, 0::bigint AS cord, 0 AS k,"
"   CASE WHEN t.relid IS NULL THEN 'missing table pgqueuer.' OPERATOR(pg_catalog.||) t.tab"
"        ELSE 'pgqueuer.' OPERATOR(pg_catalog.||) t.tab OPERATOR(pg_catalog.||) ' is not an ordinary table' END AS line"
" FROM t WHERE t.relid IS NULL OR t.relkind OPERATOR(pg_catalog.<>) 'r'"
" UNION ALL"
" SELECT t.ord, e.ord, l.k, l.line"
" FROM unnest($2::pg_catalog.text[], $3::pg_catalog.text[], $4::pg_catalog.text[], $5::pg_catalog.bool[])"
"   WITH ORDINALITY AS e(tab, col, typ, not_null, ord)"
" JOIN t ON t.tab OPERATOR(pg_catalog.=) e.tab AND t.relkind OPERATOR(pg_catalog.=) 'r'"
" LEFT JOIN pg_catalog.pg_attribute a"
"   ON a.attrelid OPERATOR(pg_catalog.=) t.relid AND a.attname OPERATOR(pg_catalog.=) e.col"
"   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
" CROSS JOIN LATERAL (VALUES"
"  (1, CASE WHEN a.attnum IS NULL"
"      THEN pg_catalog.format('missing column pgqueuer.%s.%s', e.tab, e.col) END),"
"  (2, CASE WHEN a.attnum IS NOT NULL AND NOT COALESCE("
"            a.atttypid OPERATOR(pg_catalog.=) " PGQ_REGTYPE("e.typ") "::pg_catalog.oid"
"            AND a.atttypmod OPERATOR(pg_catalog.=) -1, false)"
"      THEN pg_catalog.format('column pgqueuer.%s.%s has type %s, expected %s',"
"           e.tab, e.col, pg_catalog.format_type(a.atttypid, a.atttypmod), e.typ) END),"
"  (3, CASE WHEN a.attnum IS NOT NULL AND a.attnotnull OPERATOR(pg_catalog.<>) e.not_null"
"      THEN pg_catalog.format('column pgqueuer.%s.%s is %s, expected %s', e.tab, e.col,"
"           CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'nullable' END,"
"           CASE WHEN e.not_null THEN 'NOT NULL' ELSE 'nullable' END) END)"
" ) AS l(k, line)"
" WHERE l.line IS NOT NULL"
") AS p ORDER BY p.ord, p.cord, p.k";

/* The status enum and its labels in order.  $1: the expected labels. */
static const char *const enum_sql =
"SELECT CASE"
"  WHEN ty.oid IS NULL THEN 'missing type pgqueuer.pgqueuer_status'"
"  WHEN ty.typtype OPERATOR(pg_catalog.<>) 'e' THEN 'type pgqueuer.pgqueuer_status is not an enum'"
"  ELSE pg_catalog.format('enum pgqueuer.pgqueuer_status has labels (%s), expected (%s)',"
"       pg_catalog.array_to_string(l.labels, ', '), pg_catalog.array_to_string($1, ', '))"
"  END"
" FROM (VALUES (1)) AS one(x)"
" LEFT JOIN pg_catalog.pg_type ty"
"   ON ty.typname OPERATOR(pg_catalog.=) 'pgqueuer_status' AND ty.typnamespace OPERATOR(pg_catalog.=) " PGQ_NSP
" LEFT JOIN LATERAL ("
"   SELECT pg_catalog.array_agg(e.enumlabel::pg_catalog.text ORDER BY e.enumsortorder) AS labels"
"   FROM pg_catalog.pg_enum e WHERE e.enumtypid OPERATOR(pg_catalog.=) ty.oid) AS l ON true"
" WHERE ty.oid IS NULL OR ty.typtype OPERATOR(pg_catalog.<>) 'e' "
"   OR NOT COALESCE(l.labels OPERATOR(pg_catalog.=) $1::pg_catalog.text[], false)";

/*
 * Indexes: present, on the right table, unique where expected, valid.
 * $1..$3: name, table, unique of each index.
 */
static const char *const indexes_sql =
"SELECT l.line"
" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[], $3::pg_catalog.bool[])"
"   WITH ORDINALITY AS e(idx, tab, uniq, ord)"
" LEFT JOIN pg_catalog.pg_class ic"
"   ON ic.relname OPERATOR(pg_catalog.=) e.idx AND ic.relnamespace OPERATOR(pg_catalog.=) " PGQ_NSP " AND ic.relkind OPERATOR(pg_catalog.=) 'i'"
" LEFT JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) ic.oid"
" LEFT JOIN pg_catalog.pg_class tc ON tc.oid OPERATOR(pg_catalog.=) i.indrelid"
" CROSS JOIN LATERAL (VALUES"
"  (1, CASE WHEN ic.oid IS NULL THEN 'missing index ' OPERATOR(pg_catalog.||) e.idx END),"
"  (2, CASE WHEN tc.relname OPERATOR(pg_catalog.<>) e.tab"
"      THEN pg_catalog.format('index %s is on table pgqueuer.%s, expected pgqueuer.%s',"
"           e.idx, tc.relname, e.tab) END),"
"  (3, CASE WHEN e.uniq AND NOT i.indisunique"
"      THEN pg_catalog.format('index %s is not unique', e.idx) END),"
"  (4, CASE WHEN NOT i.indisvalid"
"      THEN pg_catalog.format('index %s is not valid', e.idx) END)"
" ) AS l(k, line)"
" WHERE l.line IS NOT NULL"
" ORDER BY e.ord, l.k";

/*
 * Triggers: present, enabled, row or statement level, events and timing,
 * function.  $1..$4: name, table, function, tgtype of each trigger.
 */
static const char *const triggers_sql =
"SELECT l.line"
" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[], $3::pg_catalog.text[], $4::pg_catalog.int2[])"
"   WITH ORDINALITY AS e(tg, tab, fn, typ, ord)"
" LEFT JOIN pg_catalog.pg_class c"
"   ON c.relname OPERATOR(pg_catalog.=) e.tab AND c.relnamespace OPERATOR(pg_catalog.=) " PGQ_NSP
" LEFT JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) c.oid AND t.tgname OPERATOR(pg_catalog.=) e.tg"
" CROSS JOIN LATERAL (VALUES"
"  (1, CASE WHEN t.oid IS NULL"
"      THEN pg_catalog.format('missing trigger %s on pgqueuer.%s', e.tg, e.tab) END),"
"  (2, CASE WHEN t.tgenabled OPERATOR(pg_catalog.=) 'D'"
"      THEN pg_catalog.format('trigger %s on pgqueuer.%s is disabled', e.tg, e.tab)"
"           WHEN t.tgenabled OPERATOR(pg_catalog.=) 'R'"
"      THEN pg_catalog.format('trigger %s on pgqueuer.%s fires only in replica sessions',"
"           e.tg, e.tab) END),"
"  (3, CASE WHEN (t.tgtype OPERATOR(pg_catalog.&) 1) OPERATOR(pg_catalog.<>) (e.typ OPERATOR(pg_catalog.&) 1)"
"      THEN pg_catalog.format('trigger %s on pgqueuer.%s is %s-level, expected %s-level',"
"           e.tg, e.tab,"
"           CASE WHEN (t.tgtype OPERATOR(pg_catalog.&) 1) OPERATOR(pg_catalog.=) 1 THEN 'row' ELSE 'statement' END,"
"           CASE WHEN (e.typ OPERATOR(pg_catalog.&) 1) OPERATOR(pg_catalog.=) 1 THEN 'row' ELSE 'statement' END)"
"           WHEN t.tgtype OPERATOR(pg_catalog.<>) e.typ"
"      THEN pg_catalog.format('trigger %s on pgqueuer.%s fires at the wrong time or on the wrong events',"
"           e.tg, e.tab) END),"
"  (4, CASE WHEN t.oid IS NOT NULL AND NOT COALESCE(t.tgfoid OPERATOR(pg_catalog.=)"
"            pg_catalog.to_regprocedure(e.fn)::pg_catalog.oid, false)"
"      THEN pg_catalog.format('trigger %s on pgqueuer.%s calls %s, expected %s',"
"           e.tg, e.tab, t.tgfoid::pg_catalog.regprocedure, e.fn) END)"
" ) AS l(k, line)"
" WHERE l.line IS NOT NULL"
" ORDER BY e.ord, l.k";

/*
 * Functions, by name and argument types.  The argument types are resolved
 * one by one with to_regtype(), which, unlike to_regprocedure(), does not
 * fail when a type is missing (an unknown type becomes 0, matching
 * nothing).  $1, $2: name and argument list of each function.
 */
static const char *const functions_sql =
"SELECT pg_catalog.format('missing function pgqueuer.%s(%s)', e.name, e.args)"
" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[]) WITH ORDINALITY AS e(name, args, ord)"
" WHERE NOT EXISTS ("
"   SELECT FROM pg_catalog.pg_proc p"
"   WHERE p.pronamespace OPERATOR(pg_catalog.=) " PGQ_NSP " AND p.proname OPERATOR(pg_catalog.=) e.name"
"   AND p.proargtypes OPERATOR(pg_catalog.=) pg_catalog.array_to_string(ARRAY("
"       SELECT " PGQ_REGTYPE("u.a") "::pg_catalog.oid"
"       FROM pg_catalog.unnest(pg_catalog.string_to_array(e.args, ', '))"
"         WITH ORDINALITY AS u(a, n)"
"       ORDER BY u.n), ' ', '0')::pg_catalog.oidvector)"
" ORDER BY e.ord";

/*
 * The stored settings, read as whole rows so that a damaged settings table
 * (a dropped column) does not make verify() fail.
 */
static const char *const settings_sql =
"SELECT pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->>) 'name', pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->>) 'value'"
" FROM pgqueuer.pgqueuer_settings s"
" WHERE pg_catalog.to_jsonb(s) OPERATOR(pg_catalog.->>) 'name'"
"   OPERATOR(pg_catalog.=) ANY (ARRAY['durability', 'autovac']::pg_catalog.text[])";

/*
 * Tables whose persistence differs from the stored level.  $1, $2: table
 * and LOGGED-ness wanted by the level; $3: the level.
 */
static const char *const durability_sql =
"SELECT pg_catalog.format('table pgqueuer.%s is %s but durability level \"%s\" wants it %s',"
"       e.tab, CASE WHEN c.relpersistence OPERATOR(pg_catalog.=) 'u' THEN 'UNLOGGED' ELSE 'LOGGED' END, $3,"
"       CASE WHEN e.logged THEN 'LOGGED' ELSE 'UNLOGGED' END)"
" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.bool[]) WITH ORDINALITY AS e(tab, logged, ord)"
" JOIN pg_catalog.pg_class c"
"   ON c.relname OPERATOR(pg_catalog.=) e.tab AND c.relnamespace OPERATOR(pg_catalog.=) " PGQ_NSP " AND c.relkind OPERATOR(pg_catalog.=) 'r'"
" WHERE (c.relpersistence OPERATOR(pg_catalog.<>) 'u') OPERATOR(pg_catalog.<>) e.logged"
" ORDER BY e.ord";

/*
 * Storage parameters that do not match the stored autovac choice: with
 * $4 (on) each must be present with its value, otherwise none may be.
 * $1..$3: table, parameter, value.
 */
static const char *const autovac_sql =
"SELECT l.line"
" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[], $3::pg_catalog.text[])"
"   WITH ORDINALITY AS e(tab, opt, val, ord)"
" JOIN pg_catalog.pg_class c"
"   ON c.relname OPERATOR(pg_catalog.=) e.tab AND c.relnamespace OPERATOR(pg_catalog.=) " PGQ_NSP " AND c.relkind OPERATOR(pg_catalog.=) 'r'"
" LEFT JOIN pg_catalog.pg_options_to_table(c.reloptions) AS o"
"   ON o.option_name OPERATOR(pg_catalog.=) e.opt"
" CROSS JOIN LATERAL (SELECT CASE"
"  WHEN $4 AND o.option_name IS NULL"
"  THEN pg_catalog.format('table pgqueuer.%s lacks storage parameter %s=%s that autovac \"on\" wants',"
"       e.tab, e.opt, e.val)"
"  WHEN $4 AND o.option_value::pg_catalog.numeric OPERATOR(pg_catalog.<>) e.val::pg_catalog.numeric"
"  THEN pg_catalog.format('table pgqueuer.%s has storage parameter %s=%s but autovac \"on\" wants %s',"
"       e.tab, e.opt, o.option_value, e.val)"
"  WHEN NOT $4 AND o.option_name IS NOT NULL"
"  THEN pg_catalog.format('table pgqueuer.%s has storage parameter %s=%s but autovac \"off\" wants it unset',"
"       e.tab, e.opt, o.option_value)"
"  END AS line) AS l"
" WHERE l.line IS NOT NULL"
" ORDER BY e.ord";

/* A notification queue more than half full: pgqueuer stops notifying. */
static const char *const notify_sql =
"SELECT pg_catalog.format('notification queue is %s%% full; pgqueuer sends no notifications"
" while it is half full or more',"
"       pg_catalog.round((u.usage OPERATOR(pg_catalog.*) 100)::pg_catalog.numeric, 1))"
" FROM pg_catalog.pg_notification_queue_usage() AS u(usage)"
" WHERE u.usage OPERATOR(pg_catalog.>) 0.5";

static SPIPlanPtr plan_tables = NULL;
static SPIPlanPtr plan_enum = NULL;
static SPIPlanPtr plan_indexes = NULL;
static SPIPlanPtr plan_triggers = NULL;
static SPIPlanPtr plan_functions = NULL;
static SPIPlanPtr plan_settings = NULL;
static SPIPlanPtr plan_durability = NULL;
static SPIPlanPtr plan_autovac = NULL;
static SPIPlanPtr plan_notify = NULL;

/*
 * text_array
 *		A text[] datum of n C strings.
 */
static Datum
text_array(const char *const *items, int n)
{
	return PointerGetDatum(pgq_make_text_array((char **) items, n));
}

/*
 * bool_array / int2_array
 *		A bool[] or int2[] datum.
 */
static Datum
bool_array(const bool *items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = BoolGetDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, BOOLOID, 1, true, TYPALIGN_CHAR));
}

static Datum
int2_array(const int16 *items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int16GetDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, INT2OID, 2, true, TYPALIGN_SHORT));
}

/*
 * report
 *		Run a kept check query whose rows are problem lines and add them to
 *		the result set.
 */
static void
report(FunctionCallInfo fcinfo, SPIPlanPtr *cache, const char *sql,
	   int nargs, const Oid *argtypes, Datum *values)
{
	SPIPlanPtr	plan = pgq_plan(cache, sql, nargs, argtypes);

	pgq_execute(plan, values, NULL, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, 1);
}

/*
 * check_tables
 *		The seven tables and every column.
 */
static void
check_tables(FunctionCallInfo fcinfo)
{
	static const Oid argtypes[5] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, BOOLARRAYOID};
	int			n = lengthof(expected_columns);
	const char **tabs = palloc(sizeof(char *) * n);
	const char **cols = palloc(sizeof(char *) * n);
	const char **types = palloc(sizeof(char *) * n);
	bool	   *notnulls = palloc(sizeof(bool) * n);
	Datum		values[5];

	for (int i = 0; i < n; i++)
	{
		tabs[i] = expected_columns[i].table;
		cols[i] = expected_columns[i].column;
		types[i] = expected_columns[i].type;
		notnulls[i] = expected_columns[i].notnull;
	}
	values[0] = text_array(expected_tables, lengthof(expected_tables));
	values[1] = text_array(tabs, n);
	values[2] = text_array(cols, n);
	values[3] = text_array(types, n);
	values[4] = bool_array(notnulls, n);
	report(fcinfo, &plan_tables, tables_sql, 5, argtypes, values);
}

/*
 * check_enum
 *		pgqueuer.pgqueuer_status and its labels, in order.
 */
static void
check_enum(FunctionCallInfo fcinfo)
{
	static const Oid argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];

	values[0] = text_array(expected_labels, lengthof(expected_labels));
	report(fcinfo, &plan_enum, enum_sql, 1, argtypes, values);
}

/*
 * check_indexes
 *		Every index by name, its table, uniqueness and validity.
 */
static void
check_indexes(FunctionCallInfo fcinfo)
{
	static const Oid argtypes[3] = {TEXTARRAYOID, TEXTARRAYOID, BOOLARRAYOID};
	int			n = lengthof(expected_indexes);
	const char **names = palloc(sizeof(char *) * n);
	const char **tabs = palloc(sizeof(char *) * n);
	bool	   *uniques = palloc(sizeof(bool) * n);
	Datum		values[3];

	for (int i = 0; i < n; i++)
	{
		names[i] = expected_indexes[i].name;
		tabs[i] = expected_indexes[i].table;
		uniques[i] = expected_indexes[i].unique;
	}
	values[0] = text_array(names, n);
	values[1] = text_array(tabs, n);
	values[2] = bool_array(uniques, n);
	report(fcinfo, &plan_indexes, indexes_sql, 3, argtypes, values);
}

/*
 * check_triggers
 *		The notify trigger on the queue table and the settings trigger.
 */
static void
check_triggers(FunctionCallInfo fcinfo)
{
	static const Oid argtypes[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	INT2ARRAYOID};
	int			n = lengthof(expected_triggers);
	const char **names = palloc(sizeof(char *) * n);
	const char **tabs = palloc(sizeof(char *) * n);
	const char **fns = palloc(sizeof(char *) * n);
	int16	   *types = palloc(sizeof(int16) * n);
	Datum		values[4];

	for (int i = 0; i < n; i++)
	{
		names[i] = expected_triggers[i].name;
		tabs[i] = expected_triggers[i].table;
		fns[i] = expected_triggers[i].function;
		types[i] = expected_triggers[i].tgtype;
	}
	values[0] = text_array(names, n);
	values[1] = text_array(tabs, n);
	values[2] = text_array(fns, n);
	values[3] = int2_array(types, n);
	report(fcinfo, &plan_triggers, triggers_sql, 4, argtypes, values);
}

/*
 * check_functions
 *		Every function of the SQL API by name and argument types.
 */
static void
check_functions(FunctionCallInfo fcinfo)
{
	static const Oid argtypes[2] = {TEXTARRAYOID, TEXTARRAYOID};
	int			n = lengthof(expected_functions);
	const char **names = palloc(sizeof(char *) * n);
	const char **args = palloc(sizeof(char *) * n);
	Datum		values[2];

	for (int i = 0; i < n; i++)
	{
		names[i] = expected_functions[i].name;
		args[i] = expected_functions[i].args;
	}
	values[0] = text_array(names, n);
	values[1] = text_array(args, n);
	report(fcinfo, &plan_functions, functions_sql, 2, argtypes, values);
}

/*
 * add_line
 *		Add one problem line to the result set.
 */
static void
add_line(FunctionCallInfo fcinfo, const char *line)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		value = CStringGetTextDatum(line);
	bool		isnull = false;

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
}

/*
 * check_durability
 *		The four tables' persistence against the stored level.
 */
static void
check_durability(FunctionCallInfo fcinfo, const char *level)
{
	static const Oid argtypes[3] = {TEXTARRAYOID, BOOLARRAYOID, TEXTOID};
	const DurabilityLevel *l = pgq_find_durability_level(level);
	Datum		values[3];

	if (l == NULL)
	{
		add_line(fcinfo, psprintf("setting durability has invalid value \"%s\"", level));
		return;
	}

	values[0] = text_array(pgq_durability_tables, PGQ_NTABLES);
	values[1] = bool_array(l->logged, PGQ_NTABLES);
	values[2] = CStringGetTextDatum(level);
	report(fcinfo, &plan_durability, durability_sql, 3, argtypes, values);
}

/*
 * check_autovac
 *		The storage parameters against the stored autovac choice.
 */
static void
check_autovac(FunctionCallInfo fcinfo, const char *choice)
{
	static const Oid argtypes[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	BOOLOID};
	int			n = 0;
	const char **tabs;
	const char **names;
	const char **vals;
	Datum		values[4];
	bool		on;

	if (strcmp(choice, "on") == 0)
		on = true;
	else if (strcmp(choice, "off") == 0)
		on = false;
	else
	{
		add_line(fcinfo, psprintf("setting autovac has invalid value \"%s\"", choice));
		return;
	}

	for (int t = 0; t < PGQ_NTABLES; t++)
		n += pgq_autovac_params[t].nparams;
	tabs = palloc(sizeof(char *) * n);
	names = palloc(sizeof(char *) * n);
	vals = palloc(sizeof(char *) * n);
	n = 0;
	for (int t = 0; t < PGQ_NTABLES; t++)
		for (int i = 0; i < pgq_autovac_params[t].nparams; i++)
		{
			tabs[n] = pgq_durability_tables[t];
			names[n] = pgq_autovac_params[t].params[i].name;
			vals[n++] = pgq_autovac_params[t].params[i].value;
		}
	values[0] = text_array(tabs, n);
	values[1] = text_array(names, n);
	values[2] = text_array(vals, n);
	values[3] = BoolGetDatum(on);
	report(fcinfo, &plan_autovac, autovac_sql, 4, argtypes, values);
}

/*
 * check_settings
 *		The stored durability level (default durable) and autovac choice
 *		(default off) against the tables.  Skipped when the settings table
 *		is missing, which check_tables reports.
 */
static void
check_settings(FunctionCallInfo fcinfo)
{
	Oid			nspid = get_namespace_oid("pgqueuer", true);
	char	   *durability = "durable";
	char	   *autovac = "off";
	SPIPlanPtr	plan;
	int			nrows;

	if (!OidIsValid(nspid) ||
		get_rel_relkind(get_relname_relid("pgqueuer_settings", nspid)) != RELKIND_RELATION)
		return;

	plan = pgq_plan(&plan_settings, settings_sql, 0, NULL);
	nrows = pgq_execute(plan, NULL, NULL, SPI_OK_SELECT);
	for (int i = 0; i < nrows; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		/* NULL: the value column is gone (reported above); nothing to check */
		if (strcmp(name, "durability") == 0)
			durability = value;
		else
			autovac = value;
	}

	if (durability != NULL)
		check_durability(fcinfo, durability);
	if (autovac != NULL)
		check_autovac(fcinfo, autovac);
}

/*
 * check_notify_queue
 *		Report a notification queue more than half full.
 */
static void
check_notify_queue(FunctionCallInfo fcinfo)
{
	report(fcinfo, &plan_notify, notify_sql, 0, NULL, NULL);
}

/*
 * check_schema_version
 *		Report a schema still at an older version than the library's (an
 *		update pending): the checks below compare with the library's version.
 */
static void
check_schema_version(FunctionCallInfo fcinfo)
{
	const char *version;

	if (pgq_schema_state(&version) == PGQ_SCHEMA_PENDING_UPDATE)
		add_line(fcinfo, psprintf("extension schema version %s is older than library version %s: run ALTER EXTENSION pgqueuer UPDATE",
								  version, PGQ_SCHEMA_VERSION));
}

/*
 * check_schema
 *		Objects in schema pgqueuer that the extension does not own, CREATE
 *		granted on it to a role that is not a superuser, a foreign owner.
 */
static void
check_schema(FunctionCallInfo fcinfo)
{
	bool		blocking;
	ListCell   *lc;

	foreach(lc, pgq_schema_guard(CurrentMemoryContext, &blocking))
		add_line(fcinfo, (const char *) lfirst(lc));
}

/*
 * pgqueuer_verify
 *		verify() -> SETOF text: one line per problem, nothing when healthy.
 *		Without pgqueuer in shared_preload_libraries, also a WARNING that
 *		the background duties are not running (not a problem of the
 *		installation, so not a line).
 */
Datum
pgqueuer_verify(PG_FUNCTION_ARGS)
{
	Tuplestorestate *lines;
	int64		before;
	bool		intact;

	pgq_init_materialized_srf(fcinfo);
	lines = ((ReturnSetInfo *) fcinfo->resultinfo)->setResult;

	pgq_connect();
	check_schema_version(fcinfo);
	before = tuplestore_tuple_count(lines);
	check_tables(fcinfo);
	intact = tuplestore_tuple_count(lines) == before;
	check_enum(fcinfo);
	check_indexes(fcinfo);
	check_triggers(fcinfo);
	check_functions(fcinfo);
	check_settings(fcinfo);
	check_notify_queue(fcinfo);
	check_schema(fcinfo);
	/* rows the sweeps skip; their query needs every table and column */
	if (intact)
		pgq_verify_bad_rows(fcinfo);
	pgq_finish();
	(void) pgq_warn_if_not_preloaded();

	return (Datum) 0;
}
