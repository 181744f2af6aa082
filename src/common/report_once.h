/*-------------------------------------------------------------------------
 *
 * report_once.h
 *		What this backend has already reported, so that a check repeated on
 *		every call or every naptime reports each problem once
 *		(report_once.c).
 *
 * IDENTIFICATION
 *		src/common/report_once.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_REPORT_ONCE_H
#define PGQ_REPORT_ONCE_H

/* how many reports each memory of first reports holds (the newest) */
#define PGQ_REPORT_ONCE_MAX 256

extern bool pgq_first_report(const char *table, int64 id);
extern bool pgq_first_report_line(const char *line);
extern void pgq_mark_new_lines(char *const *lines, int n, bool *is_new);

#endif /* PGQ_REPORT_ONCE_H */
