#!/usr/bin/env bash
#
# demo.sh -- what `make demo` runs: a private, throwaway PostgreSQL with the
# pgqueuer extension, and real queue work driven from SQL alone.
#
# Installs what is missing (PostgreSQL 15 server and headers, when run as
# root; otherwise prints the apt-get line and stops), builds and installs the
# extension, starts a server on a unix socket in a temporary directory (no
# TCP), creates the extension, enqueues a mix of jobs, runs two SQL workers
# that dequeue and complete them, prints the result and stops the server.
# Ctrl-C at any point stops the server and removes the directory.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

packages="postgresql-15 postgresql-server-dev-15 build-essential"
if [ ! -x "$PG_CONFIG" ] || [ ! -d "$($PG_CONFIG --includedir-server 2>/dev/null)" ] \
	|| [ ! -x "$(dirname "$PG_CONFIG")/postgres" ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages
	else
		echo "demo: PostgreSQL 15 server and headers are missing; install them with:" >&2
		echo "  sudo apt-get install -y $packages" >&2
		exit 1
	fi
fi

make -s PG_CONFIG="$PG_CONFIG"
if [ "$(id -u)" = 0 ]; then
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
	run_as() { runuser -u postgres -- "$@"; }
else
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || {
		echo "demo: cannot install into $($PG_CONFIG --pkglibdir); run as root" >&2
		exit 1
	}
	run_as() { "$@"; }
fi

bindir=$($PG_CONFIG --bindir)
dir=$(mktemp -d /tmp/pgqueuer-demo.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$((20000 + RANDOM % 20000))
pid=""

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		run_as "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || kill "$pid"
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, stopping"; exit 130' INT TERM

echo "== starting a private PostgreSQL in $dir (unix socket only, port $port)"
run_as "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
run_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=$port -c shared_preload_libraries=pgqueuer" \
	start >/dev/null
pid=$(head -n 1 "$dir/data/postmaster.pid")

psql_() { run_as "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"; }

psql_ <<'SQL'
CREATE EXTENSION pgqueuer;
SELECT pgqueuer.register_entrypoint('send_email', concurrency_limit => 2);
SELECT pgqueuer.register_entrypoint('flaky', max_attempts => 2, retry_backoff_base => '0');
SQL

echo "== producers: a mix of entrypoints, priorities, a deferred batch, a dedupe key, a schedule"
psql_ <<'SQL'
SELECT count(*) AS emails FROM pgqueuer.enqueue_batch(array_fill('send_email'::text, ARRAY[200]),
       priorities => (SELECT array_agg(i % 3) FROM generate_series(1, 200) i));
SELECT count(*) AS reports FROM pgqueuer.enqueue_batch(array_fill('render_report'::text, ARRAY[300]));
SELECT count(*) AS deferred FROM pgqueuer.enqueue_batch(array_fill('cleanup'::text, ARRAY[50]),
       execute_after => array_fill('2 seconds'::interval, ARRAY[50]));
SELECT pgqueuer.enqueue('invoice', dedupe_key => 'invoice-42') AS invoice,
       pgqueuer.enqueue('invoice', dedupe_key => 'invoice-42', on_conflict => 'skip') AS duplicate_skipped;
SELECT count(*) AS flaky FROM pgqueuer.enqueue_batch(array_fill('flaky'::text, ARRAY[10]));
SELECT pgqueuer.schedule('heartbeat_report', '* * * * * *') AS schedule_id;
SQL

echo "== two SQL workers dequeue and complete until the queue is empty"
worker() {
	psql_ -v qm="$1" <<'SQL'
SELECT set_config('demo.qm', :'qm', false) \g /dev/null
DO $$
DECLARE
  job record;
  done_ids bigint[];
  outcomes pgqueuer.pgqueuer_status[];
  idle int := 0;
  real_work int;
BEGIN
  -- stop after 2 s without work other than the every-second schedule
  WHILE idle < 20 LOOP
    done_ids := '{}'; outcomes := '{}'; real_work := 0;
    FOR job IN SELECT * FROM pgqueuer.dequeue(10, ARRAY['send_email', 'render_report', 'cleanup', 'invoice', 'flaky', 'heartbeat_report'],
                                             current_setting('demo.qm')::uuid) LOOP
      done_ids := done_ids || job.id;
      IF job.entrypoint <> 'heartbeat_report' THEN
        real_work := real_work + 1;
      END IF;
      -- the flaky handler fails on its first attempt and is retried by the server
      outcomes := outcomes || CASE WHEN job.entrypoint = 'flaky' AND job.attempts = 0
                                   THEN 'exception' ELSE 'successful' END::pgqueuer.pgqueuer_status;
    END LOOP;
    IF cardinality(done_ids) > 0 THEN
      PERFORM pgqueuer.complete(done_ids, outcomes, queue_manager_id => current_setting('demo.qm')::uuid);
    END IF;
    IF real_work = 0 THEN
      idle := idle + 1;
      -- no background worker needed: fire schedules and expire leases by SQL
      PERFORM pgqueuer.run_maintenance();
      PERFORM pg_sleep(0.1);
    ELSE
      idle := 0;
    END IF;
    COMMIT;
  END LOOP;
END
$$;
SQL
}
start=$(date +%s%N)
worker 00000000-0000-0000-0000-0000000000a1 &
w1=$!
worker 00000000-0000-0000-0000-0000000000a2 &
w2=$!
wait $w1 $w2
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
elapsed=$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))

echo "== result"
psql_ -v elapsed="$elapsed" <<'SQL'
SELECT pgqueuer.unschedule('heartbeat_report') AS schedules_removed;
\echo 'queue (should hold only nothing or deferred leftovers):'
SELECT * FROM pgqueuer.queue_size();
\echo 'outcomes per entrypoint:'
SELECT entrypoint, status, sum(count) AS jobs FROM pgqueuer.log_statistics()
 WHERE status NOT IN ('queued', 'picked') GROUP BY 1, 2 ORDER BY 1, 2;
SELECT sum(count) AS jobs_processed, round(:'elapsed'::numeric, 2) AS elapsed_s,
       round(sum(count) / :'elapsed'::numeric, 1) AS jobs_per_s
  FROM pgqueuer.log_statistics() WHERE status IN ('successful', 'exception', 'canceled', 'deleted');
\echo 'installation check (no rows = healthy):'
SELECT * FROM pgqueuer.verify();
SQL
echo "== stopping the server"
