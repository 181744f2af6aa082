/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL version difference pgqueuer cares about, in one place.
 *
 * pgqueuer targets PostgreSQL 15 (shmem_request_hook, which the background
 * worker needs, appeared there) and keeps to APIs that exist from 15 to 17;
 * where they differ, the switch lives here and nowhere else.  Unchanged
 * over that range and so used directly: the ProcessUtility_hook signature
 * (readOnlyTree since 14), BackgroundWorkerInitializeConnectionByOid(),
 * RegisterXactCallback().
 *
 * IDENTIFICATION
 *		src/common/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_COMPAT_H
#define PGQUEUER_COMPAT_H

#include "postgres.h"
#include "funcapi.h"

/*
 * InitMaterializedSRF() appeared in 15.1 (15.0 named it SetSingleFuncCall);
 * 13 and 14 need the hand-written form, which pgqueuer does not carry yet.
 */
#if PG_VERSION_NUM >= 150001
#define pgq_init_materialized_srf(fcinfo) InitMaterializedSRF((fcinfo), MAT_SRF_USE_EXPECTED_DESC)
#elif PG_VERSION_NUM >= 150000
#define pgq_init_materialized_srf(fcinfo) SetSingleFuncCall((fcinfo), SRF_SINGLE_USE_EXPECTED)
#else
#error "pgqueuer needs PostgreSQL 15 or later for materialized SRFs"
#endif

/*
 * pg_database_ownercheck() became object_ownercheck(DatabaseRelationId, ...)
 * in 16.
 */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_database.h"
#include "utils/acl.h"
#define pgq_database_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#include "utils/acl.h"
#define pgq_database_ownercheck(dboid, roleid) \
	pg_database_ownercheck((dboid), (roleid))
#endif

/*
 * pg_extension has a syscache (EXTENSIONOID) from 17 on: an invalidation
 * callback on it hears of ALTER EXTENSION ... UPDATE directly.  Before, the
 * function and relation invalidations of the update script stand in for it
 * (schema_version.c).
 */
#if PG_VERSION_NUM >= 170000
#define PGQ_HAVE_EXTENSION_SYSCACHE 1
#endif

/*
 * The backend status entries of the current snapshot, by 1-based index:
 * pgstat_fetch_stat_local_beentry() until 16, renamed in 17.
 */
#if PG_VERSION_NUM >= 170000
#define pgq_local_beentry(i) pgstat_get_local_beentry_by_index(i)
#else
#define pgq_local_beentry(i) pgstat_fetch_stat_local_beentry(i)
#endif

#endif /* PGQUEUER_COMPAT_H */
