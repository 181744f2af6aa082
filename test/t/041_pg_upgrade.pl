
# Copyright (c) pgqueuer contributors
#
# 041_pg_upgrade.pl
#	pg_upgrade of a cluster using pgqueuer to a newer major (15 to 18 in
#	make test and CI).  The old cluster holds queued, deferred, held
#	(failed) and picked jobs whose worker is gone, server-fired schedules,
#	registry rows, log (in its day slots), statistics and the balanced
#	durability level (log and statistics unlogged).  After pg_upgrade, with the background worker
#	still off, every row, setting and table persistence is as before and
#	verify() is clean; once the worker is switched on it expires the dead
#	worker's leases and fires the due schedule, and a pgq run worker drains
#	every job, including the requeued held ones.  Ids continue above the old
#	ones.
#
#	The two installations come from PGQ_UPGRADE_OLD_BINDIR and
#	PGQ_UPGRADE_NEW_BINDIR (test/run_tests.sh builds the extension for the
#	second major); without them the test is skipped.
#
# Every wait polls for its effect; nothing sleeps a guessed time.

use strict;
use warnings;

use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_bindir = $ENV{PGQ_UPGRADE_OLD_BINDIR} // '';
my $new_bindir = $ENV{PGQ_UPGRADE_NEW_BINDIR} // '';
my $pgq = $ENV{PGQ_BIN};
plan skip_all =>
  'no second PostgreSQL major with pgqueuer installed (PGQ_UPGRADE_OLD_BINDIR / PGQ_UPGRADE_NEW_BINDIR; make test sets them when /var/cache/pg-server/18 exists)'
  unless -x "$old_bindir/postgres" && -x "$new_bindir/pg_upgrade";
plan skip_all => 'PGQ_BIN must name the pgq binary' unless $pgq && -x $pgq;

my $old = PostgreSQL::Test::Cluster->new('old', install_path => dirname($old_bindir));
my $new = PostgreSQL::Test::Cluster->new('new', install_path => dirname($new_bindir));
cmp_ok($old->pg_version->major, '<', $new->pg_version->major,
	'upgrading from ' . $old->pg_version . ' to ' . $new->pg_version);

$old->init;
# 18's initdb enables data checksums by default; the old cluster has none
$new->init(extra => $new->pg_version >= 18 ? ['--no-data-checksums'] : []);
for my $node ($old, $new)
{
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
	$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
}
# no background duty may change the old cluster while it is being described
$old->append_conf('postgresql.conf', "pgqueuer.enabled = off");
$old->start;

# query(NODE, SQL): safe_psql on database app
sub query
{
	my ($node, $sql) = @_;
	return $node->safe_psql('app', $sql);
}

# snapshot(NODE): what pg_upgrade must keep, as text
sub snapshot
{
	my ($node) = @_;
	my %s;
	$s{extversion} = query($node, "SELECT extversion FROM pg_extension WHERE extname = 'pgqueuer'");
	$s{jobs} = query($node, q{
		SELECT count(*), md5(string_agg(concat_ws('|', id, priority, queue_manager_id, created, updated,
				heartbeat, execute_after, status, entrypoint, dedupe_key, payload, headers, attempts),
			E'\n' ORDER BY id))
		FROM pgqueuer.pgqueuer});
	$s{per_status} = query($node, q{
		SELECT entrypoint, status, count(*) FROM pgqueuer.pgqueuer GROUP BY 1, 2 ORDER BY 1, 2});
	$s{log} = query($node, q{
		SELECT count(*), md5(string_agg(concat_ws('|', id, created, job_id, status, priority,
				entrypoint, traceback, aggregated), E'\n' ORDER BY id))
		FROM pgqueuer.pgqueuer_log});
	$s{statistics} = query($node, q{
		SELECT count(*), sum(count), md5(string_agg(concat_ws('|', id, created, count, priority,
				status, entrypoint), E'\n' ORDER BY id))
		FROM pgqueuer.pgqueuer_statistics});
	$s{schedules} = query($node, q{
		SELECT id, expression, entrypoint, next_run, last_run, status, payload, priority, server_fired
		FROM pgqueuer.pgqueuer_schedules ORDER BY id});
	$s{registry} = query($node,
		'SELECT e::text FROM pgqueuer.pgqueuer_entrypoints e ORDER BY entrypoint');
	$s{settings} = query($node,
		"SELECT name, value FROM pgqueuer.pgqueuer_settings WHERE name IN ('durability', 'autovac') ORDER BY name");
	$s{persistence} = query($node, q{
		SELECT string_agg(relname || '=' || relpersistence::text
			|| coalesce(' ' || array_to_string(reloptions, ','), ''), E'\n' ORDER BY relname)
		FROM pg_class WHERE relnamespace = 'pgqueuer'::regnamespace AND relkind = 'r'});
	$s{sequences} = query($node, q{
		SELECT (SELECT last_value FROM pgqueuer.pgqueuer_id_seq),
			   (SELECT last_value FROM pgqueuer.pgqueuer_log_id_seq),
			   (SELECT last_value FROM pgqueuer.pgqueuer_statistics_id_seq),
			   (SELECT last_value FROM pgqueuer.pgqueuer_schedules_id_seq)});
	return \%s;
}

