/*-------------------------------------------------------------------------
 *
 * durability.h
 *		The durability levels and autovacuum parameters, shared by the code
 *		that applies them (durability.c) and the code that checks them
 *		(verify.c).
 *
 * IDENTIFICATION
 *		src/api/durability.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_DURABILITY_H
#define PGQUEUER_DURABILITY_H

#include "nodes/pg_list.h"

/*
 * PgQueuer's four tables, in the order in which statements about them are
 * generated and returned.  There are no foreign keys between them, so any
 * fixed order works for SET LOGGED / SET UNLOGGED.
 */
#define PGQ_NTABLES 4

extern const char *const pgq_durability_tables[PGQ_NTABLES];

/* the queue's position in pgq_durability_tables */
#define PGQ_QUEUE_TABLE 0

/*
 * SQL condition: pg_class row c holds rows of table rel (an oid
 * expression), that is c is rel, a plain table, or a leaf partition of it.
 * Persistence and storage parameters belong to these (the log is
 * partitioned by day); set_durability() and autovac() change them and
 * verify() checks them.
 */
#define PGQ_HOLDS_ROWS_OF(rel) \
	"(c.oid OPERATOR(pg_catalog.=) " rel " AND c.relkind OPERATOR(pg_catalog.=) 'r'" \
	" OR c.oid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT t.relid" \
	"   FROM pg_catalog.pg_partition_tree(" rel ") t WHERE t.isleaf)))"


/* A durability level: for each of pgq_durability_tables, whether LOGGED. */
typedef struct DurabilityLevel
{
	const char *name;
	bool		logged[PGQ_NTABLES];
} DurabilityLevel;

extern const DurabilityLevel pgq_durability_levels[];
extern const int			 pgq_ndurability_levels;

/* One storage parameter and the value autovac gives it. */
typedef struct StorageParam
{
	const char *name;
	const char *value;
} StorageParam;

/* The parameters autovac sets on one table. */
typedef struct TableParams
{
	const StorageParam *params;
	int					nparams;
} TableParams;

/* autovac's parameters of each of pgq_durability_tables (same order) */
extern const TableParams pgq_autovac_params[PGQ_NTABLES];

extern const DurabilityLevel *pgq_find_durability_level(const char *name);
extern List					 *pgq_durability_statements(const char *level);
extern List					 *pgq_autovac_statements(bool rollback);
extern void					  pgq_run_statements(List *statements);
extern bool					  pgq_valid_durability(const char *level);

#endif /* PGQUEUER_DURABILITY_H */
