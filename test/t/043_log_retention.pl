
# Copyright (c) pgqueuer contributors
#
# 043_log_retention.pl
#	Retention of the log by day slot (src/api/log_partitions.c) in a running
#	server: the background worker empties a day slot whose rows are past
#	pgqueuer.log_retention; a slot that another transaction is reading is
#	not waited for (run_maintenance() returns, the rows stay, enqueue goes
#	on) and is emptied once that transaction ends; a slot shared with rows
#	younger than the retention is never emptied, its old rows are deleted
#	one by one.
#
# Every wait polls for its effect; nothing sleeps a guessed time.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('log_retention');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE ret');

# query(SQL): safe_psql shorthand on database ret
sub query
{
	return $node->safe_psql('ret', $_[0]);
}

query('CREATE EXTENSION pgqueuer');

# the test's "now": the rows and the slots they are expected in are both
# computed from it, so that a run across midnight (UTC) agrees with itself
my $t0 = query('SELECT now()');

# the day slot of $t0 - DAYS days, as the partition key computes it
sub slot_of
{
	my ($days) = @_;
	return query(qq{SELECT 'pgqueuer_log_s' || to_char((date_part('day',
		'$t0'::timestamptz - interval '$days days' - '2000-01-01 00:00:00+00'::timestamptz))::int % 16, 'FM00')});
}

# old_rows(DAYS, N): N log rows written DAYS days before $t0, as pgqueuer writes
# them (counted by time); returns the partitions they went to, with counts
sub old_rows
{
	my ($days, $n) = @_;
	return query(qq{WITH ins AS (
		INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
		SELECT '$t0'::timestamptz - interval '$days days', g, 'successful', 0, 'old', NULL
		FROM generate_series(1, $n) g
		RETURNING tableoid::regclass AS part)
		SELECT part, count(*) FROM ins GROUP BY part});
}

# --- the worker empties a day past the retention ----------------------------------

my $slot10 = slot_of(10);
is(old_rows(10, 1000), "pgqueuer.$slot10|1000", "1000 rows of ten days ago go to $slot10");
ok( $node->poll_query_until('ret', "SELECT count(*) = 0 FROM pgqueuer.$slot10"),
	'the background worker empties the slot (retention 7 days)');
is(query("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE entrypoint = 'old'"), '0',
	'... and no row of that day is left');

# --- a slot in use is not waited for ----------------------------------------------

# the worker is paused, so that only run_maintenance() below tries the slot
# while it is in use
$node->safe_psql('postgres', 'ALTER SYSTEM SET pgqueuer.enabled = off; SELECT pg_reload_conf()');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'ret'"),
	'the background worker is paused');
old_rows(10, 500);
my $reader = $node->background_psql('ret');
$reader->query_safe('BEGIN');
is($reader->query_safe("SELECT count(*) FROM pgqueuer.$slot10"), '500',
	'a transaction reads the slot and keeps it locked');

# run_maintenance() tries the slot, gives up after its lock timeout and
# returns; the rows stay
is(query("SELECT rows FROM pgqueuer.run_maintenance() WHERE duty = 'retention'"), '0',
	'run_maintenance() returns without emptying the slot in use');
is(query("SELECT count(*) FROM pgqueuer.$slot10"), '500', '... whose rows stay');
like(query("SELECT pgqueuer.enqueue('fresh')"), qr/^\d+$/,
	'enqueue (writing today\'s slot) is not held up meanwhile');
my $log = slurp_file($node->logfile);
unlike($log, qr/could not empty log slot/, 'a lock timeout is not reported as a problem');

$reader->query_safe('COMMIT');
$reader->quit;
$node->safe_psql('postgres', 'ALTER SYSTEM RESET pgqueuer.enabled; SELECT pg_reload_conf()');
ok( $node->poll_query_until('ret', "SELECT count(*) = 0 FROM pgqueuer.$slot10"),
	'once the reader commits, the resumed worker empties the slot');

# --- a slot shared with younger rows: deleted row by row ------------------------

my $slot20 = slot_of(20);
is(slot_of(4), $slot20, 'twenty and four days ago share a slot');
old_rows(4, 2);
old_rows(20, 300);
ok( $node->poll_query_until('ret',
		"SELECT count(*) = 0 FROM pgqueuer.pgqueuer_log WHERE created < now() - interval '7 days'"),
	'the rows of twenty days ago are deleted');
is(query("SELECT count(*) FROM pgqueuer.$slot20"), '2',
	'... one by one: the two rows of four days ago are still there');
is(query("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'fresh'"), '1',
	'the fresh job is untouched');

$node->stop;
done_testing();
