/*-------------------------------------------------------------------------
 *
 * schema_version.h
 *		Which schema version the library serves and finds (schema_version.c).
 *
 * IDENTIFICATION
 *		src/common/schema_version.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_SCHEMA_VERSION_H
#define PGQ_SCHEMA_VERSION_H

/* the schema of the extension's objects (not relocatable) */
#define PGQ_SCHEMA "pgqueuer"

/*
 * The schema version this library serves: pgqueuer.control's default_version,
 * passed by the Makefile.
 */
#ifndef PGQ_SCHEMA_VERSION
#error "PGQ_SCHEMA_VERSION must be defined (the Makefile takes it from pgqueuer.control)"
#endif

typedef enum PgqSchemaState
{
	PGQ_SCHEMA_ABSENT,		   /* the extension is not installed here */
	PGQ_SCHEMA_CURRENT,		   /* PGQ_SCHEMA_VERSION */
	PGQ_SCHEMA_PENDING_UPDATE, /* older, with an update script to ours */
	PGQ_SCHEMA_UNSUPPORTED	   /* any other version: refused */
} PgqSchemaState;
extern PgqSchemaState pgq_schema_state(const char **version);
extern char			 *pgq_schema_hint(const char *version);
extern void			  pgq_check_schema_version(void);
extern bool			  pgq_warn_if_not_preloaded(void);

#endif /* PGQ_SCHEMA_VERSION_H */
