/*-------------------------------------------------------------------------
 *
 * table.h
 *		A small table renderer for the pgq commands (dashboard, failed,
 *		schedules), with the output formats of Python's tabulate.
 *
 * A table is a header row and rows of strings.  Columns whose non-empty
 * cells are all numbers are right-aligned, others left-aligned (the
 * "pretty" format centres everything), and every column is at least two
 * characters wider than its header, as tabulate does.  Widths count UTF-8
 * characters.
 *
 * IDENTIFICATION
 *		client/cli/table.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGQ_TABLE_H
#define PGQ_TABLE_H

#include <stdbool.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "pgq.h"

typedef enum PgqTableFormat
{
	PGQ_TABLE_PLAIN,
	PGQ_TABLE_SIMPLE,
	PGQ_TABLE_GRID,
	PGQ_TABLE_PRETTY,
	PGQ_TABLE_GITHUB,
	PGQ_TABLE_PIPE,
	PGQ_TABLE_ORGTBL,
	PGQ_TABLE_PSQL,
	PGQ_TABLE_RST,
	PGQ_TABLE_PRESTO,
	PGQ_TABLE_TSV,
	PGQ_TABLE_HTML
} PgqTableFormat;

/* The format used when neither an option nor the environment names one. */
#define PGQ_TABLE_DEFAULT_NAME "pretty"

/*
 * The --table-format lines of a command's --help; the %s takes
 * pgq_table_format_names().
 */
#define PGQ_TABLE_FORMAT_HELP \
	"  -t, --table-format NAME  %s\n" \
	"                           (default: $PGQUEUER_TABLEFMT, then $TABLEFMT,\n" \
	"                           then " PGQ_TABLE_DEFAULT_NAME ")\n"

/* The valid format names, comma-separated, for help and error texts. */
/* --table-format and --help in a table command's option table */
#define PGQ_TABLE_OPTIONS {"table-format", required_argument, NULL, 't'}, PGQ_HELP_OPTION

/* the end of a table command's --help options: --table-format, --help */
#define PGQ_TABLE_OPTIONS_HELP \
	PGQ_TABLE_FORMAT_HELP \
	"  -h, --help               show this help and exit\n"

extern const char *pgq_table_format_names(void);

/* Look a format up by name; false if there is no such format. */
extern bool pgq_table_format_parse(const char *name, PgqTableFormat *out);

/*
 * Resolve the format of a command: the option's value when given (arg not
 * NULL), else $PGQUEUER_TABLEFMT, else $TABLEFMT, else "pretty".  An
 * unknown name is a usage error: prints it (listing the valid names) and
 * returns false.
 */
extern bool pgq_table_format_choose(PgqCli *cli, const char *arg,
									PgqTableFormat *out);

/*
 * The common start of a table-printing command once its options are read
 * (optind past them): refuse a left-over argument, resolve the format as
 * pgq_table_format_choose() does, and connect.  Returns the connection, or
 * NULL with the exit status in *rc (PGQ_EXIT_USAGE or PGQ_EXIT_FAIL; the
 * message is printed).
 */
extern PGconn *pgq_table_command_connect(PgqCli *cli, int argc, char **argv,
										 const char		*format_name,
										 PgqTableFormat *format, int *rc);

/*
 * The common end of a listing command: close conn, then print res as a
 * table, or the line none when it has no rows (and none is not NULL).
 * Returns the exit status: PGQ_EXIT_FAIL when res is NULL (the failed
 * statement, already reported), else PGQ_EXIT_OK.
 */
extern int pgq_table_finish_listing(PGconn *conn, PGresult *res,
									PgqTableFormat	   format,
									const char *const *headers,
									const char		  *none);

/*
 * Print a table: ncols headers, then nrows rows of ncols cells each, row
 * after row in cells (NULL cells print as empty).
 */
extern void pgq_table_print(FILE *out, PgqTableFormat fmt, int ncols,
							const char *const *headers, int nrows,
							const char *const *cells);

/* Print every row of a query result under the given headers. */
extern void pgq_table_print_result(FILE *out, PgqTableFormat fmt,
								   const char *const *headers,
								   const PGresult	 *res);

#endif /* PGQ_TABLE_H */
