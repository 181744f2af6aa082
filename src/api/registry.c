/*-------------------------------------------------------------------------
 *
 * registry.c
 *		The entrypoint registry: register_entrypoint(), pause(), resume().
 *
 * A registry row is what the server enforces for every worker alike:
 * concurrency limit, rate limit, lease, attempts, backoff, failure policy
 * and the paused flag.  Workers upsert their entrypoints when they start.
 *
 * IDENTIFICATION
 *		src/api/registry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "args.h"
#include "bounds.h"
#include "notify.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(pgqueuer_register_entrypoint);
PG_FUNCTION_INFO_V1(pgqueuer_pause);
PG_FUNCTION_INFO_V1(pgqueuer_resume);

static const char *const register_sql =
	"INSERT INTO pgqueuer.pgqueuer_entrypoints AS e (entrypoint, concurrency_limit,"
	"  lease_timeout, max_attempts, requests_per_second, retry_backoff_base,"
	"  retry_backoff_max, on_failure, registered)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true)"
	" ON CONFLICT (entrypoint) DO UPDATE SET"
	"  concurrency_limit = EXCLUDED.concurrency_limit, lease_timeout = EXCLUDED.lease_timeout,"
	"  max_attempts = EXCLUDED.max_attempts, requests_per_second = EXCLUDED.requests_per_second,"
	"  retry_backoff_base = EXCLUDED.retry_backoff_base, retry_backoff_max = EXCLUDED.retry_backoff_max,"
	"  on_failure = EXCLUDED.on_failure, registered = true, updated = pg_catalog.now()";

static const char *const pause_sql =
	"INSERT INTO pgqueuer.pgqueuer_entrypoints AS e (entrypoint, paused, registered)"
	" VALUES ($1, true, false)"
	" ON CONFLICT (entrypoint) DO UPDATE SET paused = true, updated = pg_catalog.now()"
	" WHERE NOT e.paused";

static const char *const resume_sql =
	"UPDATE pgqueuer.pgqueuer_entrypoints SET paused = false, updated = pg_catalog.now()"
	" WHERE entrypoint OPERATOR(pg_catalog.=) $1 AND paused";

static SPIPlanPtr register_plan = NULL;
static SPIPlanPtr pause_plan = NULL;
static SPIPlanPtr resume_plan = NULL;

/*
 * check_concurrency_limit
 *		A limit of zero (none) or more jobs.
 */
static void
check_concurrency_limit(int value)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"concurrency_limit\" must be between 0 and %d", INT_MAX),
				 errdetail("The value given is %d.", value),
				 errhint("Use 0 for no limit.")));
}

/*
 * entrypoint_arg
 *		Argument 0: a non-empty entrypoint name.
 */
static Datum
entrypoint_arg(FunctionCallInfo fcinfo)
{
	pgq_require_arg(fcinfo, 0, "entrypoint");
	pgq_check_entrypoint(TextDatumGetCString(PG_GETARG_DATUM(0)));
	return PG_GETARG_DATUM(0);
}

/*
 * pgqueuer_register_entrypoint
 *		register_entrypoint(entrypoint, concurrency_limit, lease_timeout,
 *							max_attempts, requests_per_second,
 *							retry_backoff_base, retry_backoff_max,
 *							on_failure) -> void
 */
Datum
pgqueuer_register_entrypoint(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[8] = {TEXTOID, INT4OID, INTERVALOID, INT4OID,
									FLOAT8OID, INTERVALOID, INTERVALOID, TEXTOID};
	Datum			 values[8];
	char			 nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char			*on_failure;
	char			*name = TextDatumGetCString(entrypoint_arg(fcinfo));

	pgq_require_arg(fcinfo, 1, "concurrency_limit");
	pgq_require_arg(fcinfo, 4, "requests_per_second");
	pgq_require_arg(fcinfo, 5, "retry_backoff_base");
	pgq_require_arg(fcinfo, 6, "retry_backoff_max");
	pgq_require_arg(fcinfo, 7, "on_failure");

	check_concurrency_limit(PG_GETARG_INT32(1));
	if (!PG_ARGISNULL(2))
		pgq_check_lease_timeout(PG_GETARG_INTERVAL_P(2));
	if (!PG_ARGISNULL(3))
		pgq_check_max_attempts(PG_GETARG_INT32(3));
	pgq_check_rate(PG_GETARG_FLOAT8(4));
	pgq_check_backoff(PG_GETARG_INTERVAL_P(5), "retry_backoff_base");
	pgq_check_backoff(PG_GETARG_INTERVAL_P(6), "retry_backoff_max");
	on_failure = TextDatumGetCString(PG_GETARG_DATUM(7));
	if (strcmp(on_failure, "delete") != 0 && strcmp(on_failure, "hold") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid on_failure value \"%s\"", pgq_clip(on_failure)),
				 errhint("Use 'delete' (log the job as exception and remove it) or 'hold' (keep it as failed).")));

	for (int i = 0; i < 8; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}

	pgq_connect();
	pgq_execute(pgq_plan(&register_plan, register_sql, 8, argtypes),
				values, nulls, SPI_OK_INSERT);
	pgq_finish();

	/* a raised limit may let idle workers take more */
	pgq_notify_table_changed("update", &name, 1, 0);
	PG_RETURN_VOID();
}

/*
 * pgqueuer_pause
 *		pause(entrypoint) -> boolean (true if it was not paused before)
 */
Datum
pgqueuer_pause(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[1] = {TEXTOID};
	Datum			 value = entrypoint_arg(fcinfo);
	int				 n;

	pgq_connect();
	n = pgq_execute(pgq_plan(&pause_plan, pause_sql, 1, argtypes),
					&value, NULL, SPI_OK_INSERT);
	pgq_finish();
	PG_RETURN_BOOL(n > 0);
}

/*
 * pgqueuer_resume
 *		resume(entrypoint) -> boolean (true if it was paused)
 */
Datum
pgqueuer_resume(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[1] = {TEXTOID};
	Datum			 value;
	char			*name;
	int				 n;

	pgq_require_arg(fcinfo, 0, "entrypoint");
	value = PG_GETARG_DATUM(0);
	name = TextDatumGetCString(value);

	pgq_connect();
	n = pgq_execute(pgq_plan(&resume_plan, resume_sql, 1, argtypes),
					&value, NULL, SPI_OK_UPDATE);
	pgq_finish();

	if (n > 0)
		pgq_notify_table_changed("update", &name, 1, 0);
	PG_RETURN_BOOL(n > 0);
}
