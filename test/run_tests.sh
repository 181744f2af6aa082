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

# The private installation: the server's own directories, then the extension.
for dir in "$($PG_CONFIG --bindir)" "$($PG_CONFIG --pkglibdir)" "$($PG_CONFIG --sharedir)"; do
	mkdir -p "$inst$dir"
	cp -a "$dir/." "$inst$dir/"
done
make -s install PG_CONFIG="$PG_CONFIG" DESTDIR="$inst" >/dev/null
export PGQ_INSTALL_BINDIR=$inst$($PG_CONFIG --bindir)
export PGQ_INSTALL_PGXS=$inst$($PG_CONFIG --pgxs)

if [ "$(id -u)" = 0 ]; then
	user=${PGQ_TEST_USER:-postgres}
	mkdir "$work/tree"
	tar --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		-cf - . | (cd "$work/tree" && tar -xf -)
	chown -R "$user" "$work"
	chmod 700 "$work"
	runuser -u "$user" -- env PG_CONFIG="$PG_CONFIG" PATH="$PATH" \
		PGQ_INSTALL_BINDIR="$PGQ_INSTALL_BINDIR" PGQ_INSTALL_PGXS="$PGQ_INSTALL_PGXS" \
		bash "$work/tree/test/run_suites.sh"
else
	bash test/run_suites.sh
fi
