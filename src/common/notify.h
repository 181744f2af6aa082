/*-------------------------------------------------------------------------
 *
 * notify.h
 *		The NOTIFY payloads the extension sends on ch_pgqueuer (notify.c).
 *
 * IDENTIFICATION
 *		src/common/notify.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_NOTIFY_H
#define PGQ_NOTIFY_H

/* The NOTIFY channel, PgQueuer's default. */
#define PGQ_CHANNEL "ch_pgqueuer"

/* NOTIFY refuses payloads of 8000 bytes or more; stay clear of it. */
#define PGQ_NOTIFY_PAYLOAD_MAX 7900

extern bool pgq_notify_allowed(void);
extern void pgq_notify_table_changed(const char *operation,
									 char **entrypoints, int nentrypoints,
									 int64 jobs);
extern void pgq_notify_cancellation(const char *queue_manager_id,
									int64 *ids, int nids);
extern void pgq_notify_entrypoints(const char *operation, char **entrypoints,
								   int n);
extern int	pgq_distinct_strings(char **items, int n);
extern void pgq_notify_outcomes(const char *operation, char **entrypoints,
								int n, int64 *final_ids, int nfinal);

#endif /* PGQ_NOTIFY_H */
