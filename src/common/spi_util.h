/*-------------------------------------------------------------------------
 *
 * spi_util.h
 *		SPI plumbing: cached plans, execution, result access (spi_util.c).
 *
 * The extension's SQL functions are thin: each validates its arguments in C,
 * then runs one or a few SPI statements whose plans are prepared once per
 * backend and kept.
 *
 * IDENTIFICATION
 *		src/common/spi_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SPI_UTIL_H
#define PGQ_SPI_UTIL_H

#include "executor/spi.h"
#include "fmgr.h"

extern int		  pgq_own_statement_depth; /* > 0 while our SPI statements run */
extern SPIPlanPtr pgq_plan(SPIPlanPtr *cache, const char *sql,
						   int nargs, const Oid *argtypes);
extern int		  pgq_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
							  int expected);
extern void		  pgq_connect(void);
extern void		  pgq_finish(void);
extern Datum	  pgq_getdatum(int row, int col, bool *isnull);
extern int64	  pgq_getint64(int row, int col);
extern void		  pgq_store_spi_rows(FunctionCallInfo fcinfo, int ncols);

/*
 * Run fn(arg) in a subtransaction.  Returns NULL when it succeeded (the
 * subtransaction is committed), or the error that stopped it, copied into
 * the caller's memory context, once the subtransaction is rolled back (so
 * SPI statements that fn ran are undone and the caller's SPI connection is
 * usable again).  Must be called between SPI_connect and SPI_finish.
 */
typedef void (*PgqSubxactFn)(void *arg);
extern ErrorData *pgq_try_subtransaction(PgqSubxactFn fn, void *arg);

#endif /* PGQ_SPI_UTIL_H */
