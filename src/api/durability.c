/*-------------------------------------------------------------------------
 *
 * durability.c
 *		pgqueuer.set_durability(), pgqueuer.autovac() and the settings
 *		trigger that applies both.
 *
 * A durability level says which of PgQueuer's four tables are UNLOGGED
 * (PgQueuer's table: volatile = all four, balanced = the log and the
 * statistics, durable = none); autovac sets or resets PgQueuer's
 * recommended autovacuum and fillfactor storage parameters.  Both choices
 * are stored as a row of pgqueuer.pgqueuer_settings, and an AFTER ROW
 * trigger on that table turns the stored row into ALTER TABLE statements.
 * The SQL functions only compute the statements (for their result) and
 * upsert the row; the trigger runs them.  So the statements are executed by
 * exactly one code path, the one pg_restore also takes: pg_dump keeps the
 * settings table's rows (it is an extension configuration table), the
 * restore COPYs them into the freshly created extension, and the trigger
 * re-applies the choice to the tables.  (A data-only restore with
 * --disable-triggers skips this; call the functions again afterwards.)
 *
 * IDENTIFICATION
 *		src/api/durability.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "args.h"
#include "compat.h"
#include "durability.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(pgqueuer_set_durability);
PG_FUNCTION_INFO_V1(pgqueuer_autovac);
PG_FUNCTION_INFO_V1(pgqueuer_settings_apply);

const char *const pgq_durability_tables[PGQ_NTABLES] = {
	"pgqueuer", "pgqueuer_log", "pgqueuer_statistics", "pgqueuer_schedules"};

const DurabilityLevel pgq_durability_levels[] = {
	{"volatile", {false, false, false, false}},
	{"balanced", {true, false, false, true}},
	{"durable", {true, true, true, true}},
};

const int pgq_ndurability_levels = lengthof(pgq_durability_levels);

/* Queue and schedules: vacuum early and often, leave room for HOT updates. */
static const StorageParam churn_params[] = {
	{"autovacuum_vacuum_scale_factor", "0.01"},
	{"autovacuum_vacuum_threshold", "1000"},
	{"autovacuum_analyze_scale_factor", "0.02"},
	{"autovacuum_analyze_threshold", "500"},
	{"autovacuum_vacuum_cost_limit", "10000"},
	{"autovacuum_vacuum_cost_delay", "0"},
	{"fillfactor", "70"},
};

/* Log and statistics: append-only, hardly ever worth vacuuming. */
static const StorageParam append_params[] = {
	{"autovacuum_vacuum_scale_factor", "0.95"},
	{"autovacuum_vacuum_threshold", "1000000"},
	{"autovacuum_analyze_scale_factor", "0.05"},
	{"autovacuum_analyze_threshold", "10000"},
};

const TableParams pgq_autovac_params[PGQ_NTABLES] = {
	{churn_params, lengthof(churn_params)},
	{append_params, lengthof(append_params)},
	{append_params, lengthof(append_params)},
	{churn_params, lengthof(churn_params)},
};

static SPIPlanPtr plan_store_setting = NULL;

/*
 * pgq_find_durability_level
 *		The level called "level", or NULL if there is none.
 */
const DurabilityLevel *
pgq_find_durability_level(const char *level)
{
	for (int i = 0; i < pgq_ndurability_levels; i++)
		if (strcmp(pgq_durability_levels[i].name, level) == 0)
			return &pgq_durability_levels[i];
	return NULL;
}

/*
 * pgq_valid_durability
 *		Is "level" one of volatile, balanced, durable?
 */
bool
pgq_valid_durability(const char *level)
{
	return pgq_find_durability_level(level) != NULL;
}

/*
 * check_durability
 *		Refuse an unknown durability level.
 */
static const DurabilityLevel *
check_durability(const char *level)
{
	const DurabilityLevel *l = pgq_find_durability_level(level);

	if (l == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid durability level \"%s\"", pgq_clip(level)),
				 errhint("Valid levels are \"volatile\", \"balanced\" and \"durable\".")));
	return l;
}

/*
 * parse_autovac
 *		A stored autovac choice: 'on' -> false (apply), 'off' -> true
 *		(roll back); anything else is an error.
 */
static bool
parse_autovac(const char *value)
{
	if (strcmp(value, "on") == 0)
		return false;
	if (strcmp(value, "off") == 0)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value \"%s\" for setting \"autovac\"", pgq_clip(value)),
			 errhint("Valid values are \"on\" and \"off\".")));
	return false; /* keep compiler quiet */
}

