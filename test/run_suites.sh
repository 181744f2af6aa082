#!/usr/bin/env bash
#
# run_suites.sh -- run every test suite of this tree and sum the results.
#
# Expects the extension to be installed already (into PGQ_INSTALL_BINDIR's
# installation when set, else into PG_CONFIG's) and the current user to be
# allowed to run initdb (not root); test/run_tests.sh arranges both.  Suites:
#   cron        the cron parser's C unit tests (test/cron)
#   regress     pg_regress files sql/<name>.sql against expected/<name>.out
#   isolation   isolation specs test/isolation/specs/*.spec
#   client      builds libpgqueuer, pgq and the example factory (build/);
#               installs them with make install-client and builds a program
#               against them with pkg-config (test/client/install_check.sh)
#   tap         TAP tests test/t/*.pl (PostgreSQL::Test::Cluster); the pgq
#               tests find the binary in $PGQ_BIN, the factory in $PGQ_FACTORY
#   node        the Node.js client's tests (client/node/test, node --test)
#   python      pytest suite of the Python client (test/python, Debian's
#               python3-pytest, python3-pytest-asyncio and python3-psycopg
#               under /usr/bin/python3); it starts its own server
# Each runs on throwaway servers.  Prints "N passed, N failed" last.
#
# While working on one part, PGQ_SUITES limits the run to some suites (for
# example PGQ_SUITES="regress tap") and PGQ_TAP to some TAP files (for example
# PGQ_TAP="test/t/010_bgworker.pl"); `make test` sets neither.

set -uo pipefail

PG_CONFIG=${PG_CONFIG:-pg_config}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# The server binaries and PGXS test tools: those of the private installation
# made by run_tests.sh, else PG_CONFIG's own.
bindir=${PGQ_INSTALL_BINDIR:-$("$PG_CONFIG" --bindir)}
pgxs=$(dirname "${PGQ_INSTALL_PGXS:-$("$PG_CONFIG" --pgxs)}")/../..
regress=$pgxs/src/test/regress/pg_regress
isolation=$pgxs/src/test/isolation/pg_isolation_regress
out=$top/test/output
rm -rf "$out" "$top/tmp_check"
mkdir -p "$out" "$top/tmp_check"

passed=0
failed=0
suites=${PGQ_SUITES:-cron regress isolation client tap node python}

