/*-------------------------------------------------------------------------
 *
 * row_checks.h
 *		Rows the sweeps cannot use: found, reported once in the log, and
 *		listed by verify().
 *
 * IDENTIFICATION
 *		src/api/row_checks.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQUEUER_ROW_CHECKS_H
#define PGQUEUER_ROW_CHECKS_H

#include "fmgr.h"

extern char *pgq_quote_for_log(const char *s);
extern void	 pgq_report_once(const char *line);
extern void	 pgq_report_bad_rows(void);
extern void	 pgq_verify_bad_rows(FunctionCallInfo fcinfo);

#endif /* PGQUEUER_ROW_CHECKS_H */
