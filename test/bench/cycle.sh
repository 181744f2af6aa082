#!/usr/bin/env bash
#
# cycle.sh -- the "cycle" benchmark of `make bench`: the life of BATCH jobs
# in three transactions (enqueue a batch, dequeue it, complete it), run by
# pgbench -M prepared clients against pgqueuer's SQL functions and against a
# bare one-table FOR UPDATE SKIP LOCKED queue (bare_queue.sql), side by
# side in one run on one throwaway durable server.
#
# For each client count in BENCH_CYCLE_CLIENTS, each repetition runs the
# bare queue, then pgqueuer in each history mode of BENCH_CYCLE_HISTORY
# (pgqueuer.history: full, finished, none), each for BENCH_CYCLE_SECONDS,
# from an empty, vacuumed queue after a checkpoint.  Prints per client
# count the median jobs/s (script runs per second x BATCH) of each, the
# ratio pgqueuer / bare, and WAL bytes per job of each.
#
# Run alone (bash test/bench/cycle.sh), it starts its own server from a
# private copy of PG_CONFIG's installation (test/bench/server.sh), so an
# installed pgqueuer is neither needed nor changed.  `make bench`
# sources it as its cycle section, on its own server ($dir, $dsn, $bindir,
# sql, reset_all).  Not part of `make test`.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
BATCH=${BENCH_BATCH:-10}
CLIENTS=${BENCH_CYCLE_CLIENTS:-1 2 4 8}
REPS=${BENCH_CYCLE_REPS:-3}
SECS=${BENCH_CYCLE_SECONDS:-15}
MODES=${BENCH_CYCLE_HISTORY:-full finished none}

# cycle_server: a private server of our own when run alone (server.sh)
cycle_server() {
	top=$(cd "$(dirname "$0")/../.." && pwd)
	cd "$top"
	make -s PG_CONFIG="$PG_CONFIG"
	. test/bench/server.sh
	dir=$(mktemp -d /tmp/pgqueuer-bench.XXXXXX)
	pid=""
	trap bench_server_stop EXIT
	trap 'echo; echo "cycle: interrupted"; exit 130' INT TERM
	bench_private_install
	cp test/bench/cycle_*.pgbench test/bench/bare_queue.sql "$dir/"
	bench_server_start
	sql -c 'CREATE EXTENSION pgqueuer' -f "$dir/bare_queue.sql" >/dev/null

	reset_all() {
		sql -c 'TRUNCATE bare_queue, bare_done, pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics' \
			-c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
	}
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cycle_server
fi

# run_one SCRIPT CLIENTS: prints "jobs/s wal-bytes-per-job"
run_one() {
	local script=$1 c=$2 lsn0 tps wal
	reset_all
	lsn0=$(sql -c 'SELECT pg_current_wal_insert_lsn()')
	tps=$("$bindir/pgbench" -n -M prepared -D batch="$BATCH" -c "$c" -j "$c" -T "$SECS" \
		-f "$dir/$script" "$dsn" 2>"$dir/pgbench.err" | sed -n 's/^tps = \([0-9.]*\).*/\1/p') || true
	if [ -z "$tps" ]; then
		cat "$dir/pgbench.err" >&2
		exit 1
	fi
	wal=$(sql -c "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0')")
	awk -v t="$tps" -v w="$wal" -v b="$BATCH" -v s="$SECS" \
		'BEGIN { printf "%.0f %.0f\n", t * b, w / (t * b * s) }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== cycle: batch $BATCH, ${SECS}s x $REPS per figure, durable, pgbench -M prepared"
for c in $CLIENTS; do
	: >"$dir/bare.txt"
	for m in $MODES; do : >"$dir/pgq-$m.txt"; done
	for ((r = 0; r < REPS; r++)); do
		run_one cycle_bare.pgbench "$c" >>"$dir/bare.txt"
		for m in $MODES; do
			sql -c "ALTER DATABASE bench SET pgqueuer.history = '$m'" >/dev/null 2>&1 || true
			run_one cycle_pgq.pgbench "$c" >>"$dir/pgq-$m.txt"
		done
		sql -c "ALTER DATABASE bench RESET pgqueuer.history" >/dev/null 2>&1 || true
	done
	bare=$(cut -d' ' -f1 "$dir/bare.txt" | median)
	bwal=$(cut -d' ' -f2 "$dir/bare.txt" | median)
	printf '   %d client(s): bare %6d jobs/s, %5d WAL bytes/job\n' "$c" "$bare" "$bwal"
	for m in $MODES; do
		j=$(cut -d' ' -f1 "$dir/pgq-$m.txt" | median)
		w=$(cut -d' ' -f2 "$dir/pgq-$m.txt" | median)
		printf '   %d client(s): pgqueuer history=%-8s %6d jobs/s, %5d WAL bytes/job; ratio %.2f, WAL ratio %.2f\n' \
			"$c" "$m" "$j" "$w" "$(awk -v a="$j" -v b="$bare" 'BEGIN { print a / b }')" \
			"$(awk -v a="$w" -v b="$bwal" 'BEGIN { print a / b }')"
		# in make bench: a line of the final table each
		if declare -F report >/dev/null; then
			report "cycle $c client(s), history $m (jobs/s)" "$j" "$bare" >/dev/null
			report "cycle $c client(s), history $m (WAL B/job)" "$w" "$bwal" "lower is better" >/dev/null
		fi
	done
done
