#!/usr/bin/env bash
#
# py_drain.sh -- drain benchmark of the workers alone, for work on the
# Python worker's per-job cost (not part of `make bench` or `make test`).
#
# Installs the extension into a private copy of the server (as
# test/run_tests.sh does), starts a throwaway server (unix socket only,
# durable settings as in run_bench.sh), and for ROUNDS rounds, for each
# variant: queues DRAIN_JOBS no-op jobs with pgqueuer.enqueue_batch, runs
# WORKERS workers in drain mode with batch BATCH, and notes the wall time
# and the workers' CPU time (user + system, /usr/bin/time).  Variants
# alternate within a round, so they see the same machine load.  Prints
# per variant the median jobs/s and client CPU us/job.
#
# Variants (VARIANTS, space-separated):
#   c              build/pgq run build/examples/libmyjobs.so:setup
#   LABEL:DIR      python3 -m pgqueuer_client run py_noop:main with
#                  PYTHONPATH=DIR (a directory holding pgqueuer_client)
# MODE=e2e         instead of draining: WORKERS workers in continuous mode
#                  while PRODUCERS pgbench clients (test/bench/pgq_enqueue.pgbench)
#                  enqueue batches of BATCH for SECONDS_E2E seconds; jobs/s
#                  completed and client CPU per job.
# PROFILE=FILE     one Python drain under cProfile, timed in CPU time (first
#                  Python variant), stats written to FILE (pstats format),
#                  then exit.
#
# Example, the working tree against an older commit:
#   git worktree add /tmp/old-client <commit>
#   VARIANTS="new:client/python old:/tmp/old-client/client/python c" \
#       bash test/bench/py_drain.sh

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BATCH=${BATCH:-10}
WORKERS=${WORKERS:-1}
DRAIN_JOBS=${DRAIN_JOBS:-100000}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-"py:client/python c"}
EXTRA_ARGS=${EXTRA_ARGS:-}
PRODUCERS=${PRODUCERS:-2}
SECONDS_E2E=${SECONDS_E2E:-10}

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s PG_CONFIG="$PG_CONFIG"

. test/bench/server.sh
dir=$(mktemp -d /tmp/pgqueuer-bench.XXXXXX)
pid=""
workers=()

cleanup() {
	local p
	for p in "${workers[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	bench_server_stop
}
trap cleanup EXIT
trap 'echo; echo "py_drain: interrupted"; exit 130' INT TERM

bench_private_install
cp build/pgq build/examples/libmyjobs.so test/bench/py_noop.py "$dir/"
bench_server_start
sql -c 'CREATE EXTENSION pgqueuer' >/dev/null

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

fill() {
	sql -c 'TRUNCATE pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics' >/dev/null
	local i
	for ((i = 0; i < DRAIN_JOBS / 10000; i++)); do
		sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[10000]))" >/dev/null
	done
	sql -c 'VACUUM ANALYZE pgqueuer.pgqueuer' -c 'CHECKPOINT' >/dev/null
}

