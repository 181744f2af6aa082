/*-------------------------------------------------------------------------
 *
 * inspect.c
 *		Read-side functions with PgQueuer's shapes: queue_size(),
 *		job_status() and log_statistics().
 *
 * IDENTIFICATION
 *		src/api/inspect.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"

#include "args.h"
#include "bounds.h"
#include "compat.h"
#include "guc.h"
#include "spi_util.h"
#include "statistics.h"

PG_FUNCTION_INFO_V1(pgqueuer_queue_size);
PG_FUNCTION_INFO_V1(pgqueuer_job_status);
PG_FUNCTION_INFO_V1(pgqueuer_log_statistics);

static const char *const queue_size_sql =
	"SELECT pg_catalog.count(*), priority, entrypoint, status FROM pgqueuer.pgqueuer"
	" GROUP BY entrypoint, priority, status"
	" ORDER BY pg_catalog.count(*), entrypoint, priority, status";

static const char *const job_status_sql =
	"SELECT DISTINCT ON (l.job_id) l.job_id, l.status FROM pgqueuer.pgqueuer_log l"
	" WHERE l.job_id OPERATOR(pg_catalog.=) ANY ($1)"
	" ORDER BY l.job_id, l.created DESC, l.id DESC";

static const char *const statistics_sql =
	"SELECT count, created, entrypoint, priority, status FROM pgqueuer.pgqueuer_statistics"
	" WHERE $2::interval IS NULL"
	"    OR created OPERATOR(pg_catalog.>) (pg_catalog.now() OPERATOR(pg_catalog.-) $2)"
	" ORDER BY id DESC LIMIT $1";

static SPIPlanPtr queue_size_plan = NULL;
static SPIPlanPtr job_status_plan = NULL;
static SPIPlanPtr statistics_plan = NULL;

/*
 * pgqueuer_queue_size
 *		queue_size() -> TABLE(count, priority, entrypoint, status)
 */
Datum
pgqueuer_queue_size(PG_FUNCTION_ARGS)
{
	pgq_init_materialized_srf(fcinfo);
	pgq_connect();
	pgq_execute(pgq_plan(&queue_size_plan, queue_size_sql, 0, NULL),
				NULL, NULL, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, 4);
	pgq_finish();
	return (Datum) 0;
}

/*
 * pgqueuer_job_status
 *		job_status(job_ids[]) -> TABLE(job_id, status)
 */
Datum
pgqueuer_job_status(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[1] = {INT8ARRAYOID};
	Datum			 value;

	pgq_init_materialized_srf(fcinfo);
	pgq_require_arg(fcinfo, 0, "job_ids");
	if (pgq_array_length(PG_GETARG_ARRAYTYPE_P(0), "job_ids", false) == 0)
		return (Datum) 0;
	value = PG_GETARG_DATUM(0);

	pgq_connect();
	pgq_execute(pgq_plan(&job_status_plan, job_status_sql, 1, argtypes),
				&value, NULL, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, 2);
	pgq_finish();
	return (Datum) 0;
}

/*
 * pgqueuer_log_statistics
 *		log_statistics(max_rows, last) -> TABLE(count, created, entrypoint,
 *		priority, status), after folding every pending log row.
 */
Datum
pgqueuer_log_statistics(PG_FUNCTION_ARGS)
{
	static const Oid argtypes[2] = {INT8OID, INTERVALOID};
	Datum			 values[2];
	char			 nulls[2] = {' ', ' '};

	pgq_init_materialized_srf(fcinfo);
	if (!PG_ARGISNULL(0) && PG_GETARG_INT32(0) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"max_rows\" must not be negative"),
				 errhint("Pass NULL for all rows.")));
	if (!PG_ARGISNULL(1))
		pgq_check_delay(PG_GETARG_INTERVAL_P(1), "last", false);

	values[0] = PG_ARGISNULL(0) ? (Datum) 0 : Int64GetDatum((int64) PG_GETARG_INT32(0));
	nulls[0] = PG_ARGISNULL(0) ? 'n' : ' ';
	values[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	nulls[1] = PG_ARGISNULL(1) ? 'n' : ' ';

	pgq_connect();
	while (pgq_fold_statistics(pgq_stats_chunk, false) > 0)
		;
	while (pgq_fold_statistics_tail(pgq_stats_chunk) > 0)
		;
	pgq_execute(pgq_plan(&statistics_plan, statistics_sql, 2, argtypes),
				values, nulls, SPI_OK_SELECT);
	pgq_store_spi_rows(fcinfo, 5);
	pgq_finish();
	return (Datum) 0;
}
