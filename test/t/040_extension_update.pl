
# Copyright (c) pgqueuer contributors
#
# 040_extension_update.pl
#	ALTER EXTENSION pgqueuer UPDATE from 1.0 to the current version (1.2) on a live queue, and the
#	library's schema-version check.
#
#	A database gets the extension at version 1.0 under the current library
#	(the state between a package upgrade and ALTER EXTENSION ... UPDATE): the
#	1.0 SQL functions keep working, while the background worker logs that
#	the update is pending and waits (a schedule due every second does not
#	fire).  The database is filled with queued, deferred, held and picked
#	jobs (a worker holds five, dequeued as a 1.0 client does: the 1.1
#	clients call functions only 1.1 has), schedules, registry rows, log,
#	statistics and settings; then ALTER EXTENSION pgqueuer UPDATE runs under
#	the busy worker.  Afterwards every row is as before, that worker's
#	heartbeats and completions of its jobs still work (fenced), a pgq run
#	worker drains the rest under the registry's concurrency limit, the
#	background worker resumes
#	(the schedule fires), and pg_dump --schema-only --binary-upgrade (which
#	lists every member object) of the updated database equals that of a
#	fresh CREATE EXTENSION pgqueuer, OIDs aside.
#
#	A schema version the library does not serve (simulated by rewriting
#	pg_extension.extversion and restarting, as after installing a
#	mismatched package) is refused by every SQL function with SQLSTATE
#	55000 and a hint, and makes the background worker log why it waits.
#
# Every wait polls for its effect; nothing sleeps a guessed time.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $pgq = $ENV{PGQ_BIN};
plan skip_all => 'PGQ_BIN must name the pgq binary' unless $pgq && -x $pgq;

my $node = PostgreSQL::Test::Cluster->new('ext_update');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;

# query(DB, SQL): safe_psql shorthand
sub query
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# wait_for(DB, SQL, WHAT): poll until SQL returns true, as one test
sub wait_for
{
	my ($db, $sql, $what) = @_;
	ok($node->poll_query_until($db, $sql), $what);
}

# wait_log(REGEX, OFFSET, WHAT): poll the server log from OFFSET until REGEX
# matches, as one test; returns the new offset
sub wait_log
{
	my ($re, $offset, $what) = @_;
	my $end = time() + $deadline_s;
	while (time() < $end)
	{
		my $log = slurp_file($node->logfile, $offset);
		if ($log =~ $re)
		{
			pass($what);
			return $offset + $+[0];
		}
		usleep(50_000);
	}
	fail($what);
	return $offset;
}

# snapshot(DB): everything that existed before the update, as text (rows of
# the schedule "tick", which the resumed worker fires, left out)
sub snapshot
{
	my ($db, $max_log, $max_stat) = @_;
	my %s;
	$s{jobs} = query($db, q{
		SELECT md5(string_agg(concat_ws('|', id, priority, queue_manager_id, created, updated,
				heartbeat, execute_after, status, entrypoint, dedupe_key, payload, headers, attempts),
			E'\n' ORDER BY id))
		FROM pgqueuer.pgqueuer WHERE entrypoint <> 'tick'});
	$s{per_status} = query($db, q{
		SELECT entrypoint, status, count(*) FROM pgqueuer.pgqueuer
		WHERE entrypoint <> 'tick' GROUP BY 1, 2 ORDER BY 1, 2});
	$s{log} = query($db, qq{
		SELECT count(*), md5(string_agg(concat_ws('|', id, created, job_id, status, priority,
				entrypoint, traceback, aggregated), E'\\n' ORDER BY id))
		FROM pgqueuer.pgqueuer_log WHERE id <= $max_log});
	$s{statistics} = query($db, qq{
		SELECT count(*), sum(count), md5(string_agg(concat_ws('|', id, created, count,
				priority, status, entrypoint), E'\\n' ORDER BY id))
		FROM pgqueuer.pgqueuer_statistics WHERE id <= $max_stat});
	$s{schedules} = query($db, q{
		SELECT id, expression, entrypoint, next_run, last_run, status
		FROM pgqueuer.pgqueuer_schedules WHERE entrypoint <> 'tick' ORDER BY id});
	$s{registry} = query($db,
		'SELECT e::text FROM pgqueuer.pgqueuer_entrypoints e ORDER BY entrypoint');
	$s{settings} = query($db,
		"SELECT name, value FROM pgqueuer.pgqueuer_settings WHERE name IN ('durability', 'autovac') ORDER BY name"
	);
	# of a partitioned table (the log from 1.2 on): that of its partitions
	$s{persistence} = query($db, q{
		SELECT string_agg(t.relname || '=' || l.state, ' ' ORDER BY t.relname)
		FROM pg_class t
		CROSS JOIN LATERAL (
			SELECT string_agg(DISTINCT c.relpersistence::text || coalesce(array_to_string(c.reloptions, ','), ''), '+') AS state
			FROM pg_class c
			WHERE c.oid = t.oid AND t.relkind = 'r'
			   OR c.oid IN (SELECT relid FROM pg_partition_tree(t.oid) WHERE isleaf)) l
		WHERE t.relnamespace = 'pgqueuer'::regnamespace AND t.relkind IN ('r', 'p') AND NOT t.relispartition
		  AND t.relname IN ('pgqueuer', 'pgqueuer_log', 'pgqueuer_statistics', 'pgqueuer_schedules',
						  'pgqueuer_entrypoints', 'pgqueuer_settings', 'pgqueuer_rate_grants')});
	return \%s;
}

