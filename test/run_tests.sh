#!/usr/bin/env bash
#
# run_tests.sh -- build the extension and run every pgqueuer test suite.
#
# This is what `make test` runs.  Like PostgreSQL's own `make check`, it
# never touches the system's PostgreSQL directories: it copies the server's
# installation (bindir, pkglibdir, sharedir of PG_CONFIG; PostgreSQL's
# binaries are relocatable) into a private temporary directory, installs the
# extension there with DESTDIR, and runs the suites with that copy's
# binaries.  Several checkouts can therefore be tested at once.
#
# initdb refuses to run as root, so when invoked as root the tree is copied
# into the temporary directory, handed to an unprivileged user (postgres by
# default, PGQ_TEST_USER to change) and the suites run there as that user;
# the checkout itself may sit where that user cannot read or write.  Every
# suite runs on throwaway servers (pg_regress --temp-instance, TAP clusters)
# that listen only on a unix socket in a temporary directory.
#
# PGQ_KEEP=1 keeps the temporary directory (logs, results) for a look.
#
# The last line printed is "N passed, N failed"; the exit status is 0 only
# when nothing failed.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
if ! command -v "$PG_CONFIG" >/dev/null 2>&1; then
	PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
PG_CONFIG=$(command -v "$PG_CONFIG")
export PG_CONFIG
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

make -s PG_CONFIG="$PG_CONFIG"

work=$(mktemp -d /tmp/pgqueuer-test.XXXXXX)
if [ -z "${PGQ_KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "run_tests.sh: keeping $work"; fi
inst=$work/install

# private_install PG_CONFIG: copy that server's directories under $inst.  A
# JIT provider whose LLVM libraries are absent (pg-server.sh's unpacked 17)
# is left out, as on a server without the LLVM package: no JIT, no error.
private_install() {
	local pgc=$1 dir jit
	for dir in "$($pgc --bindir)" "$($pgc --pkglibdir)" "$($pgc --sharedir)"; do
		# never copy "/" should pg_config fail
		case $dir in /?*) ;; *) echo "run_tests.sh: $pgc gave no directory" >&2; exit 1 ;; esac
		mkdir -p "$inst$dir"
		cp -a "$dir/." "$inst$dir/"
	done
	jit=$inst$($pgc --pkglibdir)/llvmjit.so
	if [ -f "$jit" ] && ldd "$jit" 2>/dev/null | grep -q 'not found'; then
		rm -f "$jit"
	fi
}

# The private installation: the server's own directories, then the extension.
private_install "$PG_CONFIG"
make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$inst" >/dev/null
export PGQ_INSTALL_BINDIR=$inst$($PG_CONFIG --bindir)
export PGQ_INSTALL_PGXS=$inst$($PG_CONFIG --pgxs)

# The pg_upgrade test (test/t/041_pg_upgrade.pl) upgrades a cluster of the
# older of two majors to the newer: this one and PGQ_UPGRADE_PG_CONFIG,
# by default 18 (pg-server.sh's cache) when testing 15, else 15.  The
# extension is built for the other one in a copy of the tree and installed
# into its private copy; without that tree the test says "skipped".
major() { "$1" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/'; }
cache=${PG_SERVER_CACHE:-/var/cache/pg-server}
this_major=$(major "$PG_CONFIG")
if [ -z "${PGQ_UPGRADE_PG_CONFIG:-}" ]; then
	if [ "$this_major" = 15 ]; then
		PGQ_UPGRADE_PG_CONFIG=$cache/18/bin/pg_config
	else
		PGQ_UPGRADE_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	fi
fi
if [ -x "$PGQ_UPGRADE_PG_CONFIG" ] && [ "$(major "$PGQ_UPGRADE_PG_CONFIG")" != "$this_major" ]; then
	other=$PGQ_UPGRADE_PG_CONFIG
	mkdir "$work/other-src"
	tar --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		-cf - . | (cd "$work/other-src" && tar -xf -)
	private_install "$other"
	make -s -C "$work/other-src" install PG_CONFIG="$other" DESTDIR="$inst" PGQ_BUILD_CLIENT=no \
		>"$work/other-build.log" 2>&1 || { cat "$work/other-build.log"; exit 1; }
	if [ "$(major "$other")" -gt "$this_major" ]; then
		export PGQ_UPGRADE_OLD_BINDIR=$PGQ_INSTALL_BINDIR
		export PGQ_UPGRADE_NEW_BINDIR=$inst$($other --bindir)
	else
		export PGQ_UPGRADE_OLD_BINDIR=$inst$($other --bindir)
		export PGQ_UPGRADE_NEW_BINDIR=$PGQ_INSTALL_BINDIR
	fi
fi

if [ "$(id -u)" = 0 ]; then
	user=${PGQ_TEST_USER:-postgres}
	mkdir "$work/tree"
	tar --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		-cf - . | (cd "$work/tree" && tar -xf -)
	chown -R "$user" "$work"
	chmod 700 "$work"
	runuser -u "$user" -- env PG_CONFIG="$PG_CONFIG" PATH="$PATH" \
		PGQ_INSTALL_BINDIR="$PGQ_INSTALL_BINDIR" PGQ_INSTALL_PGXS="$PGQ_INSTALL_PGXS" \
		PGQ_UPGRADE_OLD_BINDIR="${PGQ_UPGRADE_OLD_BINDIR:-}" PGQ_UPGRADE_NEW_BINDIR="${PGQ_UPGRADE_NEW_BINDIR:-}" \
		bash "$work/tree/test/run_suites.sh"
else
	bash test/run_suites.sh
fi
