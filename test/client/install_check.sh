#!/usr/bin/env bash
#
# install_check.sh PREFIX -- make install-client into PREFIX, then build a
# program against the installed libpgqueuer with nothing but pkg-config
# (libpgqueuer.pc, which pulls in libpq's flags), once linked dynamically
# (found through the soname) and once with libpgqueuer.a, and run both: each
# connects to a server that does not exist and must get libpq's error back.
# Run by test/run_suites.sh (suite "client"); prints "ok" last on success.

set -euo pipefail

prefix=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$prefix"
make -s -C "$top" install-client PREFIX="$prefix" >/dev/null

for f in bin/pgq include/libpgqueuer.h lib/libpgqueuer.a lib/libpgqueuer.so \
	lib/libpgqueuer.so.1 lib/pkgconfig/libpgqueuer.pc; do
	[ -e "$prefix/$f" ] || { echo "install-client did not install $f"; exit 1; }
done
"$prefix/bin/pgq" --help >/dev/null

cat >"$prefix/probe.c" <<'C'
#include <stdio.h>
#include <libpgqueuer.h>

int
main(void)
{
	char	   *err = NULL;
	PgqClient  *c = pgq_connect("host=/nonexistent-pgqueuer-probe connect_timeout=1", &err);

	if (c != NULL || err == NULL)
		return 1;
	printf("refused as expected: %s\n", err);
	return 0;
}
C

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -o "$prefix/probe-shared" "$prefix/probe.c" $(pkg-config --cflags --libs libpgqueuer)
LD_LIBRARY_PATH=$prefix/lib "$prefix/probe-shared"
libs=$(LD_LIBRARY_PATH=$prefix/lib ldd "$prefix/probe-shared")
case $libs in
*"libpgqueuer.so.1 => $prefix/lib/libpgqueuer.so.1"*) ;;
*) echo "probe-shared does not load the installed libpgqueuer.so.1:"; echo "$libs"; exit 1 ;;
esac
# libpgqueuer.a with the shared libpq (Debian ships no usable static libpq)
# shellcheck disable=SC2046
cc -o "$prefix/probe-static" "$prefix/probe.c" $(pkg-config --cflags libpgqueuer) \
	"$prefix/lib/libpgqueuer.a" $(pkg-config --libs libpq) -pthread -lm
"$prefix/probe-static"
echo ok