# --- 1.0 under the 1.2 library ---------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE upd');
my $offset = -s $node->logfile;
query('upd', "CREATE EXTENSION pgqueuer VERSION '1.0'");
is(query('upd', "SELECT extversion FROM pg_extension WHERE extname = 'pgqueuer'"),
	'1.0', 'the extension is installed at version 1.0');
$offset = wait_log(
	qr/extension "pgqueuer" in database "upd" is at version 1\.0, older than library version 1\.2; the background duties wait\n.*HINT:  Run ALTER EXTENSION pgqueuer UPDATE in database "upd"/,
	$offset, 'the background worker logs that the update is pending, with the command to run');
is( query('upd', q{SELECT string_agg(v, E'\n') FROM pgqueuer.verify() v WHERE v LIKE 'extension schema version%'}),
	'extension schema version 1.0 is older than library version 1.2: run ALTER EXTENSION pgqueuer UPDATE',
	'verify() reports the pending update');

# fill it through the 1.0 functions
query('upd', q{
	SELECT pgqueuer.register_entrypoint('slow', concurrency_limit => 5);
	SELECT pgqueuer.register_entrypoint('flaky', max_attempts => 0, on_failure => 'hold');
	SELECT pgqueuer.pause('paused');
	SELECT pgqueuer.set_durability('balanced');
	SELECT pgqueuer.autovac();
});
is( query('upd', q{
		SELECT count(*) FROM pgqueuer.enqueue_batch(
			ARRAY(SELECT CASE WHEN g <= 10 THEN 'slow' WHEN g <= 15 THEN 'flaky'
							  WHEN g <= 20 THEN 'paused' ELSE 'work' END
				  FROM generate_series(1, 300) g ORDER BY g),
			ARRAY(SELECT convert_to('job ' || g, 'UTF8') FROM generate_series(1, 300) g ORDER BY g),
			ARRAY(SELECT g % 3 FROM generate_series(1, 300) g ORDER BY g),
			ARRAY(SELECT CASE WHEN g > 280 THEN interval '1 day' ELSE interval '0' END
				  FROM generate_series(1, 300) g ORDER BY g),
			ARRAY(SELECT CASE WHEN g = 42 THEN 'dk-42' END FROM generate_series(1, 300) g ORDER BY g))
		AS id WHERE id IS NOT NULL}),
	'300', '1.0: 300 jobs enqueued (20 deferred by a day)');
is( query('upd', q{
		SELECT count(*) FROM pgqueuer.complete(
			ARRAY(SELECT id FROM pgqueuer.dequeue(5, ARRAY['flaky'], '11111111-1111-1111-1111-111111111111')),
			array_fill('exception'::pgqueuer.pgqueuer_status, ARRAY[5]),
			array_fill('{"exception_type": "ValueError"}'::jsonb, ARRAY[5]))}),
	'5', '1.0: five flaky jobs fail and are held');
is( query('upd', q{
		SELECT count(*) FROM pgqueuer.complete(
			ARRAY(SELECT id FROM pgqueuer.dequeue(100, ARRAY['work'], '22222222-2222-2222-2222-222222222222')),
			array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[100]))}),
	'100', '1.0: 100 work jobs done');
# the 1.1 library cannot schedule on a 1.0 schema (its schedules lack the
# timezone column): a clear error, no crash; the schedules of the 1.0 era
# are written as that version's schedule() wrote them
my ($src, $sout, $serr) = $node->psql('upd', "SELECT pgqueuer.schedule('nightly', '0 3 * * *')");
like($serr, qr/pgqueuer\.schedule\(\) needs extension version 1\.1.*HINT:  Run ALTER EXTENSION pgqueuer UPDATE/s,
	'1.0: schedule() under the 1.2 library asks for the update');
