/*-------------------------------------------------------------------------
 *
 * statistics.h
 *		Folding log rows into statistics, and retention (statistics.c).
 *
 * IDENTIFICATION
 *		src/api/statistics.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_STATISTICS_H
#define PGQ_STATISTICS_H

#include "datatype/timestamp.h"

extern int64	   pgq_fold_statistics(int chunk, bool single_writer);
extern int64	   pgq_fold_statistics_tail(int chunk);
extern int64	   pgq_prune_history(bool log_too);
extern TimestampTz pgq_statistics_watermark(void);

#endif /* PGQ_STATISTICS_H */
