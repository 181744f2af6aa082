/*-------------------------------------------------------------------------
 *
 * report_once.c
 *		What this backend has already reported, so that a check repeated on
 *		every call or every naptime reports each problem once.
 *
 * Every memory here holds 64-bit hashes of what was reported, kept for
 * the life of the backend:
 *
 * - first reports: pgq_first_report() (a skipped row of a table, by id)
 *   and pgq_first_report_line() (a log line) each remember the newest
 *   PGQ_REPORT_ONCE_MAX reports, and say whether a report is new;
 * - the previous sweep: pgq_mark_new_lines() remembers the lines of the
 *   last call only, so that a problem that was fixed and came back is
 *   reported again (the background worker's bad-row check).
 *
 * IDENTIFICATION
 *		src/common/report_once.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/memutils.h"

#include "report_once.h"

/* the newest PGQ_REPORT_ONCE_MAX keys, oldest overwritten first */
typedef struct ReportRing
{
	uint64 keys[PGQ_REPORT_ONCE_MAX];
	int	   n;	 /* keys in use */
	int	   next; /* the slot written next */
} ReportRing;

static ReportRing skipped_rows;
static ReportRing lines;

/* the keys of the lines of pgq_mark_new_lines()'s previous call */
static uint64 *last_lines = NULL;
static int	   nlast_lines = 0;

/*
 * line_key
 *		The key of a report line.
 */
static uint64
line_key(const char *line)
{
	return hash_bytes_extended((const unsigned char *) line, strlen(line), 0);
}

/*
 * ring_first
 *		True, and key remembered, when ring does not hold key.
 */
static bool
ring_first(ReportRing *ring, uint64 key)
{
	for (int i = 0; i < ring->n; i++)
		if (ring->keys[i] == key)
			return false;
	ring->keys[ring->next] = key;
	ring->next = (ring->next + 1) % PGQ_REPORT_ONCE_MAX;
	ring->n = Min(ring->n + 1, PGQ_REPORT_ONCE_MAX);
	return true;
}

/*
 * pgq_first_report
 *		True the first time this backend asks about row "id" of "table", so
 *		that a sweep repeated every naptime reports a skipped row once rather
 *		than every time.
 */
bool
pgq_first_report(const char *table, int64 id)
{
	return ring_first(&skipped_rows,
					  hash_bytes_extended((const unsigned char *) table,
										  strlen(table), (uint64) id));
}

/*
 * pgq_first_report_line
 *		True the first time this backend asks about this log line (a dequeue
 *		that skips an entrypoint would otherwise say so on every call).
 */
bool
pgq_first_report_line(const char *line)
{
	return ring_first(&lines, line_key(line));
}

/*
 * pgq_mark_new_lines
 *		Of the n lines a repeated check found, mark in is_new those its
 *		previous call did not find, and remember these n for the next call.
 *		A problem fixed and back again is therefore reported again.
 */
void
pgq_mark_new_lines(char *const *found, int n, bool *is_new)
{
	uint64 *keys = MemoryContextAlloc(TopMemoryContext,
									  sizeof(uint64) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		keys[i] = line_key(found[i]);
		is_new[i] = true;
		for (int j = 0; j < nlast_lines && is_new[i]; j++)
			is_new[i] = last_lines[j] != keys[i];
	}
	if (last_lines != NULL)
		pfree(last_lines);
	last_lines = keys;
	nlast_lines = n;
}
