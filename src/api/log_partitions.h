/*-------------------------------------------------------------------------
 *
 * log_partitions.h
 *		The day partitions of pgqueuer_log (log_partitions.c).
 *
 * IDENTIFICATION
 *		src/api/log_partitions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_LOG_PARTITIONS_H
#define PGQ_LOG_PARTITIONS_H

/*
 * Make the day partitions of today (UTC) and the next days that are
 * missing, and drop those past pgqueuer.log_retention that the statistics
 * have counted.  Must run inside SPI, with the extension at its current
 * version.  Returns the rows the dropped partitions held (an estimate from
 * pg_class.reltuples).  A partition whose lock is not granted within
 * 100 ms is left for the next call; other failures are logged once.
 */
extern int64 pgq_maintain_log_partitions(void);

#endif /* PGQ_LOG_PARTITIONS_H */
