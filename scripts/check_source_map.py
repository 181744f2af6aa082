#!/usr/bin/python3
"""check_source_map.py -- the source map of docs/architecture.md is whole.

Usage: scripts/check_source_map.py [MAP]

Reads the section "## Source map" of MAP (default docs/architecture.md):
under each heading "### `DIR/` ..." a table whose first cells name files of
DIR in backquotes ("`a.c`, `a.h`").  Fails (exit 1, one line per problem)
when a source file that git tracks under src/ or client/ (.c, .h, .py,
.js, .css, .html) is named nowhere in the section, or when a file the
section names does not exist; prints "N files mapped" and exits 0
otherwise.  `make check-map` runs it.
"""

import os
import re
import subprocess
import sys

SOURCE_EXTENSIONS = (".c", ".h", ".py", ".js", ".css", ".html")
HEADING = re.compile(r"^### `([^`]+/)`")
NAME = re.compile(r"`([^`]+)`")


def mapped_files(text):
    """The paths named in the source map section of text, as a set."""
    start = text.find("\n## Source map\n")
    if start < 0:
        raise SystemExit("check_source_map: no \"## Source map\" section")
    section = text[start + 1:]
    end = section.find("\n## ", 1)
    if end >= 0:
        section = section[:end]
    paths = set()
    directory = None
    for line in section.splitlines():
        heading = HEADING.match(line)
        if heading:
            directory = heading.group(1)
        elif line.startswith("### "):
            directory = None
        elif directory and line.startswith("| `"):
            first_cell = line.split("|")[1]
            for name in NAME.findall(first_cell):
                paths.add(directory + name)
    return paths


def source_files():
    """The source files git tracks under src/ and client/."""
    out = subprocess.run(["git", "ls-files", "src", "client"], check=True,
                         capture_output=True, text=True).stdout
    return {p for p in out.splitlines() if p.endswith(SOURCE_EXTENSIONS)}


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    map_path = sys.argv[1] if len(sys.argv) > 1 else "docs/architecture.md"
    with open(map_path, encoding="utf-8") as f:
        named = mapped_files(f.read())
    problems = []
    for path in sorted(source_files() - named):
        problems.append(f"{path}: not in the source map of {map_path}")
    for path in sorted(named):
        if not os.path.exists(path):
            problems.append(f"{path}: named in the source map of {map_path}, but does not exist")
    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"{len(named)} files mapped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
