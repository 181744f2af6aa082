/*-------------------------------------------------------------------------
 *
 * leases.h
 *		Expiry of leases whose heartbeat stopped (leases.c).
 *
 * IDENTIFICATION
 *		src/api/leases.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_LEASES_H
#define PGQ_LEASES_H

#include "utils/array.h"

extern int64 pgq_expire_leases(ArrayType *entrypoints, int limit,
							   char ***woken, int *nwoken);

#endif /* PGQ_LEASES_H */
