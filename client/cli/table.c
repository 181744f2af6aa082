/*-------------------------------------------------------------------------
 *
 * table.c
 *		Render rows of strings as a table in one of tabulate's formats
 *		(see table.h).
 *
 * Each text format is described like tabulate describes it: optional
 * horizontal lines (above the table, below the header, between rows,
 * below the table) made of a begin, a fill character, a column separator
 * and an end, and the begin/separator/end of a row, plus the padding put
 * on both sides of every cell.  Only the lines shown when the table has a
 * header are described, since ours always have one.  HTML is written by
 * its own function.
 *
 * IDENTIFICATION
 *		client/cli/table.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

typedef struct TableLine
{
	const char *begin; /* NULL: no such line */
	char		fill;
	const char *sep;
	const char *end;
} TableLine;

typedef struct TableFormatDef
{
	const char	  *name;
	PgqTableFormat format;
	TableLine	   above;
	TableLine	   below_header;
	TableLine	   between_rows;
	TableLine	   below;
	const char	  *row_begin;
	const char	  *row_sep;
	const char	  *row_end;
	int			   padding;		/* spaces on both sides of a cell */
	int			   min_padding; /* extra width of a column over its header */
	bool		   center;		/* centre every cell ("pretty") */
	bool		   colons;		/* alignment colons below the header ("pipe") */
	bool		   aligned;		/* pad cells to the column width */
} TableFormatDef;

#define NO_LINE \
	{ \
		NULL, 0, NULL, NULL \
	}
#define BOX_LINE(c) \
	{ \
		"+", c, "+", "+" \
	}

static const TableFormatDef formats[] = {
	{"plain", PGQ_TABLE_PLAIN, NO_LINE, NO_LINE, NO_LINE, NO_LINE,
	 "", "  ", "", 0, 2, false, false, true},
	{"simple", PGQ_TABLE_SIMPLE, NO_LINE, {"", '-', "  ", ""}, NO_LINE, NO_LINE, "", "  ", "", 0, 2, false, false, true},
	{"grid", PGQ_TABLE_GRID, BOX_LINE('-'), BOX_LINE('='), BOX_LINE('-'), BOX_LINE('-'),
	 "|", "|", "|", 1, 2, false, false, true},
	{"pretty", PGQ_TABLE_PRETTY, BOX_LINE('-'), BOX_LINE('-'), NO_LINE, BOX_LINE('-'),
	 "|", "|", "|", 1, 0, true, false, true},
	{"github", PGQ_TABLE_GITHUB, NO_LINE, {"|", '-', "|", "|"}, NO_LINE, NO_LINE, "|", "|", "|", 1, 2, false, false, true},
	{"pipe", PGQ_TABLE_PIPE, NO_LINE, {"|", '-', "|", "|"}, NO_LINE, NO_LINE, "|", "|", "|", 1, 2, false, true, true},
	{"orgtbl", PGQ_TABLE_ORGTBL, NO_LINE, {"|", '-', "+", "|"}, NO_LINE, NO_LINE, "|", "|", "|", 1, 2, false, false, true},
	{"psql", PGQ_TABLE_PSQL, BOX_LINE('-'), {"|", '-', "+", "|"}, NO_LINE, BOX_LINE('-'), "|", "|", "|", 1, 2, false, false, true},
	{"rst", PGQ_TABLE_RST, {"", '=', "  ", ""}, {"", '=', "  ", ""}, NO_LINE, {"", '=', "  ", ""}, "", "  ", "", 0, 2, false, false, true},
	{"presto", PGQ_TABLE_PRESTO, NO_LINE, {"", '-', "+", ""}, NO_LINE, NO_LINE, "", "|", "", 1, 2, false, false, true},
	{"tsv", PGQ_TABLE_TSV, NO_LINE, NO_LINE, NO_LINE, NO_LINE,
	 "", "\t", "", 0, 0, false, false, false},
	{"html", PGQ_TABLE_HTML, NO_LINE, NO_LINE, NO_LINE, NO_LINE,
	 "", "", "", 0, 0, false, false, false},
};

#define NFORMATS ((int) (sizeof(formats) / sizeof(formats[0])))

typedef enum Align
{
	ALIGN_LEFT,
	ALIGN_RIGHT,
	ALIGN_CENTER
} Align;

/* A table being rendered. */
typedef struct Table
{
	const TableFormatDef *def;
	int					  ncols;
	const char *const	 *headers;
	int					  nrows;
	const char *const	 *cells;
	int					 *widths; /* content width of each column */
	Align				 *aligns;
} Table;

const char *
pgq_table_format_names(void)
{
	static char names[256];

	if (names[0] == '\0')
	{
		for (int i = 0; i < NFORMATS; i++)
		{
			if (i > 0)
				strcat(names, ", ");
			strcat(names, formats[i].name);
		}
	}
	return names;
}

