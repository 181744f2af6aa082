/*-------------------------------------------------------------------------
 *
 * maintenance.h
 *		The duties of the background worker and run_maintenance() (maintenance.c).
 *
 * IDENTIFICATION
 *		src/api/maintenance.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_MAINTENANCE_H
#define PGQ_MAINTENANCE_H

#define PGQ_DUTY_LEASE_EXPIRY	  0
#define PGQ_DUTY_SCHEDULES		  1
#define PGQ_DUTY_DEFERRED_WAKEUPS 2
#define PGQ_DUTY_STATISTICS		  3
#define PGQ_DUTY_RETENTION		  4
#define PGQ_NDUTIES				  5
extern const char *const pgq_duty_names[PGQ_NDUTIES];
extern int64			 pgq_maintenance_duty(int duty);
extern void				 pgq_maintenance_pass(int64 *counts);

#endif /* PGQ_MAINTENANCE_H */
