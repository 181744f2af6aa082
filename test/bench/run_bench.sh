#!/usr/bin/env bash
#
# run_bench.sh -- what `make bench` runs: pgqueuer against a bare
# FOR UPDATE SKIP LOCKED queue (and graphile-worker), side by side on one
# throwaway server.  docs/benchmarks.md describes every section's method.
#
# Starts a private PostgreSQL (unix socket in a temporary directory, no
# TCP; durable settings: fsync, synchronous_commit and full_page_writes on,
# pgqueuer's tables logged) with pgqueuer preloaded, then runs the sections
# named in BENCH_SECTIONS, in that order (default: all of them):
#
#   e2e       jobs/s while BENCH_PRODUCERS pgbench clients enqueue batches
#             of BENCH_BATCH and BENCH_WORKERS workers dequeue and complete
#             them with a no-op handler, for BENCH_SECONDS; WAL per job;
#   drain     jobs/s draining BENCH_DRAIN_JOBS queued jobs, for every
#             "WORKERSxBATCH" of BENCH_DRAIN_CONFIGS: `pgq run --mode drain`
#             against as many pgbench clients claiming as many jobs at a
#             time from the bare queue; WAL per job;
#   latency   enqueue-to-start p50/p99 (ms) at BENCH_RATE jobs/s, one job
#             per transaction, idle workers waiting;
#   cycle     test/bench/cycle.sh, sourced here when it exists (the life of
#             a batch in three transactions, pgbench against pgbench);
#   graphile  graphile-worker 0.18.0's perfTest method: BENCH_GRAPHILE_JOBS
#             jobs of a no-op task drained by 4 processes x 24 jobs at once,
#             beside the drain figures of this run;
#   flat      dequeue+complete cost per job on an empty queue and with 1M
#             queued, 1M deferred, 100k held jobs and 1000 entrypoints;
#   wal       WAL bytes and rows written per job by each step of a job's
#             life (enqueue, then dequeue+complete), one client at a time;
#   retention time and WAL of removing BENCH_RETENTION_ROWS log rows of a
#             day past the retention: a day alone in its slot (TRUNCATE)
#             against the same rows deleted row by row and vacuumed.
#
# For example `BENCH_SECTIONS=drain make bench`.  Each section is a shell
# function section_NAME below; a section in a separate script (cycle.sh) is
# sourced and may use everything defined before the sections run: $dir
# (work directory, also holding copies of test/bench/*.pgbench and *.sql),
# $dsn, $bindir, $BATCH, $WORKERS, sql, bench, reset_all, start_pgq_workers,
# stop_workers, wait_listening, now, calc, wal_mark, wal_per_job, and
# report (one line of the final table).
#
# pgqueuer's workers are `pgq run` processes with the example factory's
# no-op entrypoint; end to end and drain are also measured with Python
# workers (skipped with BENCH_PYTHON=0); the baseline's workers are pgbench
# clients running bare_work.pgbench (claim by UPDATE ... RETURNING, then
# DELETE), polling without pause.  Every section prints its figures as it
# goes; the end prints them all again as one table with the ratio pgqueuer /
# baseline, and, if e2e ran, last "ratio end-to-end: X.XX".  Not part of
# `make test`: figures depend on the machine; compare ratios, which are
# measured side by side.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
SECTIONS=${BENCH_SECTIONS:-e2e drain latency cycle graphile flat wal retention}
BATCH=${BENCH_BATCH:-10}
WORKERS=${BENCH_WORKERS:-2}
PRODUCERS=${BENCH_PRODUCERS:-1}
SECONDS_E2E=${BENCH_SECONDS:-20}
DRAIN_JOBS=${BENCH_DRAIN_JOBS:-200000}
DRAIN_CONFIGS=${BENCH_DRAIN_CONFIGS:-2x10 4x50}
RATE=${BENCH_RATE:-50}
SECONDS_LAT=${BENCH_LATENCY_SECONDS:-10}
GRAPHILE_JOBS=${BENCH_GRAPHILE_JOBS:-200000}
GRAPHILE_PROCESSES=${BENCH_GRAPHILE_PROCESSES:-4}
GRAPHILE_CONCURRENCY=${BENCH_GRAPHILE_CONCURRENCY:-24}
GRAPHILE_DIR=${BENCH_GRAPHILE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgqueuer-bench/graphile}
FLAT_QUEUED=${BENCH_FLAT_QUEUED:-1000000}
FLAT_DEFERRED=${BENCH_FLAT_DEFERRED:-1000000}
FLAT_FAILED=${BENCH_FLAT_FAILED:-100000}
FLAT_ENTRYPOINTS=${BENCH_FLAT_ENTRYPOINTS:-1000}
FLAT_LIMITED=${BENCH_FLAT_LIMITED:-100}
FLAT_ASKED=${BENCH_FLAT_ASKED:-100}
FLAT_TX=${BENCH_FLAT_TX:-1000}
FLAT_SECONDS=${BENCH_FLAT_SECONDS:-5}
FLAT_REPEAT=${BENCH_FLAT_REPEAT:-3}
WAL_JOBS=${BENCH_WAL_JOBS:-20000}
WAL_HISTORY=${BENCH_WAL_HISTORY:-full finished none}
RETENTION_ROWS=${BENCH_RETENTION_ROWS:-500000}

