/*-------------------------------------------------------------------------
 *
 * wait_signal.h
 *		Waking wait_for() when jobs reach an outcome (wait_signal.c).
 *
 * IDENTIFICATION
 *		src/common/wait_signal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_WAIT_SIGNAL_H
#define PGQ_WAIT_SIGNAL_H

extern void pgq_wait_install_hooks(void);
extern void pgq_wait_signal_outcome(void);
extern bool pgq_wait_available(void);
extern void pgq_wait_begin(void);
extern void pgq_wait_end(void);
extern void pgq_wait_prepare(void);
extern void pgq_wait_sleep(long timeout_ms);

#endif /* PGQ_WAIT_SIGNAL_H */
