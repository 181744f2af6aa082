/*-------------------------------------------------------------------------
 *
 * args.h
 *		Checks and conversions of SQL function arguments (args.c).
 *
 * IDENTIFICATION
 *		src/common/args.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_ARGS_H
#define PGQ_ARGS_H

#include "fmgr.h"
#include "utils/array.h"
#include "utils/timestamp.h"

extern int pgq_array_elements(ArrayType *array, const char *argname,
							  bool allow_nulls, Datum **values, bool **nulls);
extern int pgq_array_length(ArrayType *array, const char *argname,
							bool allow_nulls);
#define PGQ_CLIP_BYTES 100
extern const char *pgq_clip(const char *s);
extern void		   pgq_check_same_length(int expected, int actual,
										 const char *argname, const char *refname);
extern void		   pgq_require_arg(FunctionCallInfo fcinfo, int argno,
								   const char *argname);
extern void		   pgq_check_entrypoint(const char *entrypoint);
extern void		   pgq_check_nonnegative_interval(Interval *iv, const char *argname);
extern void		   pgq_check_unique_ids(Datum *ids, int n, const char *argname);
extern ArrayType  *pgq_make_text_array(char **items, int n);

#endif /* PGQ_ARGS_H */