bool
pgq_table_format_parse(const char *name, PgqTableFormat *out)
{
	for (int i = 0; i < NFORMATS; i++)
	{
		if (strcmp(name, formats[i].name) == 0)
		{
			*out = formats[i].format;
			return true;
		}
	}
	return false;
}

bool
pgq_table_format_choose(PgqCli *cli, const char *arg, PgqTableFormat *out)
{
	const char *name = arg;
	const char *origin = "--table-format";

	if (name == NULL)
	{
		name = getenv("PGQUEUER_TABLEFMT");
		origin = "PGQUEUER_TABLEFMT";
		if (name == NULL || name[0] == '\0')
		{
			name = getenv("TABLEFMT");
			origin = "TABLEFMT";
		}
		if (name == NULL || name[0] == '\0')
			name = PGQ_TABLE_DEFAULT_NAME;
	}
	if (pgq_table_format_parse(name, out))
		return true;
	pgq_cli_usage(cli, "invalid table format \"%s\" in %s: choose one of %s",
				  name, origin, pgq_table_format_names());
	return false;
}

/* The description of a format. */
static const TableFormatDef *
format_def(PgqTableFormat fmt)
{
	for (int i = 0; i < NFORMATS; i++)
	{
		if (formats[i].format == fmt)
			return &formats[i];
	}
	return &formats[0];
}