/*
 * The sequence of job ids.  ALTER TABLE ... SET UNLOGGED makes the
 * sequences a table owns unlogged as well, and an unlogged sequence starts
 * over after a crash: job ids would be handed out a second time, to jobs
 * that clients cannot tell from the old ones.  So it is set back to LOGGED
 * whenever the queue table becomes unlogged; a logged sequence costs one
 * WAL record per 32 ids.
 */
#define JOB_SEQUENCE "pgqueuer_id_seq"

/*
 * relation_persistence
 *		pg_class.relpersistence of pgqueuer.<relname>, which must be of
 *		kind relkind; a missing one is an error.
 */
static char
relation_persistence(const char *relname, char relkind)
{
	Oid nspid = get_namespace_oid("pgqueuer", false);
	Oid relid = get_relname_relid(relname, nspid);

	if (!OidIsValid(relid) || get_rel_relkind(relid) != relkind)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s \"pgqueuer.%s\" does not exist",
						relkind == RELKIND_SEQUENCE ? "sequence" : "table", relname),
				 errhint("Run pgqueuer.verify() to check the installation.")));
	return get_rel_persistence(relid);
}

/*
 * A table that statements are about: one of pgq_durability_tables, or a
 * partition of one (the log is partitioned by day, and persistence and
 * storage parameters belong to each partition).
 */
typedef struct LeafTable
{
	char *name;	  /* relation name in schema pgqueuer */
	bool  logged; /* relpersistence is not UNLOGGED */
} LeafTable;

/* the default partition last: see table_leaves() */
#define LEAVES_ORDER \
	"COALESCE(pg_catalog.pg_get_expr(c.relpartbound, c.oid) OPERATOR(pg_catalog.=) 'DEFAULT', false), c.relname"

static const char *const leaves_sql =
	"SELECT c.relname::pg_catalog.text, c.relpersistence OPERATOR(pg_catalog.<>) 'u'"
	" FROM pg_catalog.pg_class c WHERE " PGQ_HOLDS_ROWS_OF("$1") " ORDER BY " LEAVES_ORDER;

static SPIPlanPtr leaves_plan = NULL;

/*
 * table_leaves
 *		The tables that hold the rows of pgqueuer.<relname>: itself, or its
 *		partitions (palloc'd in the caller's memory context, *n of them).
 *		A missing table is an error.
 *
 * The log's partitions come in the order in which a statement through
 * pgqueuer_log locks them (its day slots by their value, then the default
 * partition), so that ALTER TABLE of each in turn cannot deadlock with
 * such a statement (the statistics fold, say).
 */
static LeafTable *
table_leaves(const char *relname, int *n)
{
	static const Oid argtypes[1] = {REGCLASSOID};
	MemoryContext	 callerctx = CurrentMemoryContext;
	Oid				 nspid = get_namespace_oid("pgqueuer", false);
	Oid				 relid = get_relname_relid(relname, nspid);
	Datum			 values[1];
	LeafTable		*leaves;

	if (!OidIsValid(relid) ||
		(get_rel_relkind(relid) != RELKIND_RELATION &&
		 get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table \"pgqueuer.%s\" does not exist", relname),
				 errhint("Run pgqueuer.verify() to check the installation.")));
	values[0] = ObjectIdGetDatum(relid);
	pgq_connect();
	*n = pgq_execute(pgq_plan(&leaves_plan, leaves_sql, 1, argtypes), values,
					 NULL, SPI_OK_SELECT);
	leaves = MemoryContextAlloc(callerctx, sizeof(LeafTable) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		bool isnull;

		leaves[i].name = MemoryContextStrdup(callerctx,
											 TextDatumGetCString(pgq_getdatum(i, 1, &isnull)));
		leaves[i].logged = DatumGetBool(pgq_getdatum(i, 2, &isnull));
	}
	pgq_finish();
	return leaves;
}

/*
 * pgq_durability_statements
 *		The ALTER TABLE ... SET LOGGED | UNLOGGED statements (palloc'd
 *		strings, in pgq_durability_tables order, a partitioned table's
 *		partitions in table_leaves() order) that would bring the tables to
 *		"level"; tables already in the wanted state are left out, so the
 *		list is empty when nothing needs to change.  When the queue table is to be
 *		unlogged, an ALTER SEQUENCE ... SET LOGGED follows for the job id
 *		sequence (see JOB_SEQUENCE).  An unknown level or a missing table is
 *		an error.
 *
 * Each statement rewrites its table (and its indexes) under an ACCESS
 * EXCLUSIVE lock, blocking every reader and writer of the table until the
 * transaction ends; switching a big queue or log table takes a while.
 */