# want SUITE: whether SUITE is to run
want() {
	case " $suites " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# add PASSED FAILED SUITE: add a suite's counts to the totals
add() {
	passed=$((passed + $1))
	failed=$((failed + $2))
	echo "== $3: $1 passed, $2 failed"
}

# --- cron parser unit tests ------------------------------------------------
if ! want cron; then :; elif make -s -C test/cron check >"$out/cron.log" 2>&1; then :; fi
if want cron; then
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/cron.log" | tail -n 1)
if [ -n "$line" ]; then
	add "$(echo "$line" | cut -d' ' -f1)" "$(echo "$line" | cut -d' ' -f3)" cron
	grep '^not ok' "$out/cron.log" || true
else
	cat "$out/cron.log"
	add 0 1 cron
fi
fi

# count_regress LOG: "ok" and "FAILED" lines of pg_regress output
count_regress() {
	local ok bad
	ok=$(grep -cE '\.\.\. ok|^ok [0-9]+' "$1" || true)
	bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+' "$1" || true)
	echo "$ok $bad"
}

# --- pg_regress ------------------------------------------------------------
if want regress; then
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
fi

# --- isolation -------------------------------------------------------------
specs=$(cd test/isolation/specs && ls *.spec 2>/dev/null | sed 's/\.spec$//' | tr '\n' ' ')
if [ -n "$specs" ] && want isolation; then
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
if ! want client && ! want tap && ! want python; then :; elif make -s client PG_CONFIG="$PG_CONFIG" >"$out/client-build.log" 2>&1; then
	add 1 0 client-build
else
	cat "$out/client-build.log"
	add 0 1 client-build
fi

# --- clients installed: make install-client, a program built with pkg-config
if want client; then
	if bash test/client/install_check.sh "$out/client-install" >"$out/client-install.log" 2>&1; then
		add 1 0 client-install
	else
		cat "$out/client-install.log"
		add 0 1 client-install
	fi
fi

# --- TAP -------------------------------------------------------------------
tap_files=${PGQ_TAP:-$(ls test/t/*.pl 2>/dev/null)}
if [ -n "$tap_files" ] && want tap; then
	mkdir -p "$out/tap"
	PATH="$bindir:$PATH" PG_REGRESS="$regress" TESTDIR="$out/tap" \
		PG_CONFIG="$PG_CONFIG" PGQ_TOP="$top" PGQ_BIN="$top/build/pgq" \
		PGQ_FACTORY="$top/build/examples/libmyjobs.so" \
		prove -v -I "$pgxs/src/test/perl" -I "$top/test/t" $tap_files \
		>"$out/tap.log" 2>&1
	grep -vE '^\s*ok [0-9]+' "$out/tap.log" | tail -n 60
	ok=$(grep -cE '^\s*ok [0-9]+' "$out/tap.log" || true)
	bad=$(grep -cE '^\s*not ok [0-9]+' "$out/tap.log" || true)
	# a test file that died after passing its tests ("Dubious ... All N
	# subtests passed") counts as one failure too
	bad=$((bad + $(grep -cE '^All [0-9]+ subtests passed' "$out/tap.log" || true)))
	if ! grep -q '^Result: PASS' "$out/tap.log" && [ "$bad" = 0 ]; then bad=1; fi
	add "$ok" "$bad" tap
fi

# --- Node.js client --------------------------------------------------------
# client/node/test/*.test.js start their own server from $bindir.  The pg
# package is Debian's node-pg when installed (found through NODE_PATH),
# else client/node/node_modules, installed here by `npm ci` from the
# committed package-lock.json when missing.
if want node; then
	nodedir=$top/client/node
	nodepath=/usr/share/nodejs:/usr/lib/nodejs:/usr/lib/$(uname -m)-linux-gnu/nodejs
	if ! command -v node >/dev/null 2>&1; then
		echo "node: no node on PATH (.ci/run installs Debian's nodejs and node-pg)"
		add 0 1 node
	else
		if ! (cd "$nodedir" && NODE_PATH=$nodepath node -e 'require("pg")') >/dev/null 2>&1; then
			(cd "$nodedir" && npm ci --cache "$top/tmp_check/npm-cache") >"$out/node-npm.log" 2>&1 ||
				cat "$out/node-npm.log"
		fi
		# timeout signals its whole process group: every test process stops its server
		(cd "$nodedir" && PGQ_TOP="$top" PGQ_INSTALL_BINDIR="$bindir" NODE_PATH=$nodepath \
			timeout -k 30 1200 node --test --test-reporter=tap test/*.test.js) >"$out/node.log" 2>&1
		ok=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out/node.log" | tail -n 1)
		bad=$(sed -n 's/^# \(fail\|cancelled\) \([0-9]*\)$/\2/p' "$out/node.log" | awk '{n += $1} END {print n + 0}')
		if [ -z "$ok" ] || [ "$ok$bad" = 00 ]; then
			tail -n 60 "$out/node.log"
			add 0 1 node
		else
			[ "$bad" != 0 ] && grep -E -A 25 '^\s*not ok [0-9]+' "$out/node.log" | head -n 200
			add "$ok" "$bad" node
		fi
	fi
fi

# --- Python client ---------------------------------------------------------
# pytest's last line is e.g. "17 passed, 1 failed, 2 skipped in 20.1s";
# errors (a fixture that failed) count as failures.
if want python; then
	PGQ_BIN="$top/build/pgq" PG_CONFIG="$PG_CONFIG" PGQ_INSTALL_BINDIR="$bindir" \
		/usr/bin/python3 -m pytest -v -p no:cacheprovider test/python >"$out/python.log" 2>&1
	summary=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$out/python.log" | tail -n 1)
	ok=$(echo "$summary" | grep -oE '[0-9]+ passed' | cut -d' ' -f1)
	bad=$(echo "$summary" | grep -oE '[0-9]+ failed' | cut -d' ' -f1)
	errs=$(echo "$summary" | grep -oE '[0-9]+ errors?' | cut -d' ' -f1)
	ok=${ok:-0}
	bad=$((${bad:-0} + ${errs:-0}))
	if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then bad=1; fi
	if [ "$bad" != 0 ]; then
		grep -vE ' PASSED ' "$out/python.log" | tail -n 80
	else
		echo "$summary"
	fi
	add "$ok" "$bad" python
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
