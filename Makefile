# Makefile for the pgqueuer extension (PGXS)
#
#   make                 build the extension library
#   make install         install it into the PostgreSQL pointed to by PG_CONFIG
#   make test            build, install and run every test suite on throwaway
#                        servers (as an unprivileged user when run as root)

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

EXTENSION = pgqueuer
MODULE_big = pgqueuer

EXT_SRCS = $(wildcard src/extension/*.c)
CRON_SRCS = $(wildcard src/cron/*.c)
OBJS = $(EXT_SRCS:.c=.o) $(CRON_SRCS:.c=.o)

DATA = $(wildcard sql/pgqueuer--*.sql)

PG_CPPFLAGS = -Isrc -Isrc/extension -Isrc/cron
PG_CFLAGS = -Wall -Wmissing-prototypes -Wpointer-arith -Werror=vla \
	-Wendif-labels -Wmissing-format-attribute -Wformat-security

EXTRA_CLEAN = results regression.diffs regression.out tmp_check log \
	test/isolation/output_iso test/cron/test_cron

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks header dependencies only in servers built with
# --enable-depend: rebuild every object when a header of ours changes.
$(OBJS): $(wildcard src/extension/*.h src/cron/*.h)

.PHONY: test test-suites
# Every suite: the cron unit tests, pg_regress, isolation and TAP.
test:
	PG_CONFIG=$(PG_CONFIG) bash test/run_tests.sh

# Runs the suites in this tree, assuming the extension is installed and the
# current user may run initdb (used by test/run_tests.sh).
test-suites:
	PG_CONFIG=$(PG_CONFIG) bash test/run_suites.sh

.PHONY: demo
# The main job on a private, throwaway PostgreSQL (see scripts/demo.sh).
demo:
	PG_CONFIG=$(PG_CONFIG) bash scripts/demo.sh
