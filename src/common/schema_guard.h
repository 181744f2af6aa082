/*-------------------------------------------------------------------------
 *
 * schema_guard.h
 *		Objects in schema pgqueuer that the extension did not make (schema_guard.c).
 *
 * IDENTIFICATION
 *		src/common/schema_guard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SCHEMA_GUARD_H
#define PGQ_SCHEMA_GUARD_H

#include "nodes/pg_list.h"
#include "utils/palloc.h"

extern List *pgq_schema_guard(MemoryContext resultcxt, bool *blocking);

#endif /* PGQ_SCHEMA_GUARD_H */