/* Width of a UTF-8 string: its number of characters. */
static int
text_width(const char *s)
{
	int n = 0;

	for (; *s; s++)
	{
		if (((unsigned char) *s & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/* Is s a number as tabulate reads one (integer, decimal, exponent)? */
static bool
is_number(const char *s)
{
	static regex_t re;
	static bool	   compiled = false;

	if (!compiled)
	{
		if (regcomp(&re, "^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$",
					REG_EXTENDED | REG_NOSUB) != 0)
			return false;
		compiled = true;
	}
	return regexec(&re, s, 0, NULL, 0) == 0;
}

static const char *
cell(const Table *t, int row, int col)
{
	const char *s = t->cells[row * t->ncols + col];

	return s ? s : "";
}

/*
 * Column widths and alignments: numeric columns (every non-empty cell a
 * number, at least one) are right-aligned.
 */
static void
measure(Table *t)
{
	for (int c = 0; c < t->ncols; c++)
	{
		int	 w = text_width(t->headers[c]) + t->def->min_padding;
		bool numeric = false;
		bool text = false;

		for (int r = 0; r < t->nrows; r++)
		{
			const char *s = cell(t, r, c);
			int			cw = text_width(s);

			if (cw > w)
				w = cw;
			if (s[0] == '\0')
				continue;
			if (is_number(s))
				numeric = true;
			else
				text = true;
		}
		t->widths[c] = w;
		if (t->def->center)
			t->aligns[c] = ALIGN_CENTER;
		else
			t->aligns[c] = (numeric && !text) ? ALIGN_RIGHT : ALIGN_LEFT;
	}
}

static void
put_spaces(FILE *out, int n)
{
	for (int i = 0; i < n; i++)
		fputc(' ', out);
}

/* One cell, padded to the column width by its alignment. */
static void
put_cell(FILE *out, const Table *t, int col, const char *s)
{
	int gap = t->def->aligned ? t->widths[col] - text_width(s) : 0;
	int left = 0;

	if (gap < 0)
		gap = 0;
	if (t->aligns[col] == ALIGN_RIGHT)
		left = gap;
	else if (t->aligns[col] == ALIGN_CENTER)
		left = gap / 2;
	put_spaces(out, t->def->padding + left);
	fputs(s, out);
	put_spaces(out, gap - left + t->def->padding);
}

/*
 * Write buf without its trailing spaces, then a newline (tabulate strips
 * the rows of the formats without a closing border).
 */
static void
put_trimmed_line(FILE *out, char *buf, size_t len)
{
	while (len > 0 && buf[len - 1] == ' ')
		len--;
	fwrite(buf, 1, len, out);
	fputc('\n', out);
}

/* A row of cells (header when row < 0). */
static void
put_row(FILE *out, const Table *t, int row)
{
	char  *buf = NULL;
	size_t len = 0;
	FILE  *mem = open_memstream(&buf, &len);

	if (mem == NULL)
		return;
	fputs(t->def->row_begin, mem);
	for (int c = 0; c < t->ncols; c++)
	{
		if (c > 0)
			fputs(t->def->row_sep, mem);
		put_cell(mem, t, c, row < 0 ? t->headers[c] : cell(t, row, c));
	}
	fputs(t->def->row_end, mem);
	fclose(mem);
	put_trimmed_line(out, buf, len);
	free(buf);
}

/* A horizontal line, if the format has it. */
static void
put_line(FILE *out, const Table *t, const TableLine *line)
{
	if (line->begin == NULL)
		return;
	fputs(line->begin, out);
	for (int c = 0; c < t->ncols; c++)
	{
		int w = t->widths[c] + 2 * t->def->padding;

		if (c > 0)
			fputs(line->sep, out);
		for (int i = 0; i < w; i++)
		{
			char ch = line->fill;

			if (t->def->colons && t->aligns[c] != ALIGN_RIGHT && i == 0)
				ch = ':';
			if (t->def->colons && t->aligns[c] != ALIGN_LEFT && i == w - 1)
				ch = ':';
			fputc(ch, out);
		}
	}
	fputs(line->end, out);
	fputc('\n', out);
}

/* Text with HTML's special characters escaped. */
static void
put_html_text(FILE *out, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				fputs("&amp;", out);
				break;
			case '<':
				fputs("&lt;", out);
				break;
			case '>':
				fputs("&gt;", out);
				break;
			case '"':
				fputs("&quot;", out);
				break;
			case '\'':
				fputs("&#x27;", out);
				break;
			default:
				fputc(*s, out);
		}
	}
}

/* One HTML row of th or td elements (header when row < 0). */
static void
put_html_row(FILE *out, const Table *t, int row)
{
	const char *tag = row < 0 ? "th" : "td";

	fputs("<tr>", out);
	for (int c = 0; c < t->ncols; c++)
	{
		if (t->aligns[c] == ALIGN_RIGHT)
			fprintf(out, "<%s style=\"text-align: right;\">", tag);
		else
			fprintf(out, "<%s>", tag);
		put_html_text(out, row < 0 ? t->headers[c] : cell(t, row, c));
		fprintf(out, "</%s>", tag);
	}
	fputs("</tr>\n", out);
}

static void
put_html(FILE *out, const Table *t)
{
	fputs("<table>\n<thead>\n", out);
	put_html_row(out, t, -1);
	fputs("</thead>\n<tbody>\n", out);
	for (int r = 0; r < t->nrows; r++)
		put_html_row(out, t, r);
	fputs("</tbody>\n</table>\n", out);
}

void
pgq_table_print(FILE *out, PgqTableFormat fmt, int ncols,
				const char *const *headers, int nrows,
				const char *const *cells)
{
	Table t;

	t.def = format_def(fmt);
	t.ncols = ncols;
	t.headers = headers;
	t.nrows = nrows;
	t.cells = cells;
	t.widths = calloc(ncols > 0 ? ncols : 1, sizeof(int));
	t.aligns = calloc(ncols > 0 ? ncols : 1, sizeof(Align));
	if (t.widths == NULL || t.aligns == NULL)
	{
		free(t.widths);
		free(t.aligns);
		return;
	}
	measure(&t);

	if (fmt == PGQ_TABLE_HTML)
		put_html(out, &t);
	else
	{
		put_line(out, &t, &t.def->above);
		put_row(out, &t, -1);
		put_line(out, &t, &t.def->below_header);
		for (int r = 0; r < nrows; r++)
		{
			if (r > 0)
				put_line(out, &t, &t.def->between_rows);
			put_row(out, &t, r);
		}
		put_line(out, &t, &t.def->below);
	}
	free(t.widths);
	free(t.aligns);
}

void
pgq_table_print_result(FILE *out, PgqTableFormat fmt,
					   const char *const *headers, const PGresult *res)
{
	int			 ncols = PQnfields(res);
	int			 nrows = PQntuples(res);
	const char **cells = calloc((size_t) ncols * nrows + 1, sizeof(char *));

	if (cells == NULL)
		return;
	for (int r = 0; r < nrows; r++)
	{
		for (int c = 0; c < ncols; c++)
			cells[r * ncols + c] = PQgetisnull(res, r, c) ? "" :
															PQgetvalue(res, r, c);
	}
	pgq_table_print(out, fmt, ncols, headers, nrows, cells);
	free(cells);
}

PGconn *
pgq_table_command_connect(PgqCli *cli, int argc, char **argv,
						  const char *format_name, PgqTableFormat *format, int *rc)
{
	PGconn *conn;

	if (optind < argc)
	{
		*rc = pgq_cli_usage(cli, "unexpected argument \"%s\"", argv[optind]);
		return NULL;
	}
	if (!pgq_table_format_choose(cli, format_name, format))
	{
		*rc = PGQ_EXIT_USAGE;
		return NULL;
	}
	conn = pgq_cli_connect(cli);
	if (conn == NULL)
		*rc = PGQ_EXIT_FAIL;
	return conn;
}

int
pgq_table_finish_listing(PGconn *conn, PGresult *res, PgqTableFormat format,
						 const char *const *headers, const char *none)
{
	PQfinish(conn);
	if (res == NULL)
		return PGQ_EXIT_FAIL;
	if (PQntuples(res) == 0 && none != NULL)
		printf("%s\n", none);
	else
		pgq_table_print_result(stdout, format, headers, res);
	PQclear(res);
	return PGQ_EXIT_OK;
}
