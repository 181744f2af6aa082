/*-------------------------------------------------------------------------
 *
 * schema_guard.c
 *		What in schema "pgqueuer" the extension did not put there: objects
 *		that are not members of the extension, CREATE granted to a role
 *		that is not a superuser, and an owner that is not a superuser.
 *
 * Operator and function resolution picks the most exact signature in any
 * schema on search_path, so an operator or function planted in "pgqueuer"
 * could be picked by SQL that runs as superuser.  The extension's own SQL
 * is fully qualified and runs with search_path = pg_catalog, pg_temp, so a
 * planted object is never chosen; this check still reports every such
 * object, so that an administrator learns of it.  verify() prints the
 * lines, and the background worker logs them and runs no maintenance while
 * a foreign object is present (SECURITY.md, section 1).
 *
 * An object belongs to the extension when pg_depend records it as a member
 * (deptype 'e').  Every object created in a schema records a dependency on
 * that schema, except those that depend on another object that does (an
 * index on its table, a table's row type, a type's array type): those are
 * reported through the object they belong to.  Objects elsewhere that only
 * mention the schema (a view using 'pgqueuer'::regnamespace) depend on it
 * too; pg_identify_object() tells them apart.
 *
 * IDENTIFICATION
 *		src/common/schema_guard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "schema_guard.h"
#include "schema_version.h"
#include "spi_util.h"

/*
 * One row per problem: the line, and whether the problem is a foreign
 * object (or a foreign owner), which stops the background worker.  $1: the
 * schema, $2: the extension.
 */
static const char *const guard_sql =
	"SELECT pg_catalog.format('object in schema pgqueuer not created by the extension: %s%s',"
	"         pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),"
	"         COALESCE(' (owner ' OPERATOR(pg_catalog.||) ("
	"           SELECT pg_catalog.quote_ident(r.rolname::pg_catalog.text)"
	"           FROM pg_catalog.pg_shdepend sh"
	"           JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) sh.refobjid"
	"           WHERE sh.dbid OPERATOR(pg_catalog.=) (SELECT db.oid FROM pg_catalog.pg_database db"
	"                    WHERE db.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
	"             AND sh.classid OPERATOR(pg_catalog.=) d.classid"
	"             AND sh.objid OPERATOR(pg_catalog.=) d.objid"
	"             AND sh.deptype OPERATOR(pg_catalog.=) 'o'::pg_catalog.\"char\""
	"           LIMIT 1) OPERATOR(pg_catalog.||) ')', '')),"
	"       true"
	" FROM pg_catalog.pg_depend d"
	" WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass"
	"   AND d.refobjid OPERATOR(pg_catalog.=) $1"
	"   AND (pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid)).schema"
	"       OPERATOR(pg_catalog.=) 'pgqueuer'::pg_catalog.text"
	"   AND NOT (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass"
	"            AND d.objid OPERATOR(pg_catalog.=) $2)"
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend m"
	"       WHERE m.classid OPERATOR(pg_catalog.=) d.classid"
	"         AND m.objid OPERATOR(pg_catalog.=) d.objid"
	"         AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass"
	"         AND m.refobjid OPERATOR(pg_catalog.=) $2"
	"         AND m.deptype OPERATOR(pg_catalog.=) 'e'::pg_catalog.\"char\")"
	" UNION ALL"
	" SELECT pg_catalog.format('schema pgqueuer is owned by %s, which is not a superuser',"
	"         pg_catalog.quote_ident(r.rolname::pg_catalog.text)), true"
	" FROM pg_catalog.pg_namespace n"
	" JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner"
	" WHERE n.oid OPERATOR(pg_catalog.=) $1 AND NOT r.rolsuper"
	" UNION ALL"
	" SELECT pg_catalog.format('schema pgqueuer grants CREATE to %s, which is not a superuser',"
	"         COALESCE(pg_catalog.quote_ident(r.rolname::pg_catalog.text), 'PUBLIC')), false"
	" FROM pg_catalog.pg_namespace n"
	" CROSS JOIN LATERAL pg_catalog.aclexplode(n.nspacl) a"
	" LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee"
	" WHERE n.oid OPERATOR(pg_catalog.=) $1"
	"   AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'::pg_catalog.text"
	"   AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner"
	"   AND NOT COALESCE(r.rolsuper, false)"
	" ORDER BY 2 DESC, 1";

static SPIPlanPtr guard_plan = NULL;

/*
 * pgq_schema_guard
 *		The problems of schema "pgqueuer", one line each: a List of C
 *		strings allocated in resultcxt (which must outlive SPI_finish), NIL
 *		when there are none.  *blocking is set when a line reports a foreign
 *		object or owner.  Must run inside SPI, with the extension installed.
 */
List *
pgq_schema_guard(MemoryContext resultcxt, bool *blocking)
{
	static const Oid argtypes[2] = {OIDOID, OIDOID};
	Datum			 values[2];
	List			*lines = NIL;
	int				 n;

	*blocking = false;
	values[0] = ObjectIdGetDatum(get_namespace_oid(PGQ_SCHEMA, false));
	values[1] = ObjectIdGetDatum(get_extension_oid("pgqueuer", false));
	n = pgq_execute(pgq_plan(&guard_plan, guard_sql, 2, argtypes), values,
					NULL, SPI_OK_SELECT);
	for (int i = 0; i < n; i++)
	{
		bool		  isnull;
		char		 *line = TextDatumGetCString(pgq_getdatum(i, 1, &isnull));
		MemoryContext oldctx;

		if (DatumGetBool(pgq_getdatum(i, 2, &isnull)))
			*blocking = true;
		oldctx = MemoryContextSwitchTo(resultcxt);
		lines = lappend(lines, pstrdup(line));
		MemoryContextSwitchTo(oldctx);
	}
	return lines;
}
