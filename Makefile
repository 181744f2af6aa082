# Makefile for the pgqueuer extension (PGXS)
#
#   make                 build the extension library and the clients
#   make install         install the extension (library, control file, SQL
#                        scripts) into the PostgreSQL pointed to by PG_CONFIG
#   make install-client  install libpgqueuer (static and shared), its header,
#                        its pkg-config file libpgqueuer.pc and pgq under
#                        PREFIX (default /usr/local)
#   make test            build, install and run every test suite on throwaway
#                        servers (as an unprivileged user when run as root)
#   make installcheck    PGXS's standard target: the regression, isolation and
#                        TAP suites against the installed server and binaries
#                        of PG_CONFIG (see docs/testing.md for its setup)
#   make prove_installcheck   the TAP suite alone, likewise
#   make bench           benchmark against a bare SKIP LOCKED queue (test/bench)
#   make client          build libpgqueuer (build/libpgqueuer.{a,so}), the pgq
#                        CLI (build/pgq) and the example factory
#                        (build/examples/libmyjobs.so); `make` builds them too
#
# PG_CONFIG selects the server major (15, 17, 18: docs/install.md); the
# clients always use this machine's libpq, whatever the server's major.

PG_CONFIG ?= pg_config

EXTENSION = pgqueuer
MODULE_big = pgqueuer

