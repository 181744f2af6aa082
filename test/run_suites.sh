#!/usr/bin/env bash
#
# run_suites.sh -- run every test suite of this tree and sum the results.
#
# Expects the extension to be installed already and the current user to be
# allowed to run initdb (not root); test/run_tests.sh arranges both.  Suites:
#   cron        the cron parser's C unit tests (test/cron)
#   regress     pg_regress files sql/<name>.sql against expected/<name>.out
#   isolation   isolation specs test/isolation/specs/*.spec
#   client      builds libpgqueuer, pgq and the example factory (build/)
#   tap         TAP tests test/t/*.pl (PostgreSQL::Test::Cluster); the pgq
#               tests find the binary in $PGQ_BIN, the factory in $PGQ_FACTORY
# Each runs on throwaway servers.  Prints "N passed, N failed" last.

set -uo pipefail

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bindir=$("$PG_CONFIG" --bindir)
pgxs=$(dirname "$("$PG_CONFIG" --pgxs)")/../..
regress=$pgxs/src/test/regress/pg_regress
isolation=$pgxs/src/test/isolation/pg_isolation_regress
out=$top/test/output
rm -rf "$out" "$top/tmp_check"
mkdir -p "$out" "$top/tmp_check"

passed=0
failed=0

# add PASSED FAILED SUITE: add a suite's counts to the totals
add() {
	passed=$((passed + $1))
	failed=$((failed + $2))
	echo "== $3: $1 passed, $2 failed"
}

# --- cron parser unit tests ------------------------------------------------
if make -s -C test/cron check >"$out/cron.log" 2>&1; then :; fi
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/cron.log" | tail -n 1)
if [ -n "$line" ]; then
	add "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f3)" cron
	grep '^not ok' "$out/cron.log" || true
else
	cat "$out/cron.log"
	add 0 1 cron
fi

# count_regress LOG: "ok" and "FAILED" lines of pg_regress output
count_regress() {
	local ok bad
	ok=$(grep -cE '\.\.\. ok|^ok [0-9]+' "$1" || true)
	bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+' "$1" || true)
	echo "$ok $bad"
}

# --- pg_regress ------------------------------------------------------------
tests=$(sed -e 's/#.*//' test/regress_schedule | tr -s ' \n' ' ')
"$regress" --temp-instance="$top/tmp_check/regress" \
	--temp-config="$top/test/pgqueuer.conf" \
	--inputdir="$top" --outputdir="$out/regress" --bindir="$bindir" \
	--dbname=contrib_regression $tests >"$out/regress.log" 2>&1
cat "$out/regress.log"
read -r ok bad < <(count_regress "$out/regress.log")
if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then bad=1; fi
add "$ok" "$bad" regress
[ -f "$out/regress/regression.diffs" ] && head -n 200 "$out/regress/regression.diffs"

# --- isolation -------------------------------------------------------------
specs=$(cd test/isolation/specs && ls *.spec 2>/dev/null | sed 's/\.spec$//' | tr '\n' ' ')
if [ -n "$specs" ]; then
	"$isolation" --temp-instance="$top/tmp_check/isolation" \
		--temp-config="$top/test/pgqueuer.conf" \
		--inputdir="$top/test/isolation" --outputdir="$out/isolation" \
		--bindir="$bindir" --dbname=isolation_regression \
		$specs >"$out/isolation.log" 2>&1
	cat "$out/isolation.log"
	read -r ok bad < <(count_regress "$out/isolation.log")
	if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then bad=1; fi
	add "$ok" "$bad" isolation
	[ -f "$out/isolation/regression.diffs" ] && head -n 200 "$out/isolation/regression.diffs"
fi

# --- clients: libpgqueuer, pgq and the example factory, used by TAP --------
if make -s client PG_CONFIG="$PG_CONFIG" >"$out/client-build.log" 2>&1; then
	add 1 0 client-build
else
	cat "$out/client-build.log"
	add 0 1 client-build
fi

# --- TAP -------------------------------------------------------------------
if ls test/t/*.pl >/dev/null 2>&1; then
	mkdir -p "$out/tap"
	PATH="$bindir:$PATH" PG_REGRESS="$regress" TESTDIR="$out/tap" \
		PG_CONFIG="$PG_CONFIG" PGQ_TOP="$top" PGQ_BIN="$top/build/pgq" \
		PGQ_FACTORY="$top/build/examples/libmyjobs.so" \
		prove -v -I "$pgxs/src/test/perl" -I "$top/test/t" test/t/*.pl \
		>"$out/tap.log" 2>&1
	grep -vE '^\s*ok [0-9]+' "$out/tap.log" | tail -n 60
	ok=$(grep -cE '^\s*ok [0-9]+' "$out/tap.log" || true)
	bad=$(grep -cE '^\s*not ok [0-9]+' "$out/tap.log" || true)
	if ! grep -q '^Result: PASS' "$out/tap.log" && [ "$bad" = 0 ]; then bad=1; fi
	add "$ok" "$bad" tap
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
