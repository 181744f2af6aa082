#!/usr/bin/env bash
#
# run_tests.sh -- build, install and run every pgqueuer test suite.
#
# This is what `make test` runs.  initdb refuses to run as root, so when
# invoked as root it installs the extension, copies the tree into a private
# temporary directory owned by an unprivileged user (postgres by default,
# PGQ_TEST_USER to change) and runs the suites there as that user; the
# checkout itself may sit where that user cannot read or write.  Every suite
# runs on throwaway servers (pg_regress --temp-instance, TAP clusters) that
# listen only on a unix socket in a temporary directory.
#
# The last line printed is "N passed, N failed"; the exit status is 0 only
# when nothing failed.

set -euo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

make -s PG_CONFIG="$PG_CONFIG"

if [ "$(id -u)" = 0 ]; then
	make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
	user=${PGQ_TEST_USER:-postgres}
	work=$(mktemp -d /tmp/pgqueuer-test.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	tar --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		-cf - . | (cd "$work" && tar -xf -)
	chown -R "$user" "$work"
	chmod 700 "$work"
	runuser -u "$user" -- env PG_CONFIG="$PG_CONFIG" PATH="$PATH" \
		bash "$work/test/run_suites.sh"
else
	if ! make -s install PG_CONFIG="$PG_CONFIG" >/dev/null; then
		echo "run_tests.sh: cannot install into $($PG_CONFIG --pkglibdir);" \
			"run 'make test' as root (the suites then run as user postgres)" >&2
		exit 1
	fi
	bash test/run_suites.sh
fi
