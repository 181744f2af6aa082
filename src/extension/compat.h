/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL version difference pgqueuer cares about, in one place.
 *
 * pgqueuer targets PostgreSQL 15 and keeps to APIs that exist from 13 to 17;
 * where they differ, the switch lives here and nowhere else.
 *
 * IDENTIFICATION
 *		src/extension/compat.h
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

#endif							/* PGQUEUER_COMPAT_H */