is(query('upd', q{
		INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run, payload, priority, server_fired)
		VALUES ('0 3 * * *', 'nightly', pgqueuer.cron_next('0 3 * * *'), convert_to('n', 'UTF8'), 2, true),
		       ('* * * * * *', 'tick', pgqueuer.cron_next('* * * * * *'), NULL, 0, true)}),
	'', '1.0: a nightly schedule and one due every second');

# a worker of the 1.0 era holds five slow jobs (the concurrency limit)
# across the update: what a 1.0 client does, in SQL (the 1.1 clients call
# functions that only 1.1 has)
my $qmw = '33333333-3333-3333-3333-333333333333';
my @held = split /\n/, query('upd',
	"SELECT id FROM pgqueuer.dequeue(10, ARRAY['slow'], '$qmw') ORDER BY id");
is(scalar(@held), 5, '1.0: a worker picked five slow jobs (the concurrency limit)');
my $held = join(',', @held);

# the background worker waits: "tick" stays unfired well past its due time
wait_for('upd',
	"SELECT now() > next_run + interval '1 second' FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'tick'",
	'1.0: the tick schedule is overdue');
is(query('upd', "SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'"),
	'0', '1.0: ... and was not fired: the background duties wait for the update');

cmp_ok(query('upd', 'SELECT count(*) FROM pgqueuer.log_statistics()'),
	'>', 0, '1.0: statistics folded');
my $max_log = query('upd', 'SELECT max(id) FROM pgqueuer.pgqueuer_log');
my $max_stat = query('upd', 'SELECT max(id) FROM pgqueuer.pgqueuer_statistics');
my $before = snapshot('upd', $max_log, $max_stat);
my $seq_before = query('upd', 'SELECT last_value FROM pgqueuer.pgqueuer_id_seq');
is( $before->{per_status},
	"flaky|failed|5\npaused|queued|5\nslow|queued|5\nslow|picked|5\nwork|queued|180",
	'1.0: jobs per entrypoint and status before the update');

# --- the update, under the busy worker --------------------------------------------

query('upd', 'ALTER EXTENSION pgqueuer UPDATE');
is(query('upd', "SELECT extversion FROM pg_extension WHERE extname = 'pgqueuer'"),
	'1.2', 'ALTER EXTENSION pgqueuer UPDATE: now at version 1.2');
$offset = wait_log(
	qr/extension "pgqueuer" in database "upd" is at version 1\.2; the background duties resume/,
	$offset, 'the background worker resumes');

my $after = snapshot('upd', $max_log, $max_stat);
for my $k (sort keys %$before)
{
	is($after->{$k}, $before->{$k}, "after the update: $k as before");
}
is(query('upd', q{SELECT string_agg(v, E'\n') FROM pgqueuer.verify() v}),
	'', 'after the update: verify() is clean');

# the worker from before the update finishes its jobs, with fencing
is(query('upd', "SELECT pgqueuer.heartbeat(ARRAY[$held]::bigint[], '$qmw')"), '5',
	'after the update: the old worker\'s heartbeats still extend its five leases');
is( query('upd', qq{
		SELECT count(*) FROM pgqueuer.complete(ARRAY[$held]::bigint[],
			array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[5]), NULL, '$qmw')}),
	'5', '... and it completes them');

# a 1.2 worker drains the rest under the registry's limit
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ $pgq, '--pg-dsn', $node->connstr('upd'), 'run', '--mode', 'drain',
	  '--exec', 'slow=cat >/dev/null' ],
	'<', \'', '>', \$out, '2>', \$err,
	IPC::Run::timeout($deadline_s));
ok($ok, 'a pgq run worker drains the other slow jobs and exits 0');
like($out . $err, qr/finished \(drained\): dequeued 5, successful 5,/,
	'... having run five');
is( query('upd', q{
		SELECT count(DISTINCT job_id) FROM pgqueuer.pgqueuer_log
		WHERE entrypoint = 'slow' AND status = 'successful'}),
	'10', 'every slow job is logged successful');
is(query('upd', "SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'slow'"),
	'0', 'no slow job is left');

# the background duties run again: the overdue schedule fires
wait_for('upd', "SELECT count(*) >= 1 FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'",
	'the resumed background worker fires the tick schedule');

# the held jobs, the deferred jobs and the dedupe key behave as before
is(query('upd', q{SELECT count(*) FROM pgqueuer.requeue(ARRAY(
		SELECT id FROM pgqueuer.pgqueuer WHERE status = 'failed'))}),
	'5', 'the held jobs can be requeued');
is(query('upd', "SELECT count(*) FROM pgqueuer.pgqueuer WHERE execute_after > now() + interval '12 hours'"),
	'20', 'the deferred jobs are still deferred');