List *
pgq_durability_statements(const char *level)
{
	const DurabilityLevel *l = check_durability(level);
	List				  *statements = NIL;
	bool				   sequence_statement = false;

	for (int i = 0; i < PGQ_NTABLES; i++)
	{
		int		   n;
		LeafTable *leaves = table_leaves(pgq_durability_tables[i], &n);

		for (int j = 0; j < n; j++)
		{
			if (leaves[j].logged != l->logged[i])
				statements = lappend(statements,
									 psprintf("ALTER TABLE pgqueuer.%s SET %s",
											  quote_identifier(leaves[j].name),
											  l->logged[i] ? "LOGGED" : "UNLOGGED"));
			/* the queue table: keep (or make) its id sequence logged */
			if (i == PGQ_QUEUE_TABLE && !l->logged[i] &&
				(leaves[j].logged || relation_persistence(JOB_SEQUENCE, RELKIND_SEQUENCE) == RELPERSISTENCE_UNLOGGED))
				sequence_statement = true;
		}
	}
	if (sequence_statement)
		statements = lappend(statements,
							 pstrdup("ALTER SEQUENCE pgqueuer." JOB_SEQUENCE " SET LOGGED"));
	return statements;
}

/*
 * params_clause
 *		"(a = 1, b = 2)" for tp's parameters, or "(a, b)" to reset them.
 */
static char *
params_clause(const TableParams *tp, bool reset)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int j = 0; j < tp->nparams; j++)
	{
		if (j > 0)
			appendStringInfoString(&buf, ", ");
		if (reset)
			appendStringInfoString(&buf, tp->params[j].name);
		else
			appendStringInfo(&buf, "%s = %s",
							 tp->params[j].name, tp->params[j].value);
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * pgq_autovac_statements
 *		One ALTER TABLE statement per table (palloc'd strings, in
 *		pgq_durability_tables order, a partitioned table's partitions in
 *		table_leaves() order) setting autovac's storage parameters, or with
 *		rollback resetting exactly those parameters.
 *
 * Storage parameters only take a SHARE UPDATE EXCLUSIVE lock and rewrite
 * nothing; a new fillfactor applies to pages written from then on.
 */
List *
pgq_autovac_statements(bool rollback)
{
	List *statements = NIL;

	for (int i = 0; i < PGQ_NTABLES; i++)
	{
		char	  *clause = params_clause(&pgq_autovac_params[i], rollback);
		int		   n;
		LeafTable *leaves = table_leaves(pgq_durability_tables[i], &n);

		for (int j = 0; j < n; j++)
			statements = lappend(statements,
								 psprintf("ALTER TABLE pgqueuer.%s %s %s",
										  quote_identifier(leaves[j].name),
										  rollback ? "RESET" : "SET", clause));
	}
	return statements;
}

/*
 * pgq_run_statements
 *		Execute each statement of the list in turn.  Must be called between
 *		SPI_connect and SPI_finish; an error aborts the transaction, so the
 *		statements take effect together or not at all.
 */
void
pgq_run_statements(List *statements)
{
	ListCell *lc;

	foreach (lc, statements)
	{
		const char *sql = (const char *) lfirst(lc);
		int			rc = SPI_execute(sql, false, 0);

		if (rc != SPI_OK_UTILITY)
			elog(ERROR, "pgqueuer: statement \"%s\" returned %s",
				 sql, SPI_result_code_string(rc));
	}
}

/*
 * store_setting
 *		Upsert the row (name, value) of pgqueuer.pgqueuer_settings.  The
 *		settings trigger fires for it (AFTER INSERT or AFTER UPDATE) and
 *		applies the choice before this returns.
 */
static void
store_setting(const char *name, const char *value)
{
	static const Oid argtypes[2] = {TEXTOID, TEXTOID};
	Datum			 values[2];
	SPIPlanPtr		 plan;

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(value);

	pgq_connect();
	plan = pgq_plan(&plan_store_setting,
					"INSERT INTO pgqueuer.pgqueuer_settings AS s (name, value)"
					" VALUES ($1, $2)"
					" ON CONFLICT (name) DO UPDATE"
					" SET value = EXCLUDED.value, updated = pg_catalog.now()",
					2, argtypes);
	pgq_execute(plan, values, NULL, SPI_OK_INSERT);
	pgq_finish();
}

/*
 * return_statements
 *		Put the statements into the materialized result set.
 */
static void
return_statements(FunctionCallInfo fcinfo, List *statements)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell	  *lc;

	foreach (lc, statements)
	{
		Datum value = CStringGetTextDatum((const char *) lfirst(lc));
		bool  isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
							 &value, &isnull);
	}
}

