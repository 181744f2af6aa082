/*-------------------------------------------------------------------------
 *
 * plan_shape.h
 *		The planner hook of the queue's statements (plan_shape.c).
 *
 * IDENTIFICATION
 *		src/common/plan_shape.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_PLAN_SHAPE_H
#define PGQ_PLAN_SHAPE_H

#include "executor/spi.h"

/* install the planner hooks; once, from _PG_init */
extern void pgq_install_plan_hook(void);

/*
 * pgq_execute() (spi_util.h) for a statement of the queue that touches a
 * bounded number of rows: planned, when it is, as if the extension's tables
 * were large and with sequential scans, hash and merge joins and JIT off.
 * Returns SPI_processed; errors as pgq_execute().
 */
extern int pgq_execute_indexed(SPIPlanPtr plan, Datum *values,
							   const char *nulls, int expected);

/*
 * pgq_execute_indexed() for a statement that groups or orders the rows of an
 * index in the index's order: sorts and hashed aggregation are off too when
 * it is planned.
 */
extern int pgq_execute_presorted(SPIPlanPtr plan, Datum *values,
								 const char *nulls, int expected);

#endif /* PGQ_PLAN_SHAPE_H */
