/*-------------------------------------------------------------------------
 *
 * log_partitions.h
 *		Retention of pgqueuer_log by day slot (log_partitions.c).
 *
 * IDENTIFICATION
 *		src/api/log_partitions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_LOG_PARTITIONS_H
#define PGQ_LOG_PARTITIONS_H

/*
 * Empty (TRUNCATE) each day slot of pgqueuer_log whose rows are all older
 * than pgqueuer.log_retention and counted by the statistics; nothing when
 * the retention is 0.  Must run inside SPI, with the extension at its
 * current version.  Returns the rows the emptied slots held (an estimate
 * from pg_class.reltuples, or counted in a slot never vacuumed or
 * analyzed).  A slot whose lock is not granted within 100 ms is left for
 * the next call, as is one that fails (logged once); *deferred tells
 * whether any was, so that the caller does not delete its rows one by one
 * meanwhile.
 */
extern int64 pgq_truncate_log_slots(bool *deferred);

#endif /* PGQ_LOG_PARTITIONS_H */
