#!/usr/bin/env bash
#
# run_bench.sh -- what `make bench` runs: pgqueuer against a bare
# FOR UPDATE SKIP LOCKED queue, side by side on one throwaway server.
#
# Starts a private PostgreSQL (unix socket in a temporary directory, no
# TCP; durable settings: fsync, synchronous_commit and full_page_writes on,
# pgqueuer's tables logged) with pgqueuer preloaded, and measures for both
# queues, in the same run:
#
#   end-to-end  jobs/s while BENCH_PRODUCERS pgbench clients enqueue batches
#               of BENCH_BATCH and BENCH_WORKERS workers dequeue and
#               complete them with a no-op handler, for BENCH_SECONDS;
#   drain       seconds to process BENCH_DRAIN_JOBS queued jobs;
#   latency     enqueue-to-start p50/p99 (ms) at BENCH_RATE jobs/s, one job
#               per transaction, idle workers waiting.
#
# pgqueuer's workers are `pgq run` processes with the example factory's
# no-op entrypoint (LISTEN, batched dequeue and complete, PgQueuer's log);
# end to end and drain are also measured with BENCH_WORKERS Python workers
# (`python3 -m pgqueuer_client run py_noop:main`, Debian's python3-psycopg,
# a no-op async handler, same batch size) -- skipped with BENCH_PYTHON=0;
# the baseline's workers are pgbench clients running bare_work.pgbench
# (claim by UPDATE ... RETURNING, then DELETE), polling without pause.
# Prints one line per figure with the ratio pgqueuer / baseline, and last
# "ratio end-to-end: X.XX".  Not part of `make test`: figures depend on the
# machine; compare ratios, which are measured side by side.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BATCH=${BENCH_BATCH:-10}
WORKERS=${BENCH_WORKERS:-2}
PRODUCERS=${BENCH_PRODUCERS:-1}
SECONDS_E2E=${BENCH_SECONDS:-20}
DRAIN_JOBS=${BENCH_DRAIN_JOBS:-100000}
RATE=${BENCH_RATE:-50}
SECONDS_LAT=${BENCH_LATENCY_SECONDS:-10}

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
bindir=$($PG_CONFIG --bindir)

make -s PG_CONFIG="$PG_CONFIG"
if [ "$(id -u)" = 0 ]; then
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
	run_as() { runuser -u postgres -- "$@"; }
else
	run_as() { "$@"; }
fi

