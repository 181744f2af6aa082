# Makefile for the pgqueuer extension (PGXS)
#
#   make                 build the extension library
#   make install         install it into the PostgreSQL pointed to by PG_CONFIG
#   make test            build, install and run every test suite on throwaway
#                        servers (as an unprivileged user when run as root)
#   make bench           benchmark against a bare SKIP LOCKED queue (test/bench)
#   make client          build libpgqueuer (build/libpgqueuer.{a,so}), the pgq
#                        CLI (build/pgq) and the example factory
#                        (build/examples/libmyjobs.so); `make` builds them too

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

EXTRA_CLEAN = results regression.diffs regression.out tmp_check log \
	test/isolation/output_iso test/cron/test_cron build

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks header dependencies only in servers built with
# --enable-depend: rebuild every object when a header of ours changes.
$(OBJS): $(wildcard src/common/*.h src/api/*.h src/worker/*.h src/cron/*.h)

# --- thin clients: libpgqueuer and pgq (plain C on libpq, not PGXS) ---------

PREFIX ?= /usr/local
CLIENT_CC ?= cc
CLIENT_CFLAGS ?= -O2 -g
CLIENT_WARN = -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes \
	-Wpointer-arith -Werror=vla -Wformat-security
LIBPQ_INC := $(shell $(PG_CONFIG) --includedir)
LIBPQ_LIB := $(shell $(PG_CONFIG) --libdir)
CLIENT_CPPFLAGS = -Iclient/lib -I$(LIBPQ_INC) -D_GNU_SOURCE
CLIENT_LIBS = -L$(LIBPQ_LIB) -lpq -pthread -lm

LIB_SRCS = $(wildcard client/lib/*.c)
LIB_OBJS = $(patsubst client/%.c,build/%.o,$(LIB_SRCS))
CLI_SRCS = $(wildcard client/cli/*.c)
CLI_OBJS = $(patsubst client/%.c,build/%.o,$(CLI_SRCS))
WEB_SRCS = $(wildcard client/web/*.c)
WEB_OBJS = $(patsubst client/%.c,build/%.o,$(WEB_SRCS)) build/web/assets.o
WEB_ASSETS = $(wildcard client/web/assets/*)
CLIENT_HDRS = $(wildcard client/lib/*.h client/cli/*.h client/web/*.h)

.PHONY: client install-client
all: client
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

build/libpgqueuer.so: $(LIB_OBJS)
	$(CLIENT_CC) -shared -o $@ $^ $(CLIENT_LIBS)

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

install: install-client
install-client: client
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 build/pgq $(DESTDIR)$(PREFIX)/bin/pgq
	install -m 644 build/libpgqueuer.a $(DESTDIR)$(PREFIX)/lib/libpgqueuer.a
	install -m 755 build/libpgqueuer.so $(DESTDIR)$(PREFIX)/lib/libpgqueuer.so
	install -m 644 client/lib/libpgqueuer.h $(DESTDIR)$(PREFIX)/include/libpgqueuer.h

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
