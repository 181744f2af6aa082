#!/usr/bin/python3
"""check_function_length.py -- report C functions longer than a limit.

Usage: scripts/check_function_length.py [--limit N] FILE...

A function's length is the number of lines from the line of its name to its
closing brace.  A function over the limit (80 unless --limit says otherwise)
passes only when the comment just before its definition says why, with a
sentence containing "Long because".  Prints one line per offending function
and exits 1 when there is one; prints "no function over N lines without a
reason among M files" and exits 0 otherwise.  `make check-length` runs it on
the extension and the clients.

The parse is a plain brace match: comments, string and character literals
and preprocessor lines are blanked first, then every brace block at file
level whose head has a parenthesis and no "=" is a function definition.
That is enough for this tree's C, which does not hide braces in macros.
"""

import re
import sys

REASON = "Long because"


def blank(text):
    """Return text with comments, literals and preprocessor lines replaced by
    spaces (newlines kept, so offsets and line numbers stay the same)."""
    out = list(text)
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            # a preprocessor line, with its backslash continuations
            j = i
            while j < n and not (text[j] == "\n" and text[j - 1] != "\\"):
                j += 1
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
            continue
        if c == "\n":
            at_line_start = True
            i += 1
            continue
        if not c.isspace():
            at_line_start = False
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, n)):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out)


def header_comment(text, start):
    """The block comment that ends just before offset start, or ""."""
    j = start
    while j > 0 and text[j - 1].isspace():
        j -= 1
    if not text.endswith("*/", 0, j):
        return ""
    k = text.rfind("/*", 0, j - 2)
    return text[k:j] if k >= 0 else ""


def functions(text):
    """Yield (name, first line, last line, header comment) of each function."""
    code = blank(text)
    depth = 0
    head_start = 0          # where the current file-level declaration begins
    open_at = None
    for i, c in enumerate(code):
        if c == "{":
            if depth == 0:
                open_at = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and open_at is not None:
                head = code[head_start:open_at]
                m = re.search(r"(\w+)\s*\(", head)
                if m and "=" not in head and not re.match(
                        r"\s*(typedef|struct|union|enum)\b", head):
                    start = head_start + len(head) - len(head.lstrip())
                    name_at = head_start + m.start(1)
                    yield (m.group(1), text.count("\n", 0, name_at) + 1,
                           text.count("\n", 0, i) + 1,
                           header_comment(text, start))
                open_at = None
                head_start = i + 1
        elif c == ";" and depth == 0:
            head_start = i + 1


def main(argv):
    limit = 80
    if len(argv) >= 2 and argv[0] == "--limit":
        limit = int(argv[1])
        argv = argv[2:]
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bad = 0
    for path in argv:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for name, first, last, comment in functions(text):
            length = last - first + 1
            said = " ".join(re.sub(r"\n\s*\*", " ", comment).split()).lower()
            if length > limit and REASON.lower() not in said:
                print("%s:%d: %s() is %d lines (limit %d): split it, or say why in "
                      "its header comment (\"%s ...\")" % (path, first, name, length,
                                                          limit, REASON))
                bad += 1
    if bad:
        return 1
    print("no function over %d lines without a reason among %d files" % (limit, len(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