EXT_SRCS = $(wildcard src/common/*.c src/api/*.c src/worker/*.c)
CRON_SRCS = $(wildcard src/cron/*.c)
OBJS = $(EXT_SRCS:.c=.o) $(CRON_SRCS:.c=.o)

DATA = $(wildcard sql/pgqueuer--*.sql)

PG_CPPFLAGS = -Isrc/common -Isrc/api -Isrc/worker -Isrc/cron
PG_CFLAGS = -Wall -Wmissing-prototypes -Wpointer-arith -Werror=vla \
	-Wendif-labels -Wmissing-format-attribute -Wformat-security

# The schema version this library serves, from the control file (one source).
PGQ_VERSION := $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" pgqueuer.control)
PG_CPPFLAGS += -DPGQ_SCHEMA_VERSION='"$(PGQ_VERSION)"'

# PGXS's standard test targets (make installcheck, make prove_installcheck):
# the same suites as make test, against the installed server.
REGRESS = $(shell sed -e 's/\#.*//' test/regress_schedule)
ISOLATION = $(basename $(notdir $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation
TAP_TESTS = 1
PROVE_TESTS = $(wildcard test/t/*.pl)
PROVE_FLAGS = -I test/t
REGRESS_PREP = client

EXTRA_CLEAN = results regression.diffs regression.out tmp_check log output_iso \
	test/isolation/output_iso test/cron/test_cron build

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks header dependencies only in servers built with
# --enable-depend: rebuild every object when a header of ours changes.
$(OBJS): $(wildcard src/common/*.h src/api/*.h src/worker/*.h src/cron/*.h)

# Objects built for one major must not be linked for another: the stamp
# names the server the objects were built for and changes with PG_CONFIG.
PGQ_TARGET := $(shell $(PG_CONFIG) --version) $(shell $(PG_CONFIG) --includedir-server)
$(shell mkdir -p build; [ "$$(cat build/pg-target 2>/dev/null)" = '$(PGQ_TARGET)' ] || echo '$(PGQ_TARGET)' > build/pg-target)
$(OBJS) $(OBJS:.o=.bc): build/pg-target

# What the TAP tests find beside the installed server in installcheck.
installcheck prove_installcheck: export PGQ_BIN = $(CURDIR)/build/pgq
installcheck prove_installcheck: export PGQ_FACTORY = $(CURDIR)/build/examples/libmyjobs.so
installcheck prove_installcheck: export PGQ_TOP = $(CURDIR)

.PHONY: prove_installcheck
prove_installcheck: client
	$(prove_installcheck)

# --- thin clients: libpgqueuer and pgq (plain C on libpq, not PGXS) ---------

PREFIX ?= /usr/local
CLIENT_CC ?= cc
CLIENT_CFLAGS ?= -O2 -g
CLIENT_WARN = -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes \
	-Wpointer-arith -Werror=vla -Wformat-security
# This machine's libpq (libpq-dev), never the libpq of PG_CONFIG's tree:
# its pkg-config file, else the pg_config on PATH.
LIBPQ_CFLAGS ?= $(shell pkg-config --cflags libpq 2>/dev/null || echo -I`pg_config --includedir`)
LIBPQ_LIBS ?= $(shell pkg-config --libs libpq 2>/dev/null || echo -L`pg_config --libdir` -lpq)
CLIENT_CPPFLAGS = -Iclient/lib $(LIBPQ_CFLAGS) -D_GNU_SOURCE
CLIENT_LIBS = $(LIBPQ_LIBS) -pthread -lm

LIB_SRCS = $(wildcard client/lib/*.c)
LIB_OBJS = $(patsubst client/%.c,build/%.o,$(LIB_SRCS))
CLI_SRCS = $(wildcard client/cli/*.c)
CLI_OBJS = $(patsubst client/%.c,build/%.o,$(CLI_SRCS))
WEB_SRCS = $(wildcard client/web/*.c)
WEB_OBJS = $(patsubst client/%.c,build/%.o,$(WEB_SRCS)) build/web/assets.o
WEB_ASSETS = $(wildcard client/web/assets/*)
CLIENT_HDRS = $(wildcard client/lib/*.h client/cli/*.h client/web/*.h)

.PHONY: client install-client
# PGQ_BUILD_CLIENT=no: the extension alone (test/run_tests.sh's second major)
PGQ_BUILD_CLIENT ?= yes
ifeq ($(PGQ_BUILD_CLIENT),yes)
all: client
endif
client: build/libpgqueuer.a build/libpgqueuer.so build/pgq build/examples/libmyjobs.so \
	build/test/test_libpgqueuer

build/lib/%.o: client/lib/%.c $(CLIENT_HDRS)
	@mkdir -p $(dir $@)
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_WARN) -fPIC -pthread $(CLIENT_CPPFLAGS) -c -o $@ $<

build/cli/%.o: client/cli/%.c $(CLIENT_HDRS)
	@mkdir -p $(dir $@)
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_WARN) -pthread $(CLIENT_CPPFLAGS) -Iclient/cli -c -o $@ $<

# pgq web (client/web): libmicrohttpd, and the page compiled in
build/web/%.o: client/web/%.c $(CLIENT_HDRS)
	@mkdir -p $(dir $@)
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_WARN) -pthread $(CLIENT_CPPFLAGS) -Iclient/cli -Iclient/web -c -o $@ $<

build/web/assets.c: client/web/embed_assets.py $(WEB_ASSETS)
	@mkdir -p $(dir $@)
	/usr/bin/python3 client/web/embed_assets.py $@ $(WEB_ASSETS)

build/web/assets.o: build/web/assets.c client/web/web.h
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_WARN) -pthread $(CLIENT_CPPFLAGS) -Iclient/web -c -o $@ $<

build/libpgqueuer.a: $(LIB_OBJS)
	@mkdir -p build
	rm -f $@
	ar rcs $@ $^

# The shared library carries the soname of its ABI version; the build tree
# has the usual symlink beside it.
LIB_SOVERSION = 1
build/libpgqueuer.so: build/libpgqueuer.so.$(LIB_SOVERSION)
	ln -sf libpgqueuer.so.$(LIB_SOVERSION) $@

build/libpgqueuer.so.$(LIB_SOVERSION): $(LIB_OBJS)
	$(CLIENT_CC) -shared -Wl,-soname,libpgqueuer.so.$(LIB_SOVERSION) -o $@ $^ $(CLIENT_LIBS)

# pgq links the library statically, so it runs from the build tree as is;
# -rdynamic lets a factory .so call libpgqueuer's functions inside pgq.
build/pgq: $(CLI_OBJS) $(WEB_OBJS) build/libpgqueuer.a
	$(CLIENT_CC) -rdynamic -o $@ $(CLI_OBJS) $(WEB_OBJS) -Wl,--whole-archive build/libpgqueuer.a \
		-Wl,--no-whole-archive $(CLIENT_LIBS) -lmicrohttpd -ldl

build/examples/libmyjobs.so: client/examples/factory/myjobs.c client/lib/libpgqueuer.h
	@mkdir -p $(dir $@)
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_WARN) -fPIC -shared $(CLIENT_CPPFLAGS) -o $@ $<

# libpgqueuer's API tests, run by test/t/021_pgq_run.pl (found beside pgq)
build/test/test_libpgqueuer: test/client/test_libpgqueuer.c build/libpgqueuer.a client/lib/libpgqueuer.h
	@mkdir -p $(dir $@)
	$(CLIENT_CC) $(CLIENT_CFLAGS) $(CLIENT_WARN) -pthread $(CLIENT_CPPFLAGS) -o $@ $< \
		build/libpgqueuer.a $(CLIENT_LIBS)

# pkg-config file of the installed library (libpq comes from its own .pc).
build/libpgqueuer.pc: pgqueuer.control Makefile
	@mkdir -p build
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
		'Name: libpgqueuer' \
		'Description: C worker and producer library of the pgqueuer PostgreSQL extension' \
		'Version: $(PGQ_VERSION)' \
		'Requires: libpq' \
		'Libs: -L$${libdir} -lpgqueuer' \
		'Libs.private: -pthread -lm' \
		'Cflags: -I$${includedir}' >$@

BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

install-client: client build/libpgqueuer.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 build/pgq $(DESTDIR)$(BINDIR)/pgq
	install -m 644 build/libpgqueuer.a $(DESTDIR)$(LIBDIR)/libpgqueuer.a
	install -m 755 build/libpgqueuer.so.$(LIB_SOVERSION) $(DESTDIR)$(LIBDIR)/libpgqueuer.so.$(LIB_SOVERSION)
	ln -sf libpgqueuer.so.$(LIB_SOVERSION) $(DESTDIR)$(LIBDIR)/libpgqueuer.so
	install -m 644 client/lib/libpgqueuer.h $(DESTDIR)$(INCLUDEDIR)/libpgqueuer.h
	install -m 644 build/libpgqueuer.pc $(DESTDIR)$(PKGCONFIGDIR)/libpgqueuer.pc

.PHONY: test test-suites
# Every suite: the cron unit tests, pg_regress, isolation and TAP.
test:
	PG_CONFIG=$(PG_CONFIG) bash test/run_tests.sh

# Runs the suites in this tree, assuming the extension is installed and the
# current user may run initdb (used by test/run_tests.sh).
test-suites:
	PG_CONFIG=$(PG_CONFIG) bash test/run_suites.sh

.PHONY: bench
# pgqueuer against a bare SKIP LOCKED queue on a throwaway server; not a test.
bench: client
	PG_CONFIG=$(PG_CONFIG) bash test/bench/run_bench.sh

.PHONY: demo
# The main job on a private, throwaway PostgreSQL (see scripts/demo.sh).
demo:
	PG_CONFIG=$(PG_CONFIG) bash scripts/demo.sh

.PHONY: check-cycles
# Call circles between the source files of each component (scripts/check_cycles.py).
check-cycles: all
	/usr/bin/python3 scripts/check_cycles.py $(OBJS)
	/usr/bin/python3 scripts/check_cycles.py $(LIB_OBJS)
	/usr/bin/python3 scripts/check_cycles.py $(CLI_OBJS) $(WEB_OBJS)

# Every C file of the extension and the clients.
PGQ_C_FILES = $(EXT_SRCS) $(CRON_SRCS) $(LIB_SRCS) $(CLI_SRCS) $(WEB_SRCS) \
	client/examples/factory/myjobs.c

.PHONY: check-length
# No C function over 80 lines without a "Long because" in its header comment.
check-length:
	/usr/bin/python3 scripts/check_function_length.py $(PGQ_C_FILES)

.PHONY: check-format
# The C files formatted as .clang-format says (scripts/check_format.sh).
check-format:
	bash scripts/check_format.sh

.PHONY: check-map
# Every source file under src/ and client/ is in the source map of
# docs/architecture.md, and the map names no file that is gone
# (scripts/check_source_map.py).
check-map:
	/usr/bin/python3 scripts/check_source_map.py

.PHONY: check-includes
# Each extension C file includes exactly the headers of ours it uses; the
# clients include no server header (scripts/check_includes.py).
check-includes:
	/usr/bin/python3 scripts/check_includes.py \
		$(EXT_SRCS) $(CRON_SRCS) $(LIB_SRCS) $(CLI_SRCS) $(WEB_SRCS) $(CLIENT_HDRS) \
		client/examples/factory/myjobs.c
