#!/usr/bin/env bash
#
# demo.sh -- what `make demo` runs: the main job on a private, throwaway
# PostgreSQL.
#
# 1. Installs what is missing (PostgreSQL 15 server, headers and libpq via
#    apt when run as root; otherwise prints the apt-get line and stops),
#    builds and installs the extension, libpgqueuer and pgq.
# 2. Starts a private server: data directory .demo/data under the checkout
#    (or a temporary directory when the postgres user cannot write there),
#    its own port, unix socket only, shared_preload_libraries = 'pgqueuer'
#    (the background worker fires the cron schedule and announces deferred
#    jobs).  A server left behind by an interrupted run is stopped first.
# 3. Producers enqueue a realistic mix; two `pgq run` workers (the example
#    factory build/examples/libmyjobs.so) process it, the first one showing
#    its progress; `pgq dashboard` shows the result; a summary per status
#    and entrypoint, elapsed time and jobs/s close the run.
# 4. Stops the workers and the server.  Ctrl-C at any point does the same
#    and leaves nothing running.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

packages="postgresql-15 postgresql-server-dev-15 libpq-dev build-essential libmicrohttpd-dev python3"
if [ ! -x "$PG_CONFIG" ] || [ ! -d "$($PG_CONFIG --includedir-server 2>/dev/null)" ] \
	|| [ ! -f /usr/include/microhttpd.h ] || [ ! -x /usr/bin/python3 ] \
	|| [ ! -x "$(dirname "$PG_CONFIG")/postgres" ] \
	|| [ ! -f "$($PG_CONFIG --includedir 2>/dev/null)/libpq-fe.h" ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages
	else
		echo "demo: PostgreSQL 15 server, headers or libpq are missing; install them with:" >&2
		echo "  sudo apt-get install -y $packages" >&2
		exit 1
	fi
fi

echo "== building and installing the extension, libpgqueuer and pgq"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
if [ "$(id -u)" = 0 ]; then
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
	user=postgres
	run_as() { runuser -u "$user" -- "$@"; }
else
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || {
		echo "demo: cannot install into $($PG_CONFIG --pkglibdir); run as root" >&2
		exit 1
	}
	user=$(id -un)
	run_as() { "$@"; }
fi
bindir=$($PG_CONFIG --bindir)

# --- the private server ---------------------------------------------------------

# The data directory lives under the checkout when the server's user can
# write there; a root-owned checkout in /root is not reachable by postgres.
base=$top/.demo
mkdir -p "$base"
[ "$(id -u)" = 0 ] && chown "$user" "$base"
if ! run_as test -w "$base" 2>/dev/null || [ ${#base} -gt 80 ]; then
	rmdir "$base" 2>/dev/null || true
	base=$(mktemp -d /tmp/pgqueuer-demo.XXXXXX)
	[ "$(id -u)" = 0 ] && chown "$user" "$base"
	echo "== $top/.demo is not usable by user $user; using $base"
fi
data=$base/data

# a server left by an interrupted earlier run
if [ -f "$data/postmaster.pid" ]; then
	run_as "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
fi
rm -rf "$data"

port=$((20000 + RANDOM % 20000))
pid=""
web_pid=""
workers=()

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${workers[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${workers[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$web_pid" ]; then
		kill -TERM "$web_pid" 2>/dev/null || true
		wait "$web_pid" 2>/dev/null || true
	fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		run_as "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$data"
	[ "$base" = "$top/.demo" ] || rm -rf "$base"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping the workers and the server"; exit 130' INT TERM

echo "== starting a private PostgreSQL: $data, port $port, unix socket only"
run_as "$bindir/initdb" -D "$data" -A trust -U postgres >/dev/null
cat >>"$data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$base'
port = $port
shared_preload_libraries = 'pgqueuer'
pgqueuer.naptime = '200ms'
EOF
run_as "$bindir/pg_ctl" -D "$data" -l "$base/server.log" -w start >/dev/null
pid=$(head -n 1 "$data/postmaster.pid")

dsn="host=$base port=$port user=postgres dbname=postgres"
# Clients connect as user postgres through the socket and run as the
# invoking user: a worker started through runuser would not get our SIGTERM.
pgq=$top/build/pgq
factory=$top/build/examples/libmyjobs.so
pgq_() { "$pgq" --pg-dsn "$dsn" "$@"; }
psql_() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" "$@"; }

pgq_ install
pgq_ verify

# The web dashboard, for as long as the demo runs (read-only: no token).
web_port=$((port + 1))
"$pgq" --pg-dsn "$dsn" web --bind "127.0.0.1:$web_port" >"$base/web.log" 2>&1 &
web_pid=$!
echo "== pgq web: dashboard at http://127.0.0.1:$web_port/ and Prometheus metrics at /metrics"

# --- producers --------------------------------------------------------------------

echo "== producers enqueue a mix of jobs"
psql_ <<'SQL'
-- bulk work in three priorities
SELECT 'noop          ' || count(*) || ' jobs, priorities 0-2'
  FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[400]),
       priorities => (SELECT array_agg(i % 3) FROM generate_series(1, 400) i));
-- slower jobs: the payload is the milliseconds each one works
SELECT 'sleep         ' || count(*) || ' jobs of 20 ms'
  FROM pgqueuer.enqueue_batch(array_fill('sleep'::text, ARRAY[100]),
       payloads => array_fill(convert_to('20', 'UTF8'), ARRAY[100]));
-- a deferred batch: due in 2 s, announced by the background worker on time
SELECT 'noop          ' || count(*) || ' jobs deferred by 2 s'
  FROM pgqueuer.enqueue_batch(array_fill('noop'::text, ARRAY[50]),
       execute_after => array_fill('2 seconds'::interval, ARRAY[50]));
-- at most 2 at once across both workers (registered by the factory)
SELECT 'limited       ' || count(*) || ' jobs, concurrency_limit 2'
  FROM pgqueuer.enqueue_batch(array_fill('limited'::text, ARRAY[60]));
-- fails on its first attempt; the server retries it with backoff
SELECT 'flaky         ' || count(*) || ' jobs that fail once, retried by the server'
  FROM pgqueuer.enqueue_batch(array_fill('flaky'::text, ARRAY[10]));
-- asks the worker for a retry after 0.2 s on its first attempt
SELECT 'later         ' || count(*) || ' jobs retried by the client'
  FROM pgqueuer.enqueue_batch(array_fill('later'::text, ARRAY[5]));
-- a custom executor retries inside the worker: fails twice, then succeeds
SELECT 'unstable      ' || count(*) || ' jobs behind a retrying executor'
  FROM pgqueuer.enqueue_batch(array_fill('unstable'::text, ARRAY[3]),
       payloads => array_fill(convert_to('2', 'UTF8'), ARRAY[3]));
-- always fails: ends as exception with a traceback in the log
SELECT 'fail          ' || count(*) || ' jobs that always fail'
  FROM pgqueuer.enqueue_batch(array_fill('fail'::text, ARRAY[2]));
-- a cron schedule: one noop job every second, fired by the server
SELECT 'schedule      id ' || pgqueuer.schedule('noop', '* * * * * *') || ': noop every second';
SQL
echo "-- a job with a dedupe key, then the same key again:"
pgq_ queue noop 'invoice 42' --dedupe-key invoice-42
pgq_ queue noop 'invoice 42' --dedupe-key invoice-42 --on-conflict skip

# --- workers ----------------------------------------------------------------------

echo "== two pgq run workers process the queue (progress of the first on stderr)"
start_ns=$(date +%s%N)
"$pgq" --pg-dsn "$dsn" run "$factory:setup" --batch-size 10 --progress --log-level WARNING &
workers+=($!)
"$pgq" --pg-dsn "$dsn" run "$factory:setup" --batch-size 10 --log-level WARNING &
workers+=($!)

# wait until the mix is done: nothing queued or running, the deferred batch
# included (it is queued until it has run), for up to two minutes
deadline=$((SECONDS + 120))
while :; do
	# Ctrl-C reaches the workers too (one process group): they stop, so do we
	for p in "${workers[@]}"; do
		if ! kill -0 "$p" 2>/dev/null; then
			echo "demo: a worker has stopped; stopping" >&2
			exit 130
		fi
	done
	left=$(psql_ -c "SELECT count(*) FROM pgqueuer.pgqueuer WHERE status IN ('queued', 'picked')")
	[ "$left" = 0 ] && break
	if [ $SECONDS -ge $deadline ]; then
		echo "demo: $left jobs still queued after two minutes" >&2
		break
	fi
	sleep 0.2
done
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))

psql_ -c "SELECT pgqueuer.unschedule('noop')" >/dev/null
for p in "${workers[@]}"; do
	kill -TERM "$p" 2>/dev/null || true
done
for p in "${workers[@]}"; do
	wait "$p" || echo "demo: a worker exited with status $?" >&2
done
workers=()
echo

# --- results ----------------------------------------------------------------------

echo "== pgq dashboard"
pgq_ dashboard --table-format grid

echo "== GET http://127.0.0.1:$web_port/metrics (pgq web), a few lines"
if exec 3<>"/dev/tcp/127.0.0.1/$web_port"; then
	printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	grep -E '^pgqueuer_(jobs_finished_total|workers|jobs_retried_total)' <&3 | head -n 8 || true
	exec 3<&-
else
	echo "demo: pgq web is not answering; see $base/web.log" >&2
fi

echo "== summary"
elapsed=$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))
psql_ -v elapsed="$elapsed" <<'SQL'
\pset format aligned
\pset tuples_only off
\pset footer off
\echo 'jobs processed, by final status:'
SELECT status, count(*) AS jobs FROM pgqueuer.pgqueuer_log
 WHERE status IN ('successful', 'exception', 'canceled', 'deleted')
 GROUP BY status ORDER BY status;
\echo 'by entrypoint:'
SELECT entrypoint,
       count(*) FILTER (WHERE status = 'successful') AS successful,
       count(*) FILTER (WHERE status = 'exception') AS exception,
       count(*) FILTER (WHERE status = 'queued') - count(DISTINCT job_id) AS retries
  FROM pgqueuer.pgqueuer_log GROUP BY entrypoint ORDER BY entrypoint;
SELECT count(*) AS jobs_processed, :'elapsed' AS elapsed_s,
       round(count(*) / :'elapsed'::numeric, 1) AS jobs_per_s
  FROM pgqueuer.pgqueuer_log
 WHERE status IN ('successful', 'exception', 'canceled', 'deleted');
\echo 'limited: most jobs running at once (limit 2):'
SELECT max(n) AS max_concurrent FROM (
  SELECT sum(d) OVER (ORDER BY t, d ROWS UNBOUNDED PRECEDING) AS n FROM (
    SELECT created AS t, 1 AS d FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'limited' AND status = 'picked'
    UNION ALL
    SELECT created, -1 FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'limited' AND status IN ('successful', 'exception')
  ) e) s;
SQL
pgq_ verify
echo "== stopping the server"