for s in $SECTIONS; do
	case $s in
		e2e | drain | latency | cycle | graphile | flat | wal | retention) ;;
		*)
			echo "bench: unknown section \"$s\" in BENCH_SECTIONS (e2e drain latency cycle graphile flat wal retention)" >&2
			exit 2
			;;
	esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
bindir=$($PG_CONFIG --bindir)
. test/bench/server.sh

make -s PG_CONFIG="$PG_CONFIG"
[ "$(id -u)" = 0 ] && make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

dir=$(mktemp -d /tmp/pgqueuer-bench.XXXXXX)
cp build/pgq build/examples/libmyjobs.so test/bench/*.pgbench test/bench/*.sql test/bench/py_noop.py \
	test/bench/graphile_drain.js "$dir/"
pid=""
workers=()

stop_workers() {
	local p
	for p in "${workers[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${workers[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	workers=()
}

cleanup() {
	stop_workers
	bench_server_stop
}
trap cleanup EXIT
trap 'echo; echo "bench: interrupted"; exit 130' INT TERM

# graphile's processes hold 4 x 25 connections
bench_server_start 150
bench() { "$bindir/pgbench" -n -D batch="$BATCH" "$@" "$dsn"; }

sql -c 'CREATE EXTENSION pgqueuer' -f "$dir/bare_queue.sql" >/dev/null

# reset_all: empty queues, registry and log, vacuumed, and a checkpoint, so
# that every measurement starts alike (full-page images included)
reset_all() {
	sql -c 'TRUNCATE bare_queue, bare_done, pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics' \
		-c 'DELETE FROM pgqueuer.pgqueuer_entrypoints' \
		-c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
}

# start_pgq_workers MODE [N [B]]: N (WORKERS) `pgq run` processes with
# batch B (BATCH) in the background
start_pgq_workers() {
	local i n=${2:-$WORKERS} b=${3:-$BATCH}
	for ((i = 0; i < n; i++)); do
		# not through runuser, which would not pass SIGTERM on to pgq
		"$dir/pgq" --pg-dsn "$dsn" run "$dir/libmyjobs.so:setup" \
			--batch-size "$b" --mode "$1" --log-level WARNING \
			2> >(grep -v '^myjobs: cleanup:' >&2) &
		workers+=($!)
	done
}

# wait_listening: until every pgq worker has connected and LISTENs
wait_listening() {
	local deadline=$((SECONDS + 30))
	until [ "$(sql -c "SELECT count(*) >= $WORKERS FROM pg_stat_activity WHERE datname = 'bench' AND pid <> pg_backend_pid() AND (query ILIKE '%LISTEN%' OR query ILIKE '%pgqueuer.dequeue%')")" = t ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "bench: pgq workers did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# start_py_workers MODE [N [B]]: Python workers in the background; in
# continuous mode, return once they all LISTEN
start_py_workers() {
	local i n=${2:-$WORKERS} b=${3:-$BATCH}
	for ((i = 0; i < n; i++)); do
		(cd "$dir" && PYTHONPATH="$top/client/python:$dir" exec /usr/bin/python3 -m pgqueuer_client \
			--pg-dsn "$dsn" run py_noop:main --batch-size "$b" --mode "$1" --log-level WARNING) &
		workers+=($!)
	done
	[ "$1" = continuous ] || return 0
	local deadline=$((SECONDS + 30))
	until [ "$(sql -c "SELECT count(*) >= $n FROM pg_stat_activity WHERE application_name = 'pgqueuer_client listener'")" = t ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "bench: Python workers did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
}

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
tps() { grep -o 'tps = [0-9.]*' "$1" | head -1 | awk '{ print $3 }'; }

# wal_mark [NAME]: remember the current WAL position (as NAME, default "0")
# wal_per_job N [NAME]: WAL bytes written since wal_mark [NAME], divided by
# N jobs (whole server: background workers and autovacuum included)
wal_mark() {
	local v="wal_lsn_${1:-0}"
	printf -v "$v" '%s' "$(sql -c 'SELECT pg_current_wal_lsn()')"
}
wal_per_job() {
	local v="wal_lsn_${2:-0}"
	sql -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '${!v}') / greatest($1, 1))"
}

# report FIGURE PGQUEUER BASELINE [NOTE]: one line of the final table
# (ratio pgqueuer / baseline; "-" where a figure is missing)
: >"$dir/report"
report() {
	local ratio=-
	if [ -n "$2" ] && [ -n "$3" ] && [ "$3" != - ] && [ "$2" != - ]; then
		ratio=$(calc "$2 / ($3 + 0.000001)")
	fi
	printf '%-48s %12s %12s %8s  %s\n' "$1" "${2:--}" "${3:--}" "$ratio" "${4:-}" | tee -a "$dir/report"
}

echo "== pgqueuer benchmark: sections: $SECTIONS; batch $BATCH, $WORKERS workers, $PRODUCERS producer(s), durable"

# --- e2e: end to end --------------------------------------------------------------
pgq_e2e=""
# e2e_pgq LABEL: with workers started and listening, the producers for
# SECONDS_E2E; prints what was enqueued and completed, stops the workers and
# sets $e2e_rate (completed jobs/s) and $e2e_wal (WAL bytes per completed job)
e2e_pgq() {
	local done enq
	wal_mark
	bench -c "$PRODUCERS" -j "$PRODUCERS" -T "$SECONDS_E2E" -f "$dir/pgq_enqueue.pgbench" >"$dir/e2e.out"
	done=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'")
	e2e_wal=$(wal_per_job "$done")
	enq=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'queued'")
	echo "   $1: enqueued $enq, completed $done in ${SECONDS_E2E}s ($(tps "$dir/e2e.out") producer transactions/s)"
	stop_workers
	e2e_rate=$(calc "$done / $SECONDS_E2E")
}

section_e2e() {
	local done enq base_wal pgq_wal py_wal="" e2e_rate e2e_wal

	reset_all
	start_pgq_workers continuous
	wait_listening
	e2e_pgq pgqueuer
	pgq_e2e=$e2e_rate
	pgq_wal=$e2e_wal

	local py_e2e=""
	if [ "${BENCH_PYTHON:-1}" != 0 ]; then
		reset_all
		start_py_workers continuous
		e2e_pgq "pgqueuer, Python workers"
		py_e2e=$e2e_rate
		py_wal=$e2e_wal
	fi

	reset_all
	wal_mark
	bench -c "$WORKERS" -j "$WORKERS" -T "$SECONDS_E2E" -f "$dir/bare_work.pgbench" >/dev/null &
	local bare_workers=$!
	bench -c "$PRODUCERS" -j "$PRODUCERS" -T "$SECONDS_E2E" -f "$dir/bare_enqueue.pgbench" >"$dir/e2e.out"
	wait "$bare_workers"
	enq=$(sql -c "SELECT COALESCE((SELECT last_value FROM bare_queue_id_seq WHERE is_called), 0)")
	done=$(sql -c "SELECT $enq - (SELECT count(*) FROM bare_queue)")
	base_wal=$(wal_per_job "$done")
	echo "   baseline: enqueued $enq, completed $done in ${SECONDS_E2E}s ($(tps "$dir/e2e.out") producer transactions/s)"
	local bare_e2e
	bare_e2e=$(calc "$done / $SECONDS_E2E")

	report "end-to-end (jobs/s)" "$pgq_e2e" "$bare_e2e"
	[ -n "$py_e2e" ] && report "end-to-end Python (jobs/s)" "$py_e2e" "$bare_e2e"
	report "end-to-end WAL (bytes/completed job)" "$pgq_wal" "$base_wal" "lower is better"
	[ -n "$py_wal" ] && report "end-to-end Python WAL (bytes/job)" "$py_wal" "$base_wal" "lower is better"
	bare_e2e_rate=$bare_e2e
	return 0
}

# --- drain --------------------------------------------------------------------------
# fill_drain N: N queued pgqueuer jobs of "noop", vacuumed, then a checkpoint
fill_drain() {
	local n=$1 i chunk
	reset_all
	for ((i = 0; i < n; i += 10000)); do
		chunk=$((n - i < 10000 ? n - i : 10000))
		sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[$chunk]))" >/dev/null
	done
	local queued
	queued=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer")
	[ "$queued" = "$n" ] || echo "bench: $queued pgqueuer jobs queued for the drain, not $n" >&2
	sql -c 'VACUUM ANALYZE pgqueuer.pgqueuer' -c 'CHECKPOINT' >/dev/null
}

# drained WHO: once the workers exited, $elapsed = seconds since t0; checks the queue
drained() {
	local p
	for p in "${workers[@]}"; do wait "$p"; done
	workers=()
	elapsed=$(calc "$(now) - $t0")
	local left
	left=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer")
	[ "$left" = 0 ] || echo "bench: $left pgqueuer jobs left after the $1 drain" >&2
}

# drain results, for the graphile section: "WxB jobs/s" lines
drain_rates=()
section_drain() {
	local cfg w b pgq_rate bare_rate pgq_wal bare_wal py_rate
	local first=1
	for cfg in $DRAIN_CONFIGS; do
		w=${cfg%x*}
		b=${cfg#*x}
		fill_drain "$DRAIN_JOBS"
		wal_mark
		t0=$(now)
		start_pgq_workers drain "$w" "$b"
		drained C
		pgq_wal=$(wal_per_job "$DRAIN_JOBS")
		pgq_rate=$(calc "$DRAIN_JOBS / $elapsed")
		echo "   pgqueuer drain, $w workers, batch $b: $DRAIN_JOBS jobs in ${elapsed}s"

		py_rate=""
		if [ "${BENCH_PYTHON:-1}" != 0 ] && [ $first = 1 ]; then
			fill_drain "$DRAIN_JOBS"
			t0=$(now)
			start_py_workers drain "$w" "$b"
			drained Python
			py_rate=$(calc "$DRAIN_JOBS / $elapsed")
			echo "   pgqueuer drain, $w Python workers, batch $b: $DRAIN_JOBS jobs in ${elapsed}s"
		fi

		reset_all
		sql -c "INSERT INTO bare_queue (entrypoint) SELECT 'noop' FROM generate_series(1, $DRAIN_JOBS)" \
			-c 'VACUUM ANALYZE bare_queue' -c 'CHECKPOINT' >/dev/null
		# one more claim per client than needed: the last finds nothing
		local per_client=$(((DRAIN_JOBS + b * w - 1) / (b * w) + 1))
		wal_mark
		t0=$(now)
		"$bindir/pgbench" -n -D batch="$b" -c "$w" -j "$w" -t "$per_client" -f "$dir/bare_work.pgbench" "$dsn" >/dev/null
		elapsed=$(calc "$(now) - $t0")
		bare_wal=$(wal_per_job "$DRAIN_JOBS")
		local left
		left=$(sql -c "SELECT count(*) FROM bare_queue")
		[ "$left" = 0 ] || echo "bench: $left baseline jobs left after drain" >&2
		bare_rate=$(calc "$DRAIN_JOBS / $elapsed")
		echo "   baseline drain, $w clients, batch $b: $DRAIN_JOBS jobs in ${elapsed}s"

		report "drain $DRAIN_JOBS, ${w}w x b$b (jobs/s)" "$pgq_rate" "$bare_rate"
		[ -n "$py_rate" ] && report "drain Python, ${w}w x b$b (jobs/s)" "$py_rate" "$bare_rate"
		report "drain ${w}w x b$b WAL (bytes/job)" "$pgq_wal" "$bare_wal" "lower is better"
		drain_rates+=("$w $b $pgq_rate")
		pgq_drain_wal=$pgq_wal
		first=0
	done
}

# --- latency ------------------------------------------------------------------------
section_latency() {
	local pgq_p50 pgq_p99 bare_p50 bare_p99
	reset_all
	start_pgq_workers continuous
	wait_listening
	bench -c 1 -R "$RATE" -T "$SECONDS_LAT" -f "$dir/pgq_enqueue_one.pgbench" >/dev/null
	stop_workers
	read -r pgq_p50 pgq_p99 < <(sql -F ' ' -c "
		SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2),
		       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2)
		FROM (SELECT extract(epoch FROM p.created - q.created) * 1000 AS ms
		      FROM pgqueuer.pgqueuer_log q
		      JOIN pgqueuer.pgqueuer_log p ON p.job_id = q.job_id AND p.status = 'picked'
		      WHERE q.status = 'queued') s")

	reset_all
	bench -c "$WORKERS" -j "$WORKERS" -T "$((SECONDS_LAT + 1))" -f "$dir/bare_work_latency.pgbench" >/dev/null &
	local bare_workers=$!
	bench -c 1 -R "$RATE" -T "$SECONDS_LAT" -f "$dir/bare_enqueue_one.pgbench" >/dev/null
	wait "$bare_workers"
	read -r bare_p50 bare_p99 < <(sql -F ' ' -c "
		SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2),
		       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2)
		FROM (SELECT extract(epoch FROM started - created) * 1000 AS ms FROM bare_done) s")
	report "latency p50 (ms)" "$pgq_p50" "$bare_p50" "lower is better"
	report "latency p99 (ms)" "$pgq_p99" "$bare_p99" "lower is better"
}

# --- cycle --------------------------------------------------------------------------
# HOOK: the "cycle" section (issue 18, item 1) is test/bench/cycle.sh with
# its test/bench/cycle_*.pgbench scripts (copied into $dir with the other
# .pgbench files).  It is sourced, so it runs on this server and may use the
# functions and variables listed in the header (reset_all, bench, wal_mark,
# wal_per_job, report, ...).
section_cycle() {
	if [ -f "$top/test/bench/cycle.sh" ]; then
		# shellcheck source=/dev/null
		. "$top/test/bench/cycle.sh"
	else
		echo "   cycle: test/bench/cycle.sh does not exist (yet): skipped"
	fi
}

# --- graphile -----------------------------------------------------------------------
# graphile-worker is installed by npm into $GRAPHILE_DIR, outside the
# repository; the section is skipped when that fails
graphile_install() {
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		echo "   graphile: node or npm is not installed: skipped"
		return 1
	fi
	if [ ! -f "$GRAPHILE_DIR/node_modules/graphile-worker/package.json" ] ||
		[ "$(node -p "require('$GRAPHILE_DIR/node_modules/graphile-worker/package.json').version")" != 0.18.0 ]; then
		mkdir -p "$GRAPHILE_DIR"
		if ! (cd "$GRAPHILE_DIR" && npm install --no-audit --no-fund --loglevel=error graphile-worker@0.18.0) \
			>"$dir/npm.log" 2>&1; then
			echo "   graphile: npm could not install graphile-worker@0.18.0 into $GRAPHILE_DIR: skipped"
			sed 's/^/      /' "$dir/npm.log" | tail -5
			return 1
		fi
	fi
	return 0
}

# g ARGS: the driver; gsql ARGS: psql on graphile's database
g() {
	NODE_PATH="$GRAPHILE_DIR/node_modules" GRAPHILE_BENCH_URL="postgres://postgres@/graphile?host=$dir&port=$port" \
		node "$dir/graphile_drain.js" "$@"
}
gsql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "host=$dir port=$port user=postgres dbname=graphile" "$@"; }

section_graphile() {
	graphile_install || return 0
	local i gpids=() startup dur rate gwal

	sql -c 'CREATE DATABASE graphile' >/dev/null
	if ! g migrate >"$dir/graphile.log" 2>&1; then
		echo "   graphile: graphile-worker's migration failed: skipped"
		sed 's/^/      /' "$dir/graphile.log" | tail -5
		return 0
	fi
	# the startup time, subtracted as perfTest does: one process on an empty queue
	t0=$(now)
	g once "$GRAPHILE_CONCURRENCY" >>"$dir/graphile.log" 2>&1
	startup=$(calc "$(now) - $t0")
	# perfTest's init.js: every job in one add_jobs() call
	gsql -c "SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
	             SELECT json_populate_record(NULL::graphile_worker.job_spec,
	                      json_build_object('identifier', 'noop', 'payload', json_build_object('id', i)))
	             FROM generate_series(1, $GRAPHILE_JOBS) i))" \
		-c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
	wal_mark graphile
	t0=$(now)
	for ((i = 0; i < GRAPHILE_PROCESSES; i++)); do
		g once "$GRAPHILE_CONCURRENCY" >>"$dir/graphile.log" 2>&1 &
		gpids+=($!)
	done
	local failed=0
	for i in "${gpids[@]}"; do wait "$i" || failed=1; done
	dur=$(calc "$(now) - $t0")
	gwal=$(wal_per_job "$GRAPHILE_JOBS" graphile)
	local left
	left=$(gsql -c "SELECT count(*) FROM graphile_worker.jobs")
	if [ $failed = 1 ] || [ "$left" != 0 ]; then
		echo "   graphile: a worker process failed or $left jobs are left:"
		sed 's/^/      /' "$dir/graphile.log" | tail -10
	fi
	rate=$(calc "$GRAPHILE_JOBS / ($dur - $startup)")
	echo "   graphile-worker 0.18.0: $GRAPHILE_JOBS jobs, $GRAPHILE_PROCESSES processes x $GRAPHILE_CONCURRENCY: ${dur}s, startup ${startup}s subtracted: $rate jobs/s"
	local d w b r
	if [ ${#drain_rates[@]} = 0 ]; then
		report "graphile-worker drain (jobs/s)" - "$rate" "run the drain section for the ratio"
	fi
	for d in "${drain_rates[@]}"; do
		read -r w b r <<<"$d"
		report "drain ${w}w x b$b / graphile (jobs/s)" "$r" "$rate" "baseline: graphile-worker"
	done
	report "drain WAL / graphile (bytes/job)" "${pgq_drain_wal:--}" "$gwal" "lower is better"
	sql -c 'DROP DATABASE graphile' >/dev/null
}

# --- flat ---------------------------------------------------------------------------
# flat_tx TX ENTRYPOINTS_LITERAL [JOBS_LITERAL]: enqueue TX * BATCH due
# jobs round robin over the entrypoints of JOBS_LITERAL (a text[] literal,
# default {noop}), run TX flat_cycle.pgbench transactions (one client)
# asking for ENTRYPOINTS_LITERAL; prints pgbench's tps
flat_tx() {
	local jobs=${3:-}
	[ -n "$jobs" ] || jobs='{noop}'
	sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(
	            SELECT s.e[1 + g % cardinality(s.e)]
	            FROM (SELECT '$jobs'::text[] AS e) s, generate_series(0, $(($1 * BATCH)) - 1) g
	            ORDER BY g))" \
		-c 'ANALYZE pgqueuer.pgqueuer' >/dev/null
	bench -M prepared -c 1 -t "$1" -D eps="$2" -f "$dir/flat_cycle.pgbench" >"$dir/flat.out"
	tps "$dir/flat.out"
}

# flat_run LABEL ENTRYPOINTS_LITERAL [JOBS_LITERAL]: the fastest of
# FLAT_REPEAT runs of flat_cycle.pgbench (flat_tx), in microseconds per job,
# from a vacuumed queue (what the runs before left, as autovacuum would).
# A probe of 20 transactions sizes the runs: about FLAT_SECONDS each, at
# most FLAT_TX transactions.
flat_run() {
	local r best="" us t tx
	sql -c 'VACUUM ANALYZE pgqueuer.pgqueuer' >/dev/null
	t=$(flat_tx 20 "$2" "${3:-}")
	tx=$(awk "BEGIN { n = int($t * $FLAT_SECONDS); print (n < 20 ? 20 : (n > $FLAT_TX ? $FLAT_TX : n)) }")
	for ((r = 0; r < FLAT_REPEAT; r++)); do
		t=$(flat_tx "$tx" "$2" "${3:-}")
		us=$(calc "1000000 / ($t * $BATCH)")
		if [ -z "$best" ] || awk "BEGIN { exit !($us < $best) }"; then
			best=$us
		fi
	done
	echo "   flat, $1: $best us per job (best of $FLAT_REPEAT runs of $tx x $BATCH jobs)" >&2
	echo "$best"
}

# flat_eps N: text[] literal of "noop" and N - 1 other entrypoints
# (ep_FIRST ... ep_LAST of flat_asked_range), the first half of them among
# the limited ones
flat_eps() {
	local first last
	read -r first last < <(flat_asked_range "$1")
	sql -c "SELECT '{noop' || string_agg(',ep_' || lpad(i::text, 4, '0'), '' ORDER BY i) || '}'
	        FROM generate_series($first, $last) i"
}

# flat_asked_range N: "FIRST LAST", the numbers of the N - 1 entrypoints
# that flat_eps N asks for besides noop
flat_asked_range() {
	local first=$((FLAT_LIMITED / 2 + 1))
	echo "$first $((first + $1 - 2))"
}

# flat_register FIRST LAST: register ep_FIRST ... ep_LAST (four digits),
# those numbered up to FLAT_LIMITED with concurrency_limit => 5
flat_register() {
	sql -c "SELECT count(pgqueuer.register_entrypoint('ep_' || lpad(i::text, 4, '0'),
	                  concurrency_limit => CASE WHEN i <= $FLAT_LIMITED THEN 5 ELSE 0 END))
	        FROM generate_series($1, $2) i" >/dev/null
}

section_flat() {
	local eps1='{noop}' epsn e1 en en0 l1 ln n i chunk
	epsn=$(flat_eps "$FLAT_ASKED")

	reset_all
	sql -c "SELECT pgqueuer.register_entrypoint('noop', on_failure => 'hold', max_attempts => 0)" >/dev/null
	e1=$(flat_run "empty queue, 1 entrypoint asked" "$eps1")
	# asking for 100 entrypoints while only noop has jobs and no limits are
	# registered: the earlier baseline, kept beside the one below
	en0=$(flat_run "empty queue, $FLAT_ASKED entrypoints asked, jobs of noop only" "$epsn")
	# the same claims as the loaded run will make: the asked entrypoints
	# registered with their limits, the jobs round robin over them
	flat_register $(flat_asked_range "$FLAT_ASKED")
	en=$(flat_run "empty queue, $FLAT_ASKED entrypoints asked, jobs round robin over them" "$epsn" "$epsn")

	echo "   flat: loading $FLAT_ENTRYPOINTS entrypoints ($FLAT_LIMITED limited), $FLAT_FAILED held, $FLAT_DEFERRED deferred, $FLAT_QUEUED queued jobs"
	t0=$(now)
	# the registry: noop and ep_0001 ... ep_0999; the first FLAT_LIMITED limited
	flat_register 1 $((FLAT_ENTRYPOINTS - 1))
	# held (failed) jobs of noop: claimed and completed as exceptions with
	# no attempts left, under on_failure => 'hold'
	for ((i = 0; i < FLAT_FAILED; i += 10000)); do
		chunk=$((FLAT_FAILED - i < 10000 ? FLAT_FAILED - i : 10000))
		sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[$chunk]))" \
			-c "SELECT count(*) FROM pgqueuer.complete(
			        ARRAY(SELECT id FROM pgqueuer.dequeue($chunk, '{noop}', '00000000-0000-0000-0000-0000000000f0')),
			        array_fill('exception'::pgqueuer.pgqueuer_status, ARRAY[$chunk]))" >/dev/null
	done
	# deferred jobs of noop, due in a day: the entrypoint the runs claim
	for ((i = 0; i < FLAT_DEFERRED; i += 50000)); do
		chunk=$((FLAT_DEFERRED - i < 50000 ? FLAT_DEFERRED - i : 50000))
		sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[$chunk]),
		            execute_after => array_fill('1 day'::interval, ARRAY[$chunk]))" >/dev/null
	done
	# due jobs of the other entrypoints, round robin
	for ((i = 0; i < FLAT_QUEUED; i += 50000)); do
		chunk=$((FLAT_QUEUED - i < 50000 ? FLAT_QUEUED - i : 50000))
		sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(
		            SELECT 'ep_' || lpad((1 + (g % ($FLAT_ENTRYPOINTS - 1)))::text, 4, '0')
		            FROM generate_series($i, $i + $chunk - 1) g))" >/dev/null
	done
	sql -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
	echo "   flat: loaded in $(calc "$(now) - $t0")s: $(sql -F ', ' -c "SELECT count(*) FILTER (WHERE status = 'queued' AND execute_after <= now()) || ' due',
	        count(*) FILTER (WHERE execute_after > now()) || ' deferred',
	        count(*) FILTER (WHERE status = 'failed') || ' held',
	        (SELECT count(*) FROM pgqueuer.pgqueuer_entrypoints) || ' registered',
	        (SELECT count(*) FROM pgqueuer.pgqueuer_log) || ' log rows'
	        FROM pgqueuer.pgqueuer")"

	l1=$(flat_run "loaded, 1 entrypoint asked" "$eps1")
	ln=$(flat_run "loaded, $FLAT_ASKED entrypoints asked" "$epsn" "$epsn")
	report "flat: 1 entrypoint, loaded/empty (us/job)" "$l1" "$e1" "target <= 1.5"
	report "flat: $FLAT_ASKED entrypoints, loaded/empty (us/job)" "$ln" "$en" "target <= 1.5"
	report "flat: $FLAT_ASKED entrypoints, loaded/empty, noop's jobs only (us/job)" "$ln" "$en0" \
		"baseline: the asked entrypoints unregistered and without jobs"
	report "flat: $FLAT_ASKED entrypoints / 1, empty (us/job)" "$en" "$e1" "baseline: 1 entrypoint"
}

# --- wal ----------------------------------------------------------------------------
# table_writes SCHEMA TABLES...: "inserted updated hot deleted" rows so far
# of the tables together (flushed statistics: callers start and end with
# the writing backends gone)
table_writes() {
	local schema=$1
	shift
	local list
	list=$(printf "'%s'," "$@")
	sql -F ' ' -c "
		SELECT coalesce(sum(n_tup_ins), 0), coalesce(sum(n_tup_upd), 0),
		       coalesce(sum(n_tup_hot_upd), 0), coalesce(sum(n_tup_del), 0)
		FROM pg_stat_user_tables WHERE schemaname = '$schema' AND relname IN (${list%,})" | tail -1
}

# wal_step LABEL N SCHEMA TABLES -- COMMAND...: run COMMAND, print WAL bytes
# per job and rows written per job (ins/upd(hot)/del); sets $step_wal
wal_step() {
	local label=$1 n=$2 schema=$3
	shift 3
	local tables=()
	while [ "$1" != -- ]; do
		tables+=("$1")
		shift
	done
	shift
	local a b
	a=$(table_writes "$schema" "${tables[@]}")
	wal_mark step
	"$@" >/dev/null
	step_wal=$(wal_per_job "$n" step)
	# a backend's statistics reach the shared counters before it leaves
	# pg_stat_activity: wait until pgbench's have left
	local deadline=$((SECONDS + 30))
	until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'bench' AND backend_type = 'client backend' AND pid <> pg_backend_pid()")" = 0 ]; do
		[ $SECONDS -lt $deadline ] || break
		sleep 0.05
	done
	b=$(table_writes "$schema" "${tables[@]}")
	local per
	per=$(awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {
		split(a, x, " "); split(b, y, " ");
		printf "%.2f ins, %.2f upd (%.2f HOT), %.2f del", (y[1]-x[1])/n, (y[2]-x[2])/n, (y[3]-x[3])/n, (y[4]-x[4])/n }')
	echo "   wal, $label: $step_wal bytes/job; rows/job: $per"
}

# fold_all: maintenance passes until the statistics fold has nothing left
# (a pass folds at most pgqueuer.statistics_chunk rows per statement)
fold_all() {
	local i
	for ((i = 0; i < 1000; i++)); do
		[ "$(sql -c "SELECT sum(rows) FROM pgqueuer.run_maintenance() WHERE duty = 'statistics'")" = 0 ] && return 0
	done
}

# wal_enqueue_pgq TX: TX batches enqueued, then their log rows folded
wal_enqueue_pgq() {
	bench -M prepared -c 1 -t "$1" -f "$dir/pgq_enqueue.pgbench"
	fold_all
}

# wal_claim_pgq TX: TX dequeue+complete cycles, then their log rows folded
wal_claim_pgq() {
	bench -M prepared -c 1 -t "$1" -D eps='{noop}' -f "$dir/flat_cycle.pgbench"
	fold_all
}

# bgworker_enabled on|off: switch pgqueuer's background worker of the
# server (off: the statistics fold counts every row of a finished
# transaction at once); off returns once the database's worker has gone
bgworker_enabled() {
	if [ "$1" = off ]; then
		sql -c 'ALTER SYSTEM SET pgqueuer.statistics_fold_margin = 0' >/dev/null
	else
		sql -c 'ALTER SYSTEM RESET pgqueuer.statistics_fold_margin' >/dev/null
	fi
	sql -c "ALTER SYSTEM SET pgqueuer.enabled = $1" -c 'SELECT pg_reload_conf()' >/dev/null
	[ "$1" = off ] || return 0
	local deadline=$((SECONDS + 30))
	until [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pgqueuer worker%'")" = 0 ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "bench: pgqueuer's background worker did not stop" >&2
			return 0
		fi
		sleep 0.1
	done
}

section_wal() {
	local n=$WAL_JOBS tx=$((WAL_JOBS / BATCH))
	local pe pd be bd m
	local -A wal_e wal_d
	n=$((tx * BATCH))
	local pgq_tables=(pgqueuer pgqueuer_log pgqueuer_statistics pgqueuer_entrypoints)

	reset_all
	wal_step "baseline enqueue (batches of $BATCH)" "$n" public bare_queue -- \
		bench -M prepared -c 1 -t "$tx" -f "$dir/bare_enqueue.pgbench"
	be=$step_wal
	sql -c 'CHECKPOINT' >/dev/null
	wal_step "baseline claim + delete ($BATCH at a time)" "$n" public bare_queue -- \
		bench -M prepared -c 1 -t "$tx" -f "$dir/bare_work.pgbench"
	bd=$step_wal
	[ "$(sql -c 'SELECT count(*) FROM bare_queue')" = 0 ] || echo "bench: baseline jobs left after the wal section" >&2

	# the folds run here, in backends that exit (and so report their rows
	# written), not in the background worker
	bgworker_enabled off
	for m in $WAL_HISTORY; do
		reset_all
		if ! sql -c "ALTER DATABASE bench SET pgqueuer.history = '$m'" >/dev/null 2>&1; then
			echo "   wal: pgqueuer.history = '$m' is not accepted by this build: skipped"
			continue
		fi
		wal_step "pgqueuer history=$m: enqueue (batches of $BATCH), then the statistics fold" "$n" pgqueuer \
			"${pgq_tables[@]}" -- wal_enqueue_pgq "$tx"
		wal_e[$m]=$step_wal
		sql -c 'CHECKPOINT' >/dev/null
		wal_step "pgqueuer history=$m: dequeue + complete ($BATCH at a time), then the statistics fold" "$n" \
			pgqueuer "${pgq_tables[@]}" -- wal_claim_pgq "$tx"
		wal_d[$m]=$step_wal
		[ "$(sql -c 'SELECT count(*) FROM pgqueuer.pgqueuer')" = 0 ] || echo "bench: pgqueuer jobs left after the wal section" >&2
	done
	sql -c "ALTER DATABASE bench RESET pgqueuer.history" >/dev/null
	bgworker_enabled on

	for m in $WAL_HISTORY; do
		[ -n "${wal_e[$m]:-}" ] || continue
		pe=${wal_e[$m]}
		pd=${wal_d[$m]}
		report "WAL enqueue, history=$m (bytes/job)" "$pe" "$be" "lower is better"
		report "WAL dequeue+complete, history=$m" "$pd" "$bd" "lower is better"
		report "WAL whole life, history=$m" "$((pe + pd))" "$((be + bd))" "lower is better"
	done
}

# --- retention: removing a day of history ------------------------------------------
# retention_fill ROWS DAYS [SHARED]: ROWS log rows written DAYS days ago, and
# with SHARED one row of DAYS - 16 days ago, in the same day slot, so that
# the slot cannot be emptied; vacuumed, analyzed and checkpointed
retention_fill() {
	reset_all
	sql -c "INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
		SELECT now() - interval '$2 days', g, 'successful', 0, 'noop', NULL FROM generate_series(1, $1) g" >/dev/null
	[ -z "${3:-}" ] || sql -c "INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint)
		VALUES (now() - interval '$(($2 - 16)) days', 0, 'successful', 0, 'noop')" >/dev/null
	sql -c 'VACUUM ANALYZE pgqueuer.pgqueuer_log' -c 'CHECKPOINT' >/dev/null
}

# retention_run ROWS: one retention pass and the VACUUM of what it left dead;
# sets $ret_ms (milliseconds) and $ret_wal (WAL bytes per row), and checks
# that the ROWS rows are gone
retention_run() {
	local t0 t1
	wal_mark r
	t0=$(now)
	sql -c "SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention'" \
		-c 'VACUUM pgqueuer.pgqueuer_log' >/dev/null
	t1=$(now)
	ret_wal=$(wal_per_job "$1" r)
	ret_ms=$(calc "($t1 - $t0) * 1000")
	[ "$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE created < now() - interval '7 days'")" = 0 ] ||
		echo "bench: retention left old log rows" >&2
}

section_retention() {
	local n=$RETENTION_ROWS ret_ms ret_wal slot_ms slot_wal
	bgworker_enabled off
	# a day alone in its slot: emptied with TRUNCATE
	retention_fill "$n" 10
	retention_run "$n"
	slot_ms=$ret_ms
	slot_wal=$ret_wal
	echo "   $n log rows of a day alone in its slot: ${slot_ms} ms, $slot_wal WAL bytes per row"
	# the same day sharing its slot with a newer row: deleted row by row
	retention_fill "$n" 20 shared
	retention_run "$n"
	echo "   $n log rows deleted row by row (and vacuumed): ${ret_ms} ms, $ret_wal WAL bytes per row"
	bgworker_enabled on
	report "retention of $n log rows (ms)" "$slot_ms" "$ret_ms" "lower is better; baseline: DELETE + VACUUM"
	report "retention WAL (bytes/row)" "$slot_wal" "$ret_wal" "lower is better; baseline: DELETE + VACUUM"
}

# --- run the sections ---------------------------------------------------------------
for s in $SECTIONS; do
	echo "-- $s"
	"section_$s"
done

echo
printf '%-48s %12s %12s %8s\n' figure pgqueuer baseline ratio
cat "$dir/report"
echo "(ratio = pgqueuer / baseline; where lower is better, above 1 means pgqueuer is worse)"
if [ -n "$pgq_e2e" ]; then
	echo "ratio end-to-end: $(calc "$pgq_e2e / $bare_e2e_rate")"
fi
