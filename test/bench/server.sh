# server.sh -- the throwaway server of the benchmark scripts, sourced by
# run_bench.sh, cycle.sh and py_drain.sh (not run on its own).
#
# The caller sets PG_CONFIG and dir (a fresh directory under /tmp); then
#   bench_private_install  copies PG_CONFIG's server under $dir/install and
#                          installs the extension into that copy (DESTDIR),
#                          so the installed server is neither needed nor
#                          changed; sets bindir
#   bench_server_start [MAX_CONNECTIONS]
#                          as user postgres when run as root: initdb, the
#                          durable settings (fsync, synchronous_commit and
#                          full_page_writes on), unix socket in $dir only,
#                          pgqueuer preloaded; starts it and creates the
#                          database bench; sets port, pid and dsn
#   bench_server_stop      stops it (if running) and removes $dir
# and uses run_as CMD... (as postgres when root) and sql ARGS... (psql on
# $dsn, quiet, unaligned, stop on error).

if [ "$(id -u)" = 0 ]; then
	run_as() { runuser -u postgres -- "$@"; }
else
	run_as() { "$@"; }
fi

sql() { "$bindir/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" "$@"; }

bench_private_install() {
	local d inst=$dir/install
	for d in "$($PG_CONFIG --bindir)" "$($PG_CONFIG --pkglibdir)" "$($PG_CONFIG --sharedir)"; do
		# never copy "/" should pg_config fail
		case $d in /?*) ;; *) echo "bench: $PG_CONFIG gave no directory" >&2; exit 1 ;; esac
		mkdir -p "$inst$d"
		cp -a "$d/." "$inst$d/"
	done
	make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$inst" >/dev/null
	bindir=$inst$($PG_CONFIG --bindir)
}

bench_server_start() {
	chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown -R postgres "$dir"
	port=$((20000 + RANDOM % 20000))
	run_as "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
	cat >>"$dir/data/postgresql.conf" <<-CONF
	listen_addresses = ''
	unix_socket_directories = '$dir'
	port = $port
	shared_preload_libraries = 'pgqueuer'
	fsync = on
	synchronous_commit = on
	full_page_writes = on
	shared_buffers = 256MB
	max_connections = ${1:-50}
	CONF
	run_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	# clients connect as user postgres through the socket; they need not run as it
	dsn="host=$dir port=$port user=postgres dbname=bench"
	"$bindir/createdb" -h "$dir" -p "$port" -U postgres bench
}

bench_server_stop() {
	if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
		run_as "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || kill "$pid"
	fi
	rm -rf "$dir"
}
