#!/usr/bin/env bash
#
# exec_chaos.sh -- pgq run --exec under fire (issue 19): drain CHAOS_JOBS
# jobs (20,000) through CHAOS_WORKERS `pgq run --exec` workers (2) while one
# worker is killed with SIGKILL every CHAOS_KILL_EVERY seconds (2) and
# started again, and the server crashes twice: once a backend killed with
# SIGKILL (the postmaster's crash restart), once `pg_ctl stop -m immediate`
# and a start (crash recovery).  Not part of `make test` (it runs for
# minutes).  Run as root or as a user who can run initdb:
#
#	bash test/stress/exec_chaos.sh            # or CHAOS_JOBS=2000 ...
#
# Every job's payload is "job-N-<N mod 4096 x's>-end"; the command checks
# that it read exactly PGQ_PAYLOAD_SIZE bytes ending in "-end" and appends
# one line per run to runs.txt ("ok" or "TRUNC"; a pgq without
# PGQ_PAYLOAD_SIZE is judged by the "-end" alone).  At the end it prints the
# figures and exits non-zero unless: every job is logged successful exactly
# once, the queue is empty, no command ran on a truncated payload, and no
# command outlived its worker (none left running after the workers
# stopped).  A private copy of the PostgreSQL installation (as `make test`
# makes) holds the extension; the server is on a unix socket in a
# temporary directory.  PGQ_BIN overrides the pgq binary (e.g. an older
# build, to compare).

set -euo pipefail

JOBS=${CHAOS_JOBS:-20000}
WORKERS=${CHAOS_WORKERS:-2}
KILL_EVERY=${CHAOS_KILL_EVERY:-2}
LEASE=${CHAOS_LEASE:-3}
CONCURRENCY=${CHAOS_CONCURRENCY:-8}
TIME_LIMIT=${CHAOS_TIME_LIMIT:-1800}

