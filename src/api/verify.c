/*-------------------------------------------------------------------------
 *
 * verify.c
 *		pgqueuer.verify(): check the installation against what the install
 *		and update scripts created, and against the stored settings.
 *
 * The objects of the extension (its members in pg_depend, and the columns,
 * constraints, indexes and triggers of its tables) are compared with the
 * definitions that the scripts recorded in pgqueuer_catalog, by SQL
 * function pgqueuer.catalog_drift() (catalog_drift.c); this file holds no
 * copy of the schema.  Then the stored durability and autovacuum choices
 * are checked against the tables, the notification queue usage, and the
 * schema's foreign objects and grants (schema_guard.c).  One
 * human-readable line per problem, so a healthy installation returns no
 * rows.  The queries read only the catalogs (and the settings table, as
 * whole rows), so any damage is reported rather than raised as an error.
 *
 * verify() runs with the fixed search_path of its declaration (pg_catalog,
 * pg_temp), so names of schema pgqueuer are printed qualified.  Its SQL,
 * like all of the extension's, qualifies every object and operator.
 *
 * IDENTIFICATION
 *		src/api/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "args.h"
#include "catalog_drift.h"
#include "compat.h"
#include "durability.h"
#include "row_checks.h"
#include "schema_guard.h"
#include "schema_version.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(pgqueuer_verify);

/* the extension's schema, as a scalar subquery */
#define PGQ_NSP \
	"(SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'pgqueuer')"

/*
 * c: the tables holding the rows of table e.tab of the extension's schema,
 * itself or its partitions (the log is partitioned by day).
 */
#define PGQ_LEAVES \
	"pg_catalog.pg_class t" \
	"   ON t.relname OPERATOR(pg_catalog.=) e.tab AND t.relnamespace OPERATOR(pg_catalog.=) " PGQ_NSP \
	" JOIN pg_catalog.pg_class c ON " PGQ_HOLDS_ROWS_OF("t.oid")

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
	"       c.relname, CASE WHEN c.relpersistence OPERATOR(pg_catalog.=) 'u' THEN 'UNLOGGED' ELSE 'LOGGED' END, $3,"
	"       CASE WHEN e.logged THEN 'LOGGED' ELSE 'UNLOGGED' END)"
	" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.bool[]) WITH ORDINALITY AS e(tab, logged, ord)"
	" JOIN " PGQ_LEAVES
	" WHERE (c.relpersistence OPERATOR(pg_catalog.<>) 'u') OPERATOR(pg_catalog.<>) e.logged"
	" ORDER BY e.ord, c.relname";

/*
 * Storage parameters that do not match the stored autovac choice: with
 * $4 (on) each must be present with its value, otherwise none may be.
 * $1..$3: table, parameter, value.
 */
static const char *const autovac_sql =
	"SELECT l.line"
	" FROM unnest($1::pg_catalog.text[], $2::pg_catalog.text[], $3::pg_catalog.text[])"
	"   WITH ORDINALITY AS e(tab, opt, val, ord)"
	" JOIN " PGQ_LEAVES
	" LEFT JOIN pg_catalog.pg_options_to_table(c.reloptions) AS o"
	"   ON o.option_name OPERATOR(pg_catalog.=) e.opt"
	" CROSS JOIN LATERAL (SELECT CASE"
	"  WHEN $4 AND o.option_name IS NULL"
	"  THEN pg_catalog.format('table pgqueuer.%s lacks storage parameter %s=%s that autovac \"on\" wants',"
	"       c.relname, e.opt, e.val)"
	"  WHEN $4 AND o.option_value::pg_catalog.numeric OPERATOR(pg_catalog.<>) e.val::pg_catalog.numeric"
	"  THEN pg_catalog.format('table pgqueuer.%s has storage parameter %s=%s but autovac \"on\" wants %s',"
	"       c.relname, e.opt, o.option_value, e.val)"
	"  WHEN NOT $4 AND o.option_name IS NOT NULL"
	"  THEN pg_catalog.format('table pgqueuer.%s has storage parameter %s=%s but autovac \"off\" wants it unset',"
	"       c.relname, e.opt, o.option_value)"
	"  END AS line) AS l"
	" WHERE l.line IS NOT NULL"
	" ORDER BY e.ord, c.relname";

/* A notification queue more than half full: pgqueuer stops notifying. */
static const char *const notify_sql =
	"SELECT pg_catalog.format('notification queue is %s%% full; pgqueuer sends no notifications"
	" while it is half full or more',"
	"       pg_catalog.round((u.usage OPERATOR(pg_catalog.*) 100)::pg_catalog.numeric, 1))"
	" FROM pg_catalog.pg_notification_queue_usage() AS u(usage)"
	" WHERE u.usage OPERATOR(pg_catalog.>) 0.5";

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
 * bool_array
 *		A bool[] datum.
 */
static Datum
bool_array(const bool *items, int n)
{
	Datum *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = BoolGetDatum(items[i]);
	return PointerGetDatum(construct_array(d, n, BOOLOID, 1, true, TYPALIGN_CHAR));
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
	SPIPlanPtr plan = pgq_plan(cache, sql, nargs, argtypes);

	pgq_execute(plan, values, NULL, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, 1);
}

/*
 * add_line
 *		Add one problem line to the result set.
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
 * check_durability
 *		The four tables' persistence against the stored level.
 */
static void
check_durability(FunctionCallInfo fcinfo, const char *level)
{
	static const Oid	   argtypes[3] = {TEXTARRAYOID, BOOLARRAYOID, TEXTOID};
	const DurabilityLevel *l = pgq_find_durability_level(level);
	Datum				   values[3];

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
	int				 n = 0;
	const char	   **tabs;
	const char	   **names;
	const char	   **vals;
	Datum			 values[4];
	bool			 on;

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
 *		is missing, which check_catalog reports.
 */
static void
check_settings(FunctionCallInfo fcinfo)
{
	Oid		   nspid = get_namespace_oid("pgqueuer", true);
	char	  *durability = "durable";
	char	  *autovac = "off";
	SPIPlanPtr plan;
	int		   nrows;

	if (!OidIsValid(nspid) ||
		get_rel_relkind(get_relname_relid("pgqueuer_settings", nspid)) != RELKIND_RELATION)
		return;

	plan = pgq_plan(&plan_settings, settings_sql, 0, NULL);
	nrows = pgq_execute(plan, NULL, NULL, SPI_OK_SELECT);
	for (int i = 0; i < nrows; i++)
	{
		char *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char *value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

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
 * check_catalog
 *		The extension's objects against the definitions its scripts
 *		recorded, and how to restore them.  Returns whether every table
 *		and column is as recorded.
 */
static bool
check_catalog(FunctionCallInfo fcinfo)
{
	bool	  repairable;
	bool	  intact;
	ListCell *lc;

	foreach (lc, pgq_catalog_drift(CurrentMemoryContext, &repairable, &intact))
		add_line(fcinfo, (const char *) lfirst(lc));
	if (repairable)
		add_line(fcinfo, PGQ_REPAIR_HINT);
	return intact;
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
	bool	  blocking;
	ListCell *lc;

	foreach (lc, pgq_schema_guard(CurrentMemoryContext, &blocking))
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
	bool intact;

	pgq_init_materialized_srf(fcinfo);

	pgq_connect();
	check_schema_version(fcinfo);
	intact = check_catalog(fcinfo);
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
