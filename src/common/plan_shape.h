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

extern void pgq_install_plan_hook(void);
extern int	pgq_execute_indexed(SPIPlanPtr plan, Datum *values,
								const char *nulls, int expected);

#endif /* PGQ_PLAN_SHAPE_H */