PG_CONFIG=${PG_CONFIG:-pg_config}
command -v "$PG_CONFIG" >/dev/null 2>&1 || PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG_CONFIG=$(command -v "$PG_CONFIG")
top=${CHAOS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null

work=$(mktemp -d /tmp/pgqueuer-chaos.XXXXXX)
inst=$work/install
for d in "$($PG_CONFIG --bindir)" "$($PG_CONFIG --pkglibdir)" "$($PG_CONFIG --sharedir)"; do
	mkdir -p "$inst$d"
	cp -a "$d/." "$inst$d/"
done
make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$inst" >/dev/null
bindir=$inst$($PG_CONFIG --bindir)
pgq=${PGQ_BIN:-$top/build/pgq}
cp "$pgq" "$work/pgq"
pgq=$work/pgq

if [ "$(id -u)" = 0 ]; then
	chown -R postgres "$work"
	run_as() { runuser -u postgres -- "$@"; }
else
	run_as() { "$@"; }
fi

port=$((20000 + RANDOM % 20000))
dsn="host=$work port=$port dbname=postgres user=postgres"
pids=()
postmaster=""

cleanup() {
	local f
	touch "$work/stop" 2>/dev/null || true
	for f in "$work"/slot*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	run_as "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
	if [ -z "${CHAOS_KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT
trap 'echo "chaos: interrupted"; exit 130' INT TERM

psql_q() { "$bindir/psql" -X -A -t -q -d "$dsn" -c "$1" 2>/dev/null; }

run_as "$bindir/initdb" -D "$work/data" -A trust -U postgres >/dev/null
cat >>"$work/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
shared_preload_libraries = 'pgqueuer'
pgqueuer.naptime = '100ms'
max_connections = 60
fsync = on
synchronous_commit = on
restart_after_crash = on
EOF
start_server() {
	run_as "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 120 start >/dev/null
}
start_server

psql_q "CREATE EXTENSION pgqueuer" >/dev/null
psql_q "SELECT pgqueuer.register_entrypoint('chaos', lease_timeout => '$LEASE seconds', max_attempts => 100000)" >/dev/null
psql_q "SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(SELECT 'chaos' FROM generate_series(1, $JOBS)), ARRAY(SELECT convert_to('job-' || i || '-' || repeat('x', i % 4096) || '-end', 'UTF8') FROM generate_series(1, $JOBS) i))" >/dev/null
queued=$(psql_q "SELECT count(*) FROM pgqueuer.pgqueuer")
echo "chaos: $queued jobs queued; $WORKERS workers, one killed every ${KILL_EVERY}s, lease ${LEASE}s, two server crashes"

cat >"$work/cmd.sh" <<'EOS'
#!/bin/sh
# the chaos command: check the payload, note the run
IFS= read -r p
case "$p" in
	*-end) [ "${#p}" = "${PGQ_PAYLOAD_SIZE:-${#p}}" ] && r=ok || r=TRUNC ;;
	*) r=TRUNC ;;
esac
echo "$PGQ_JOB_ID $PGQ_ATTEMPTS $r ${#p}" >> "$CHAOS_RUNS"
exit 0
EOS
chmod 755 "$work/cmd.sh"
: >"$work/runs.txt"
[ "$(id -u)" = 0 ] && chown postgres "$work/runs.txt"

# a worker slot: pgq run again and again (each pid in slotI.pid) until
# $work/stop exists
slot() {
	local i=$1 p
	while [ ! -e "$work/stop" ]; do
		CHAOS_RUNS=$work/runs.txt "$pgq" --pg-dsn "$dsn" run --exec "chaos=$work/cmd.sh" \
			--restart-on-failure --restart-delay 1 --max-concurrent-tasks "$CONCURRENCY" \
			>>"$work/worker$i.log" 2>&1 &
		p=$!
		echo "$p" >"$work/slot$i.pid"
		wait "$p" || true
	done
}
for ((i = 0; i < WORKERS; i++)); do
	slot "$i" &
	pids[$i]=$!
done

# progress, in the background so that kills keep their schedule
progress() {
	while [ ! -e "$work/stop" ]; do
		psql_q "SELECT (SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful') || ' ' || (SELECT count(*) FROM pgqueuer.pgqueuer)" >"$work/progress.tmp" &&
			[ -s "$work/progress.tmp" ] && mv "$work/progress.tmp" "$work/progress"
		sleep 1
	done
}
echo "0 $JOBS" >"$work/progress"
progress &
progress_pid=$!

now_ms() { date +%s%3N; }
t0=$(now_ms)
next=$t0
kills=0
crashes=0
victim=0
while :; do
	# the next tick of the kill schedule
	next=$((next + KILL_EVERY * 1000))
	wait_ms=$((next - $(now_ms)))
	[ "$wait_ms" -gt 0 ] && sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
	secs=$((($(now_ms) - t0) / 1000))
	if [ "$secs" -gt "$TIME_LIMIT" ]; then
		echo "chaos: time limit of ${TIME_LIMIT}s reached"
		break
	fi
	read -r done_n left <"$work/progress"
	echo "chaos: ${secs}s successful $done_n, left $left, kills $kills, crashes $crashes"
	[ "$left" = 0 ] && break

	kill -KILL "$(cat "$work/slot$victim.pid")" 2>/dev/null || true
	kills=$((kills + 1))
	victim=$(((victim + 1) % WORKERS))

	if [ "$crashes" = 0 ] && [ "$done_n" -ge $((JOBS / 3)) ]; then
		b=$(psql_q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() LIMIT 1" || true)
		if [ -n "$b" ]; then
			echo "chaos: crash 1: SIGKILL of backend $b (crash restart)"
			kill -KILL "$b"
			crashes=1
		fi
	elif [ "$crashes" = 1 ] && [ "$done_n" -ge $((2 * JOBS / 3)) ]; then
		echo "chaos: crash 2: immediate shutdown, then start (crash recovery)"
		run_as "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null
		start_server &		# in the background: the kills go on meanwhile
		crashes=2
	fi
done
elapsed=$((($(now_ms) - t0) / 1000))
touch "$work/stop"
wait "$progress_pid" 2>/dev/null || true
for ((i = 0; i < WORKERS; i++)); do kill -TERM "$(cat "$work/slot$i.pid")" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
# the workers are gone: no command of theirs may still run
left_cmds=$(pgrep -f "$work/cmd.sh" | wc -l || true)

read -r succ distinct dup other left <<<"$(psql_q "SELECT
	(SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'),
	(SELECT count(DISTINCT job_id) FROM pgqueuer.pgqueuer_log WHERE status = 'successful'),
	(SELECT count(*) FROM (SELECT job_id FROM pgqueuer.pgqueuer_log WHERE status = 'successful' GROUP BY job_id HAVING count(*) > 1) d),
	(SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status IN ('exception', 'canceled', 'deleted')),
	(SELECT count(*) FROM pgqueuer.pgqueuer)" | tr '|' ' ')"
expired=$(psql_q "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'queued' AND traceback->>'exception_type' = 'LeaseExpired'")
runs=$(wc -l <"$work/runs.txt")
trunc=$(grep -c ' TRUNC ' "$work/runs.txt" || true)
reruns=$(cut -d' ' -f1 "$work/runs.txt" | sort | uniq -d | wc -l)
reconnects=$(cat "$work"/worker*.log | grep -c 'reconnected as worker' || true)
refused=$(cat "$work"/worker*.log | grep -c 'refused by the server' || true)
lost=$(cat "$work"/worker*.log | grep -c 'is no longer held by this worker' || true)

cat <<EOF
chaos: figures
  jobs enqueued                       $JOBS
  elapsed                             ${elapsed}s
  workers killed (SIGKILL)            $kills
  server crashes                      $crashes
  successful log rows                 $succ
  jobs logged successful              $distinct
  jobs logged successful twice+       $dup
  exception/canceled/deleted rows     $other
  jobs left in the queue              $left
  lease expiries (requeues)           $expired
  command runs                        $runs
  jobs whose command ran twice+       $reruns
  runs on a truncated payload         $trunc
  commands left after the workers     $left_cmds
  in-place reconnections              $reconnects
  outcomes refused by the server      $refused
  running jobs found lost (stopped)   $lost
EOF

fail=0
[ "$succ" = "$JOBS" ] && [ "$distinct" = "$JOBS" ] && [ "$dup" = 0 ] || { echo "FAIL: not every job successful exactly once"; fail=1; }
[ "$left" = 0 ] || { echo "FAIL: jobs left in the queue"; fail=1; }
[ "$trunc" = 0 ] || { echo "FAIL: commands ran on a truncated payload"; fail=1; }
[ "$left_cmds" = 0 ] || { echo "FAIL: commands outlived their workers"; fail=1; }
[ "$crashes" = 2 ] || { echo "FAIL: the two crashes did not happen"; fail=1; }
[ "$fail" = 0 ] && echo "chaos: PASS"
exit "$fail"