is(query('upd', "SELECT pgqueuer.enqueue('work', dedupe_key => 'dk-42', on_conflict => 'skip') IS NULL"),
	't', 'the dedupe key of a queued job still blocks a duplicate');
cmp_ok(query('upd', "SELECT pgqueuer.enqueue('work')"), '>', $seq_before,
	'the id sequence continues');

# --- the updated schema equals a fresh 1.2 ------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
query('fresh', 'CREATE EXTENSION pgqueuer');
query('fresh', "SELECT pgqueuer.set_durability('balanced'); SELECT pgqueuer.autovac();");

# schema_dump(DB): pg_dump's binary-upgrade schema, which names every member
# of the extension, with OIDs and the database name neutralised
sub schema_dump
{
	my ($db) = @_;
	my $file = "$tmp/$db.schema.sql";
	$node->command_ok(
		[ 'pg_dump', '--schema-only', '--binary-upgrade', '-f', $file, '-d', $node->connstr($db) ],
		"pg_dump --schema-only --binary-upgrade of $db");
	my $dump = slurp_file($file);
	# what differs between any two databases: LSNs, OIDs (user objects'
	# are 16384 and up), transaction ids, sequence positions (data)
	$dump =~ s/\b[0-9A-F]+\/[0-9A-F]+\b/LSN/g;
	$dump =~ s/\b\d{5,}\b/OID/g;
	$dump =~ s/(relfrozenxid|relminmxid) = '\d+'/$1 = 'XID'/g;
	$dump =~ s/(pg_catalog\.setval\('[^']+'), \d+, (true|false)\)/$1, N)/g;
	$dump =~ s/\b$db\b/DB/g;
	$dump =~ s/^--.*\n//mg;
	$dump =~ s/^\\(un)?restrict .*\n//mg;
	return $dump;
}
my $dump_upd = schema_dump('upd');
my $dump_fresh = schema_dump('fresh');
like($dump_fresh, qr/CREATE (UNLOGGED )?TABLE pgqueuer\.pgqueuer_log/,
	'the dump lists the extension\'s members');
ok($dump_upd eq $dump_fresh, 'the updated schema equals a fresh install of 1.2');
if ($dump_upd ne $dump_fresh)
{
	my @a = split /\n/, $dump_upd;
	my @b = split /\n/, $dump_fresh;
	my $shown = 0;
	for my $i (0 .. ($#a > $#b ? $#a : $#b))
	{
		next if ($a[$i] // '') eq ($b[$i] // '');
		diag("line $i:\n  updated: " . ($a[$i] // '') . "\n  fresh:   " . ($b[$i] // ''));
		last if ++$shown == 10;
	}
}

# --- versions the library does not serve -------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE older');
$node->safe_psql('postgres', 'CREATE DATABASE newer');
query($_, 'CREATE EXTENSION pgqueuer') for qw(older newer);
query('older', "UPDATE pg_extension SET extversion = '0.9' WHERE extname = 'pgqueuer'");
query('newer', "UPDATE pg_extension SET extversion = '9.9' WHERE extname = 'pgqueuer'");
$offset = -s $node->logfile;
$node->restart;

my $ret;
($ret, $out, $err) = $node->psql('older', "SELECT pgqueuer.enqueue('x')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'schema 0.9: enqueue() fails');
like($err, qr/ERROR:  55000: extension "pgqueuer" is installed at version 0\.9, which library version 1\.2 does not serve/,
	'... with SQLSTATE 55000 naming both versions');
like($err, qr/HINT:  Run ALTER EXTENSION pgqueuer UPDATE in this database/,
	'... and the hint to update the schema');
($ret, $out, $err) = $node->psql('newer', 'SELECT * FROM pgqueuer.queue_size()');
isnt($ret, 0, 'schema 9.9: queue_size() fails');
like($err, qr/HINT:  Install the pgqueuer library of version 9\.9/,
	'... with the hint to install the matching library');
is(query('newer', "SELECT count(*) FROM pgqueuer.pgqueuer"), '0',
	'the tables themselves stay readable');
wait_log(
	qr/extension "pgqueuer" in database "newer" is at version 9\.9, which library version 1\.2 does not serve; the background duties wait\n.*HINT:  Install the pgqueuer library of version 9\.9/,
	$offset, 'the background worker of "newer" logs why it waits');
wait_log(
	qr/extension "pgqueuer" in database "older" is at version 0\.9, which library version 1\.2 does not serve; the background duties wait\n.*HINT:  Run ALTER EXTENSION pgqueuer UPDATE/,
	$offset, 'the background worker of "older" logs why it waits');

$node->stop;
done_testing();
