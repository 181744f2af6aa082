/*-------------------------------------------------------------------------
 *
 * schema_version.c
 *		Which versions of the extension's schema this library serves, and
 *		whether the background worker runs in this server.
 *
 * The shared library and the SQL objects are installed separately: a
 * package upgrade replaces pgqueuer.so (in use after the next restart, or
 * at once in new sessions when not preloaded), while the schema follows
 * only with ALTER EXTENSION pgqueuer UPDATE.  Between the two, the new
 * library meets the old schema.  This library (PGQ_SCHEMA_VERSION, taken
 * from pgqueuer.control by the Makefile) serves
 *
 *	- its own version;
 *	- the versions it has an update script from (pending_versions below):
 *	  their SQL functions keep working, since each one's C symbol still
 *	  exists with the same signature, so clients are not interrupted while
 *	  the update is pending; the background worker, whose duties follow the
 *	  new schema, waits and asks for ALTER EXTENSION pgqueuer UPDATE;
 *	- nothing else: every function errors out with a hint (update the
 *	  schema, or install the library matching it).
 *
 * The installed version is read from pg_extension once per backend and
 * forgotten whenever the catalogs may have changed: any change of a
 * function (every update script creates or drops some), any relcache
 * invalidation, and pg_extension's own syscache where the server has one
 * (compat.h).
 *
 * IDENTIFICATION
 *		src/common/schema_version.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "compat.h"
#include "guc.h"
#include "schema_version.h"

/* schema versions this library can be updated from, oldest first */
static const char *const pending_versions[] = {"1.0", "1.1"};

static bool			  callbacks_registered = false;
static bool			  cache_valid = false;
static uint64		  invalidations = 0; /* callbacks seen, to spot one mid-read */
static PgqSchemaState cached_state;
static char			  cached_version[NAMEDATALEN];

/*
 * invalidate_syscache / invalidate_relcache
 *		Forget the cached version (catalog invalidation callbacks).
 */
static void
invalidate_syscache(Datum arg, int cacheid, uint32 hashvalue)
{
	cache_valid = false;
	invalidations++;
}

static void
invalidate_relcache(Datum arg, Oid relid)
{
	cache_valid = false;
	invalidations++;
}

/*
 * read_extversion
 *		Copy the installed version of the extension into buf; false when the
 *		extension is not installed in this database.
 */
static bool
read_extversion(char *buf, size_t size)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("pgqueuer"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool  isnull;
		Datum d = heap_getattr(tuple, Anum_pg_extension_extversion,
							   RelationGetDescr(rel), &isnull);

		if (!isnull)
		{
			char *v = TextDatumGetCString(d);

			strlcpy(buf, v, size);
			pfree(v);
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * pgq_schema_state
 *		The state of this database's pgqueuer schema for this library; the
 *		installed version in *version (a static buffer; "" when absent).
 *		Needs a transaction.
 */
PgqSchemaState
pgq_schema_state(const char **version)
{
	if (!callbacks_registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, invalidate_syscache, (Datum) 0);
#ifdef PGQ_HAVE_EXTENSION_SYSCACHE
		CacheRegisterSyscacheCallback(EXTENSIONOID, invalidate_syscache, (Datum) 0);
#endif
		CacheRegisterRelcacheCallback(invalidate_relcache, (Datum) 0);
		callbacks_registered = true;
	}

	if (!cache_valid)
	{
		uint64 seen = invalidations;

		if (!read_extversion(cached_version, sizeof(cached_version)))
		{
			cached_version[0] = '\0';
			cached_state = PGQ_SCHEMA_ABSENT;
		}
		else if (strcmp(cached_version, PGQ_SCHEMA_VERSION) == 0)
			cached_state = PGQ_SCHEMA_CURRENT;
		else
		{
			cached_state = PGQ_SCHEMA_UNSUPPORTED;
			for (int i = 0; i < lengthof(pending_versions); i++)
				if (strcmp(cached_version, pending_versions[i]) == 0)
					cached_state = PGQ_SCHEMA_PENDING_UPDATE;
		}
		/* valid unless an invalidation arrived while we read (or errored) */
		cache_valid = (invalidations == seen);
	}
	if (version != NULL)
		*version = cached_version;
	return cached_state;
}

/*
 * version_older
 *		Whether dotted version a is older than b (numeric parts; a part that
 *		is not a number compares as 0).
 */
static bool
version_older(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0')
	{
		long x = strtol(a, (char **) &a, 10);
		long y = strtol(b, (char **) &b, 10);

		if (x != y)
			return x < y;
		while (*a != '\0' && *a != '.')
			a++;
		while (*b != '\0' && *b != '.')
			b++;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return false;
}

/*
 * pgq_schema_hint
 *		What to do about installed version "version": a full sentence.
 */
char *
pgq_schema_hint(const char *version)
{
	if (version_older(version, PGQ_SCHEMA_VERSION))
		return psprintf("Run ALTER EXTENSION pgqueuer UPDATE in this database to update the schema to version %s.",
						PGQ_SCHEMA_VERSION);
	return psprintf("Install the pgqueuer library of version %s (and restart the server if pgqueuer is preloaded), or reinstall the extension.",
					version);
}

/*
 * pgq_check_schema_version
 *		Error out unless this library serves the installed schema (current,
 *		or pending an update).  Called by every SQL function (pgq_connect).
 */
void
pgq_check_schema_version(void)
{
	const char *version;

	if (pgq_schema_state(&version) != PGQ_SCHEMA_UNSUPPORTED)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("extension \"pgqueuer\" is installed at version %s, which library version %s does not serve",
					version, PGQ_SCHEMA_VERSION),
			 errdetail("This library serves schema version %s, and versions %s to %s until ALTER EXTENSION pgqueuer UPDATE.",
					   PGQ_SCHEMA_VERSION, pending_versions[0],
					   pending_versions[lengthof(pending_versions) - 1]),
			 errhint("%s", pgq_schema_hint(version))));
}

/*
 * pgq_warn_if_not_preloaded
 *		True when pgqueuer was loaded by shared_preload_libraries, so that
 *		the background worker runs the duties; otherwise a WARNING that
 *		names run_maintenance() and false.
 */
bool
pgq_warn_if_not_preloaded(void)
{
	if (pgq_preloaded)
		return true;
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg("pgqueuer is not in shared_preload_libraries: its background duties are not running"),
			 errdetail("Lease expiry, cron schedules, deferred wake-ups, statistics and retention happen only when pgqueuer.run_maintenance() is called; every other SQL function works."),
			 errhint("Call SELECT * FROM pgqueuer.run_maintenance() every few seconds (for example from pg_cron or a client timer), or add pgqueuer to shared_preload_libraries and restart the server.")));
	return false;
}
