/*-------------------------------------------------------------------------
 *
 * deferred_wakeup.h
 *		Waking the background worker when deferred jobs become due (deferred_wakeup.c).
 *
 * IDENTIFICATION
 *		src/worker/deferred_wakeup.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_DEFERRED_WAKEUP_H
#define PGQ_DEFERRED_WAKEUP_H

#include "utils/timestamp.h"

extern void		   pgq_deferred_changed(void);
extern TimestampTz pgq_next_deferred_due(void);

#endif /* PGQ_DEFERRED_WAKEUP_H */