# --- the old cluster --------------------------------------------------------------

$old->safe_psql('postgres', 'CREATE DATABASE app');
query($old, 'CREATE EXTENSION pgqueuer');
query($old, q{
	SELECT pgqueuer.register_entrypoint('work', concurrency_limit => 4, lease_timeout => '1 second');
	SELECT pgqueuer.register_entrypoint('flaky', max_attempts => 0, on_failure => 'hold');
	SELECT pgqueuer.set_durability('balanced');
	SELECT pgqueuer.autovac();
	SELECT pgqueuer.schedule('tick', '* * * * * *');
	SELECT pgqueuer.schedule('nightly', '0 3 * * *', convert_to('n', 'UTF8'), 2);
});
is( query($old, q{
		SELECT count(*) FROM pgqueuer.enqueue_batch(
			ARRAY(SELECT CASE WHEN g <= 10 THEN 'flaky' WHEN g <= 490 THEN 'work' ELSE 'later' END
				  FROM generate_series(1, 500) g ORDER BY g),
			ARRAY(SELECT convert_to('job ' || g, 'UTF8') FROM generate_series(1, 500) g ORDER BY g),
			ARRAY(SELECT g % 3 FROM generate_series(1, 500) g ORDER BY g),
			ARRAY(SELECT CASE WHEN g > 490 THEN interval '1 day' ELSE interval '0' END
				  FROM generate_series(1, 500) g ORDER BY g))
		AS id WHERE id IS NOT NULL}),
	'500', 'old: 500 jobs enqueued (10 of them, entrypoint later, deferred by a day)');
is( query($old, q{
		SELECT count(*) FROM pgqueuer.complete(
			ARRAY(SELECT id FROM pgqueuer.dequeue(10, ARRAY['flaky'], gen_random_uuid())),
			array_fill('exception'::pgqueuer.pgqueuer_status, ARRAY[10]),
			array_fill('{"exception_type": "ValueError"}'::jsonb, ARRAY[10]))}),
	'10', 'old: ten flaky jobs failed and are held');
is( query($old, q{
		SELECT count(*) FROM pgqueuer.complete(
			ARRAY(SELECT id FROM pgqueuer.dequeue(4, ARRAY['work'], gen_random_uuid())),
			array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[4]))}),
	'4', 'old: four work jobs done');
is( query($old,
		"SELECT count(*) FROM pgqueuer.dequeue(4, ARRAY['work'], '44444444-4444-4444-4444-444444444444')"),
	'4', 'old: four work jobs picked by a worker that will never come back');
cmp_ok(query($old, 'SELECT count(*) FROM pgqueuer.log_statistics()'), '>', 0,
	'old: statistics folded');
my $before = snapshot($old);
is($before->{per_status}, "flaky|failed|10\nlater|queued|10\nwork|queued|472\nwork|picked|4",
	'old: 482 queued (10 deferred), 4 picked, 10 held jobs');
like($before->{persistence}, qr/^pgqueuer=p [^\n]*fillfactor=70/m, 'old: autovac applied');
like($before->{persistence}, qr/^pgqueuer_log_default=u/m, 'old: balanced durability: the log is unlogged');
like($before->{persistence}, qr/^pgqueuer_log_s15=u [^\n]*autovacuum_vacuum_scale_factor=0\.95/m,
	'old: the log\'s day slots are unlogged, with autovac\'s parameters');
is(query($old, 'SELECT count(*) FROM pgqueuer.pgqueuer_log_default'), '0',
	'old: the log rows are in day slots');
is(query($old, q{SELECT string_agg(v, E'\n') FROM pgqueuer.verify() v}), '', 'old: verify() is clean');