dir=$(mktemp -d /tmp/pgqueuer-bench.XXXXXX)
cp build/pgq build/examples/libmyjobs.so test/bench/*.pgbench test/bench/*.sql test/bench/py_noop.py "$dir/"
[ "$(id -u)" = 0 ] && chown -R postgres "$dir"
port=$((20000 + RANDOM % 20000))
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
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		run_as "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || kill "$pid"
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "bench: interrupted"; exit 130' INT TERM

run_as "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
shared_preload_libraries = 'pgqueuer'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 256MB
max_connections = 50
EOF
run_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
pid=$(head -n 1 "$dir/data/postmaster.pid")

dsn="host=$dir port=$port user=postgres dbname=bench"
# clients connect as user postgres through the socket; they need not run as it
sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" "$@"; }
bench() { "$bindir/pgbench" -n -D batch="$BATCH" "$@" "$dsn"; }

"$bindir/createdb" -h "$dir" -p "$port" -U postgres bench
sql -c 'CREATE EXTENSION pgqueuer' -f "$dir/bare_queue.sql" >/dev/null

reset_all() {
	sql -c 'TRUNCATE bare_queue, bare_done, pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_statistics' \
		-c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null
}

# start_pgq_workers MODE: WORKERS `pgq run` processes in the background
start_pgq_workers() {
	local i
	for ((i = 0; i < WORKERS; i++)); do
		# not through runuser, which would not pass SIGTERM on to pgq
		"$dir/pgq" --pg-dsn "$dsn" run "$dir/libmyjobs.so:setup" \
			--batch-size "$BATCH" --mode "$1" --log-level WARNING &
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

# start_py_workers MODE: WORKERS Python workers in the background; in
# continuous mode, return once they all LISTEN
start_py_workers() {
	local i
	for ((i = 0; i < WORKERS; i++)); do
		(cd "$dir" && PYTHONPATH="$top/client/python:$dir" exec /usr/bin/python3 -m pgqueuer_client \
			--pg-dsn "$dsn" run py_noop:main --batch-size "$BATCH" --mode "$1" --log-level WARNING) &
		workers+=($!)
	done
	[ "$1" = continuous ] || return 0
	local deadline=$((SECONDS + 30))
	until [ "$(sql -c "SELECT count(*) >= $WORKERS FROM pg_stat_activity WHERE application_name = 'pgqueuer_client listener'")" = t ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "bench: Python workers did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
}

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }

echo "== pgqueuer benchmark: batch $BATCH, $WORKERS workers, $PRODUCERS producer(s), durable"

# --- end-to-end ---------------------------------------------------------------
reset_all
start_pgq_workers continuous
wait_listening
bench -c "$PRODUCERS" -j "$PRODUCERS" -T "$SECONDS_E2E" -f "$dir/pgq_enqueue.pgbench" >"$dir/e2e.out"
pgq_done=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'")
pgq_enq=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'queued'")
echo "   pgqueuer: enqueued $pgq_enq, completed $pgq_done in ${SECONDS_E2E}s ($(grep -o 'tps = [0-9.]*' "$dir/e2e.out" | head -1) producer transactions)"
stop_workers
pgq_e2e=$(calc "$pgq_done / $SECONDS_E2E")

py_e2e=""
if [ "${BENCH_PYTHON:-1}" != 0 ]; then
	reset_all
	start_py_workers continuous
	bench -c "$PRODUCERS" -j "$PRODUCERS" -T "$SECONDS_E2E" -f "$dir/pgq_enqueue.pgbench" >"$dir/e2e.out"
	py_done=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'")
	py_enq=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'queued'")
	echo "   pgqueuer, Python workers: enqueued $py_enq, completed $py_done in ${SECONDS_E2E}s ($(grep -o 'tps = [0-9.]*' "$dir/e2e.out" | head -1) producer transactions)"
	stop_workers
	py_e2e=$(calc "$py_done / $SECONDS_E2E")
fi

reset_all
bench -c "$WORKERS" -j "$WORKERS" -T "$SECONDS_E2E" -f "$dir/bare_work.pgbench" >/dev/null &
bare_workers=$!
bench -c "$PRODUCERS" -j "$PRODUCERS" -T "$SECONDS_E2E" -f "$dir/bare_enqueue.pgbench" >"$dir/e2e.out"
wait "$bare_workers"
bare_enq=$(sql -c "SELECT COALESCE((SELECT last_value FROM bare_queue_id_seq WHERE is_called), 0)")
bare_done=$(sql -c "SELECT $bare_enq - (SELECT count(*) FROM bare_queue)")
echo "   baseline: enqueued $bare_enq, completed $bare_done in ${SECONDS_E2E}s ($(grep -o 'tps = [0-9.]*' "$dir/e2e.out" | head -1) producer transactions)"
bare_e2e=$(calc "$bare_done / $SECONDS_E2E")

# --- drain -----------------------------------------------------------------------
# fill_drain: DRAIN_JOBS queued pgqueuer jobs
fill_drain() {
	reset_all
	for ((i = 0; i < DRAIN_JOBS / 10000; i++)); do
		sql -c "SELECT count(*) FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[10000]))" >/dev/null
	done
	queued=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer")
	[ "$queued" = "$DRAIN_JOBS" ] || echo "bench: $queued pgqueuer jobs queued for the drain, not $DRAIN_JOBS" >&2
	sql -c 'VACUUM ANALYZE pgqueuer.pgqueuer' >/dev/null
}

# drained WHO: once the workers exited, $elapsed = seconds since t0; checks the queue
drained() {
	for p in "${workers[@]}"; do wait "$p"; done
	workers=()
	elapsed=$(calc "$(now) - $t0")
	left=$(sql -c "SELECT count(*) FROM pgqueuer.pgqueuer")
	[ "$left" = 0 ] || echo "bench: $left pgqueuer jobs left after the $1 drain" >&2
}

fill_drain
t0=$(now)
start_pgq_workers drain
drained C
pgq_drain=$elapsed

py_drain=""
if [ "${BENCH_PYTHON:-1}" != 0 ]; then
	fill_drain
	t0=$(now)
	start_py_workers drain
	drained Python
	py_drain=$elapsed
fi

reset_all
sql -c "INSERT INTO bare_queue (entrypoint) SELECT 'noop' FROM generate_series(1, $DRAIN_JOBS)" \
	-c 'VACUUM ANALYZE bare_queue' >/dev/null
per_client=$(((DRAIN_JOBS + BATCH * WORKERS - 1) / (BATCH * WORKERS) + 1))
t0=$(now)
bench -c "$WORKERS" -j "$WORKERS" -t "$per_client" -f "$dir/bare_work.pgbench" >/dev/null
bare_drain=$(calc "$(now) - $t0")
left=$(sql -c "SELECT count(*) FROM bare_queue")
[ "$left" = 0 ] || echo "bench: $left baseline jobs left after drain" >&2

# --- latency ---------------------------------------------------------------------
reset_all
start_pgq_workers continuous
wait_listening
bench -c 1 -R "$RATE" -T "$SECONDS_LAT" -f "$dir/pgq_enqueue_one.pgbench" >/dev/null
sql -c "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'" >/dev/null
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
bare_workers=$!
bench -c 1 -R "$RATE" -T "$SECONDS_LAT" -f "$dir/bare_enqueue_one.pgbench" >/dev/null
wait "$bare_workers"
read -r bare_p50 bare_p99 < <(sql -F ' ' -c "
	SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2),
	       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2)
	FROM (SELECT extract(epoch FROM started - created) * 1000 AS ms FROM bare_done) s")

# --- report ----------------------------------------------------------------------
printf '%-28s %12s %12s %8s\n' figure pgqueuer baseline ratio
printf '%-28s %12s %12s %8s\n' "end-to-end (jobs/s)" "$pgq_e2e" "$bare_e2e" "$(calc "$pgq_e2e / $bare_e2e")"
[ -n "$py_e2e" ] && printf '%-28s %12s %12s %8s\n' "end-to-end Python (jobs/s)" "$py_e2e" "$bare_e2e" "$(calc "$py_e2e / $bare_e2e")"
printf '%-28s %12s %12s %8s\n' "drain $DRAIN_JOBS jobs (s)" "$pgq_drain" "$bare_drain" "$(calc "$pgq_drain / $bare_drain")"
[ -n "$py_drain" ] && printf '%-28s %12s %12s %8s\n' "drain Python (s)" "$py_drain" "$bare_drain" "$(calc "$py_drain / $bare_drain")"
printf '%-28s %12s %12s %8s\n' "latency p50 (ms)" "$pgq_p50" "$bare_p50" "$(calc "$pgq_p50 / ($bare_p50 + 0.000001)")"
printf '%-28s %12s %12s %8s\n' "latency p99 (ms)" "$pgq_p99" "$bare_p99" "$(calc "$pgq_p99 / ($bare_p99 + 0.000001)")"
echo "(drain and latency: lower is better, so a ratio above 1 means pgqueuer is slower)"
[ -n "$py_e2e" ] && echo "Python workers / C workers: end-to-end $(calc "$py_e2e / $pgq_e2e"), drain speed $(calc "$pgq_drain / $py_drain")"
echo "ratio end-to-end: $(calc "$pgq_e2e / $bare_e2e")"