/*
 * pgqueuer_set_durability
 *		set_durability(level text, dry_run bool) -> SETOF text
 *
 * Returns the ALTER TABLE statements that bring the tables to "level"
 * (none when they are there already).  Unless dry_run, stores the level;
 * the settings trigger then runs those statements, each rewriting its table
 * under an ACCESS EXCLUSIVE lock held until commit.  The statements are
 * computed before the row is stored: if a concurrent call changes the
 * tables in between, the trigger does what is still needed and the result
 * may list a statement the other call ran.
 */
Datum
pgqueuer_set_durability(PG_FUNCTION_ARGS)
{
	char *level;
	bool  dry_run;
	List *statements;

	pgq_init_materialized_srf(fcinfo);
	pgq_require_arg(fcinfo, 0, "level");
	pgq_require_arg(fcinfo, 1, "dry_run");
	level = text_to_cstring(PG_GETARG_TEXT_PP(0));
	dry_run = PG_GETARG_BOOL(1);

	statements = pgq_durability_statements(level);
	if (!dry_run)
		store_setting("durability", level);
	return_statements(fcinfo, statements);
	return (Datum) 0;
}

/*
 * pgqueuer_autovac
 *		autovac(rollback bool, dry_run bool) -> SETOF text
 *
 * Returns one ALTER TABLE statement per table that sets (or, with
 * rollback, resets) the recommended storage parameters.  Unless dry_run,
 * stores the choice ('on' or 'off'), and the settings trigger runs them.
 */
Datum
pgqueuer_autovac(PG_FUNCTION_ARGS)
{
	bool  rollback;
	bool  dry_run;
	List *statements;

	pgq_init_materialized_srf(fcinfo);
	pgq_require_arg(fcinfo, 0, "rollback");
	pgq_require_arg(fcinfo, 1, "dry_run");
	rollback = PG_GETARG_BOOL(0);
	dry_run = PG_GETARG_BOOL(1);

	statements = pgq_autovac_statements(rollback);
	if (!dry_run)
		store_setting("autovac", rollback ? "off" : "on");
	return_statements(fcinfo, statements);
	return (Datum) 0;
}

/*
 * row_column
 *		Column "colname" of a settings row as a C string; NULL if the value
 *		is NULL.
 */
static char *
row_column(HeapTuple tuple, TupleDesc tupdesc, const char *colname)
{
	int attnum = SPI_fnumber(tupdesc, colname);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"pgqueuer.pgqueuer_settings\" does not exist",
						colname),
				 errhint("Run pgqueuer.verify() to check the installation.")));
	return SPI_getvalue(tuple, tupdesc, attnum);
}

/*
 * pgqueuer_settings_apply
 *		AFTER INSERT OR UPDATE FOR EACH ROW trigger on
 *		pgqueuer.pgqueuer_settings: applies a stored durability level or
 *		autovac choice to the tables.  Rows of other settings are ignored.
 *
 * This is the only place where the ALTER TABLE statements run: for
 * set_durability() and autovac(), and for the rows pg_restore COPYs into a
 * freshly created extension.  It runs as the user whose statement fired
 * it, with that user's search_path, so every name below is qualified.
 */
Datum
pgqueuer_settings_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	 tuple;
	TupleDesc	 tupdesc;
	char		*name;
	char		*value;
	List		*statements;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("settings_apply() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("settings_apply() must be fired AFTER INSERT OR UPDATE FOR EACH ROW")));

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
				trigdata->tg_newtuple :
				trigdata->tg_trigtuple;
	tupdesc = RelationGetDescr(trigdata->tg_relation);
	name = row_column(tuple, tupdesc, "name");

	if (name == NULL ||
		(strcmp(name, "durability") != 0 && strcmp(name, "autovac") != 0))
		return PointerGetDatum(NULL);

	value = row_column(tuple, tupdesc, "value");
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("setting \"%s\" must not be NULL", name)));

	pgq_connect();
	if (strcmp(name, "durability") == 0)
		statements = pgq_durability_statements(value);
	else
		statements = pgq_autovac_statements(parse_autovac(value));
	pgq_run_statements(statements);
	pgq_finish();

	return PointerGetDatum(NULL);
}