# Not pgqueuer's: the minor releases 15.20 and 17.12 keep a version per
# column (CVE-2026-6460) in attoptions as "pg_attver=..."; a new major
# released before them (18.6 here) has no such option, and its pg_dump
# copies it into ALTER COLUMN ... SET, which its server refuses, so
# pg_upgrade fails on any table.  Only for that pairing, and only because no
# newer 18 is available here: drop the option from the old cluster's user
# columns first (pgqueuer's tables hold no composite values, whose versions
# it guards).  docs/install.md describes this.
my $new_bki = slurp_file($new->config_data('--sharedir') . '/postgres.bki');
if ($new_bki !~ /binary_upgrade_set_next_attribute_versions/)
{
	my $n = $old->safe_psql('app', q{
		WITH s AS (
			UPDATE pg_catalog.pg_attribute
			SET attoptions = NULLIF(ARRAY(SELECT o FROM unnest(attoptions) o
										  WHERE o NOT LIKE 'pg\_attver=%'), '{}')
			WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg\_attver=%'
			RETURNING 1)
		SELECT count(*) FROM s});
	note("the new major predates column versions: removed pg_attver from $n columns of the old cluster");
}
$old->stop;

# --- pg_upgrade -------------------------------------------------------------------------

# (the current directory stays: newer Cluster.pm names data directories
# relative to it; pg_upgrade writes its logs into the new data directory)
$new->command_ok(
	[
		'pg_upgrade', '--no-sync',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $old_bindir, '-B', $new_bindir,
		'-s', $new->host, '-p', $old->port, '-P', $new->port
	],
	'pg_upgrade ' . $old->pg_version->major . ' -> ' . $new->pg_version->major);

# first with the background worker off: nothing may change the rows yet
$new->append_conf('postgresql.conf', "pgqueuer.enabled = off");
$new->start;
my $after = snapshot($new);
for my $k (sort keys %$before)
{
	is($after->{$k}, $before->{$k}, "new: $k as before the upgrade");
}
is(query($new, q{SELECT string_agg(v, E'\n') FROM pgqueuer.verify() v}), '', 'new: verify() is clean');

# --- the background worker runs on the new major ----------------------------------------

$new->append_conf('postgresql.conf', "pgqueuer.enabled = on");
$new->reload;
ok( $new->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'app'"),
	'new: the background worker serves database app');
ok( $new->poll_query_until('app',
		"SELECT count(*) = 0 FROM pgqueuer.pgqueuer WHERE status = 'picked'"),
	'new: it returned the dead worker\'s expired leases to the queue');
is( query($new, q{
		SELECT count(*) FROM pgqueuer.pgqueuer_log
		WHERE status = 'queued' AND traceback->>'exception_type' = 'LeaseExpired'}),
	'4', '... logged as LeaseExpired');
ok( $new->poll_query_until('app',
		"SELECT count(*) >= 1 FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'"),
	'new: it fires the due schedule');

is(query($new, q{SELECT count(*) FROM pgqueuer.requeue(ARRAY(
		SELECT id FROM pgqueuer.pgqueuer WHERE status = 'failed'))}),
	'10', 'new: the held jobs are requeued');
my ($seq_before) = split /\|/, $before->{sequences};
cmp_ok(query($new, "SELECT pgqueuer.enqueue('work')"), '>', $seq_before,
	'new: a new job id continues above the old ones');

# a worker drains every due job (not the schedule's, which keep coming)
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ $pgq, '--pg-dsn', $new->connstr('app'), 'run', '--mode', 'drain',
	  '--exec', 'work=cat >/dev/null', '--exec', 'flaky=cat >/dev/null' ],
	'<', \'', '>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok($ok, 'new: pgq run --mode drain exits 0');
like($out . $err, qr/finished \(drained\): dequeued \d+, successful \d+,/, '... having drained the queue');
is( query($new, q{
		SELECT entrypoint, status, count(*) FROM pgqueuer.pgqueuer
		WHERE entrypoint <> 'tick' GROUP BY 1, 2 ORDER BY 1, 2}),
	'later|queued|10', 'new: only the ten deferred jobs are left');
is( query($new, q{
		SELECT count(DISTINCT job_id) FROM pgqueuer.pgqueuer_log
		WHERE status = 'successful' AND entrypoint IN ('work', 'flaky')}),
	'491', 'new: every due job ran once: 472 queued, 4 expired and 1 new work jobs, 10 flaky (and 4 done before)');

$new->stop;
done_testing();
