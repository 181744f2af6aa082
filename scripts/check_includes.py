#!/usr/bin/python3
"""check_includes.py -- each C file includes the headers of ours it uses.

Usage: scripts/check_includes.py [--skip FILE]... FILE...

For the extension's C files (src/): a header of ours (src/*/*.h) must be
included exactly when the file uses a name it declares (a function,
variable, macro, type or enum label), and a file always includes its own
header (foo.h for foo.c).  compat.h and the transitional umbrella pgqueuer.h
are not judged.  For the client files (client/): no server header
(postgres.h, fmgr.h, utils/..., ...), and every quoted include is a header
of the client tree.  Prints one line per problem and exits 1 when there is
one; prints "includes match their use in N files" and exits 0 otherwise.
`make check-includes` runs it.  The name matching is textual (comments and
string literals blanked), which is enough for this tree.
"""

import glob
import os
import re
import sys

SERVER_PREFIXES = ("access/", "catalog/", "commands/", "common/", "executor/",
                   "lib/", "mb/", "nodes/", "optimizer/", "parser/", "port/",
                   "postmaster/", "replication/", "storage/", "tcop/", "utils/")
SERVER_HEADERS = {"postgres.h", "postgres_fe.h", "c.h", "fmgr.h", "funcapi.h",
                  "miscadmin.h", "pgtime.h", "pg_config.h", "pgstat.h"}
NOT_JUDGED = {"compat.h", "pgqueuer.h"}


def blank(text):
    """Comments and string literals replaced by blanks."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def declared_names(path):
    """The names a header declares."""
    s = blank(open(path, encoding="utf-8").read())
    names = set(re.findall(r"#define\s+(\w+)", s))
    names |= set(re.findall(r"\}\s*(\w+)\s*;", s))
    names |= set(re.findall(r"typedef\s+[^;{]*?(\w+)\s*;", s))
    for m in re.finditer(r"extern\s+([^;]*);", s, flags=re.S):
        decl = m.group(1)
        fn = re.search(r"(\w+)\s*\(", decl)
        if fn:
            names.add(fn.group(1))
        else:
            var = re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", decl)
            if var:
                names.add(var.group(1))
    for m in re.finditer(r"enum\s+\w*\s*\{([^}]*)\}", s):
        names |= set(re.findall(r"\b([A-Z_][A-Z0-9_]+)\b", m.group(1)))
    return {n for n in names if not n.endswith("_H")}


def check_server_file(path, headers):
    """Problems of one extension C file."""
    text = open(path, encoding="utf-8").read()
    used = set(re.findall(r"\w+", blank(text)))
    included = set(re.findall(r'^#include "([^"]+)"', text, flags=re.M))
    own = os.path.basename(path)[:-2] + ".h"
    problems = []
    for header, names in sorted(headers.items()):
        if header in NOT_JUDGED:
            continue
        needed = bool(names & used) or header == own
        if needed and header not in included:
            problems.append("%s: uses %s but does not include it (%s)"
                            % (path, header, ", ".join(sorted(names & used)[:3]) or "its own header"))
        elif not needed and header in included:
            problems.append("%s: includes %s but uses nothing it declares" % (path, header))
    return problems


def check_client_file(path, client_headers):
    """Problems of one client file."""
    problems = []
    for quoted, name in re.findall(r'^#include\s*([<"])([^>"]+)[>"]',
                                   open(path, encoding="utf-8").read(), flags=re.M):
        if name in SERVER_HEADERS or name.startswith(SERVER_PREFIXES):
            problems.append("%s: includes the server header %s" % (path, name))
        elif quoted == '"' and os.path.basename(name) not in client_headers:
            problems.append("%s: includes \"%s\", which is not a client header" % (path, name))
    return problems


def main(argv):
    skip = set()
    files = []
    while argv:
        if argv[0] == "--skip" and len(argv) > 1:
            skip.add(argv[1])
            argv = argv[2:]
        else:
            files.append(argv.pop(0))
    if not files:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    headers = {os.path.basename(h): declared_names(h) for h in glob.glob("src/*/*.h")}
    client_headers = {os.path.basename(h) for h in glob.glob("client/**/*.h", recursive=True)}
    client_headers.add("assets.h")
    problems = []
    checked = 0
    for path in files:
        if path in skip:
            continue
        checked += 1
        if path.startswith("src/") and path.endswith(".c"):
            problems += check_server_file(path, headers)
        elif path.startswith("client/"):
            problems += check_client_file(path, client_headers)
    for p in problems:
        print(p)
    if problems:
        return 1
    print("includes match their use in %d files" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
