#!/usr/bin/env bash
#
# check_format.sh -- check (or apply) the C formatting of .clang-format.
#
# Usage: scripts/check_format.sh [--fix] [--all] [FILE...]
#
# Without FILE: every C file and header git tracks under src/, client/ and
# test/, except the files named in PGQ_FORMAT_SKIP (by default the five
# src/api files being rewritten on another branch; --all, or
# PGQ_FORMAT_SKIP=, checks them too).  Prints each file whose formatting
# differs from what clang-format makes of it and exits 1; prints "N files
# formatted" and exits 0 when none does.  --fix rewrites them in place.
#
# .clang-format follows PostgreSQL's pgindent style as far as clang-format
# 14 goes (tabs of 4, braces on their own lines, the return type of a
# definition on its own line, declarations and trailing comments aligned);
# `make check-format` runs this script.  CLANG_FORMAT names another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG_FORMAT=${CLANG_FORMAT:-/usr/bin/clang-format}
PGQ_FORMAT_SKIP=${PGQ_FORMAT_SKIP-src/api/dequeue.c src/api/complete.c src/api/enqueue.c src/api/statistics.c src/api/maintenance.c}
fix=no
files=()
for arg in "$@"; do
	case "$arg" in
		--fix) fix=yes ;;
		--all) PGQ_FORMAT_SKIP= ;;
		-*) echo "usage: $0 [--fix] [--all] [FILE...]" >&2; exit 2 ;;
		*) files+=("$arg") ;;
	esac
done
if [ ${#files[@]} -eq 0 ]; then
	while IFS= read -r f; do
		case " $PGQ_FORMAT_SKIP " in
			*" $f "*) ;;
			*) files+=("$f") ;;
		esac
	done < <(git ls-files 'src/*.[ch]' 'client/*.[ch]' 'test/*.[ch]')
fi
if ! command -v "$CLANG_FORMAT" >/dev/null; then
	echo "check_format.sh: $CLANG_FORMAT not found (apt-get install clang-format)" >&2
	exit 2
fi

bad=0
for f in "${files[@]}"; do
	if [ "$fix" = yes ]; then
		"$CLANG_FORMAT" -i --style=file "$f"
	elif ! "$CLANG_FORMAT" --style=file "$f" | cmp -s - "$f"; then
		echo "$f: not formatted (scripts/check_format.sh --fix $f)"
		bad=$((bad + 1))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "$bad of ${#files[@]} files not formatted"
	exit 1
fi
echo "${#files[@]} files formatted"