# drain VARIANT: one drain; prints "seconds cpu_seconds"
drain() {
	local v=$1 i t0 t1 cpu=0 usr=0 f
	fill
	t0=$(now)
	for ((i = 0; i < WORKERS; i++)); do
		if [ "$v" = c ]; then
			/usr/bin/time -f '%U %S' -o "$dir/time.$i" \
				"$dir/pgq" --pg-dsn "$dsn" run "$dir/libmyjobs.so:setup" \
				--batch-size "$BATCH" --mode drain --log-level WARNING &
		else
			(cd "$dir" && PYTHONPATH="$(cd "$top" && cd "${v#*:}" && pwd):$dir" exec /usr/bin/time -f '%U %S' \
				-o "$dir/time.$i" /usr/bin/python3 -m pgqueuer_client --pg-dsn "$dsn" run py_noop:main \
				--batch-size "$BATCH" --mode drain --log-level WARNING $EXTRA_ARGS) &
		fi
		workers+=($!)
	done
	for p in "${workers[@]}"; do wait "$p"; done
	workers=()
	t1=$(now)
	for ((i = 0; i < WORKERS; i++)); do
		f=$(awk '{ print $1 + $2 }' "$dir/time.$i")
		cpu=$(calc "$cpu + $f")
		f=$(awk '{ print $1 }' "$dir/time.$i")
		usr=$(calc "$usr + $f")
	done
	left=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer")
	[ "$left" = 0 ] || echo "py_drain: $left jobs left after $v" >&2
	echo "$(calc "$t1 - $t0") $cpu $usr"
}

# e2e VARIANT: workers in continuous mode while PRODUCERS pgbench clients
# enqueue batches of BATCH for SECONDS; prints "jobs_done cpu_seconds user"
e2e() {
	local v=$1 i cpu=0 usr=0 f p done_jobs
	sql -c 'TRUNCATE pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics' \
		-c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
	for ((i = 0; i < WORKERS; i++)); do
		if [ "$v" = c ]; then
			"$dir/pgq" --pg-dsn "$dsn" run "$dir/libmyjobs.so:setup" \
				--batch-size "$BATCH" --mode continuous --log-level WARNING &
		else
			(cd "$dir" && PYTHONPATH="$(cd "$top" && cd "${v#*:}" && pwd):$dir" exec /usr/bin/python3 -m pgqueuer_client --pg-dsn "$dsn" run py_noop:main \
				--batch-size "$BATCH" --mode continuous --log-level WARNING $EXTRA_ARGS) &
		fi
		workers+=($!)
	done
	until [ "$(sql -c "SELECT count(*) >= $WORKERS FROM pg_stat_activity WHERE datname = 'bench' AND pid <> pg_backend_pid() AND (query ILIKE '%LISTEN%' OR query ILIKE '%pgqueuer.dequeue%')")" = t ]; do
		sleep 0.1
	done
	"$bindir/pgbench" -n -D batch="$BATCH" -c "$PRODUCERS" -j "$PRODUCERS" -T "$SECONDS_E2E" \
		-f test/bench/pgq_enqueue.pgbench "$dsn" >/dev/null
	done_jobs=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'")
	# CPU so far (utime, stime in clock ticks), start-up included
	for p in "${workers[@]}"; do
		f=$(awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz, $14 / hz }' "/proc/$p/stat")
		cpu=$(calc "$cpu + ${f% *}")
		usr=$(calc "$usr + ${f#* }")
	done
	for p in "${workers[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${workers[@]}"; do wait "$p" || true; done
	workers=()
	echo "$done_jobs $cpu $usr"
}

if [ "${MODE:-drain}" = e2e ]; then
	echo "== end to end, $SECONDS_E2E s, $PRODUCERS producer(s), batch $BATCH, $WORKERS worker(s), $ROUNDS rounds"
	declare -A e2e_results
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in $VARIANTS; do
			read -r n cpu usr < <(e2e "$v")
			echo "   round $r ${v%%:*}: $(calc "$n / $SECONDS_E2E") jobs/s, client CPU $(calc "$cpu * 1000000 / ($n + 1)") us/job ($(calc "$usr * 1000000 / ($n + 1)") user)"
			e2e_results[$v]+="$n $cpu
"
		done
	done
	printf '%-10s %12s %18s\n' variant "jobs/s" "client us/job"
	for v in $VARIANTS; do
		read -r n cpu < <(printf '%s' "${e2e_results[$v]}" | sort -g | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
		printf '%-10s %12s %18s\n' "${v%%:*}" "$(calc "$n / $SECONDS_E2E")" "$(calc "$cpu * 1000000 / ($n + 1)")"
	done
	exit 0
fi

if [ -n "${PROFILE:-}" ]; then
	for v in $VARIANTS; do
		[ "$v" = c ] && continue
		fill
		(cd "$dir" && PYTHONPATH="$(cd "$top" && cd "${v#*:}" && pwd):$dir" /usr/bin/python3 -c '
import cProfile, runpy, sys, time
sys.argv = ["pgqueuer_client"] + sys.argv[1:]
prof = cProfile.Profile(time.process_time)  # CPU time, not time waiting
try:
    prof.runcall(runpy.run_module, "pgqueuer_client", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
prof.dump_stats("'"$dir/profile.out"'")
' --pg-dsn "$dsn" run py_noop:main --batch-size "$BATCH" --mode drain --log-level WARNING $EXTRA_ARGS)
		cp "$dir/profile.out" "$PROFILE"
		echo "py_drain: profile of $v in $PROFILE"
		exit 0
	done
fi

echo "== drain $DRAIN_JOBS jobs, batch $BATCH, $WORKERS worker(s), $ROUNDS rounds"
declare -A results
for ((r = 1; r <= ROUNDS; r++)); do
	for v in $VARIANTS; do
		read -r secs cpu usr < <(drain "$v")
		echo "   round $r ${v%%:*}: ${secs}s, $(calc "$DRAIN_JOBS / $secs") jobs/s, client CPU $(calc "$cpu * 1000000 / $DRAIN_JOBS") us/job ($(calc "$usr * 1000000 / $DRAIN_JOBS") user)"
		results[$v]+="$secs $cpu
"
	done
done
printf '%-10s %12s %18s\n' variant "jobs/s" "client us/job"
for v in $VARIANTS; do
	med_s=$(printf '%s' "${results[$v]}" | awk '{ print $1 }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	med_c=$(printf '%s' "${results[$v]}" | awk '{ print $2 }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	printf '%-10s %12s %18s\n' "${v%%:*}" "$(calc "$DRAIN_JOBS / $med_s")" "$(calc "$med_c * 1000000 / $DRAIN_JOBS")"
done
