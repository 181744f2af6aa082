
# Copyright (c) pgqueuer contributors
#
# 042_no_preload.pl
#	pgqueuer on a server where it is not in shared_preload_libraries (as on
#	hosted services that allow only a fixed list): CREATE EXTENSION, verify()
#	and check_background() warn that the background duties are not running
#	and name run_maintenance(); no launcher or worker exists; every SQL
#	function works (producers, workers, operators, schedules, durability,
#	autovacuum, inspection); run_maintenance() does the duties instead (a
#	due schedule fires, an expired lease returns its job, statistics are
#	folded); and a pgq run worker drains the queue.
#
# Every wait polls for its effect; nothing sleeps a guessed time.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->start;

my $pgq = $ENV{PGQ_BIN};
my $qm = '55555555-5555-5555-5555-555555555555';

# query(SQL): safe_psql shorthand
sub query
{
	return $node->safe_psql('postgres', $_[0]);
}

# warns(SQL, WHAT): run SQL, check it succeeds with the preload warning;
# returns its output
sub warns
{
	my ($sql, $what) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	is($ret, 0, "$what succeeds");
	like($err,
		qr/WARNING:  pgqueuer is not in shared_preload_libraries: its background duties are not running/,
		"$what warns that the background duties are not running");
	like($err, qr/HINT:  Call SELECT \* FROM pgqueuer\.run_maintenance\(\) every few seconds/,
		"... and names run_maintenance()");
	return $out;
}

is(query('SHOW shared_preload_libraries'), '', 'pgqueuer is not preloaded');
warns('CREATE EXTENSION pgqueuer', 'CREATE EXTENSION');
is(warns('SELECT v FROM pgqueuer.verify() v', 'verify()'), '',
	'verify() finds no problem in the installation itself');
is(warns('SELECT pgqueuer.check_background()', 'check_background()'), 'f',
	'check_background() returns false');
is( query(
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pgqueuer launcher', 'pgqueuer worker')"
	),
	'0',
	'no launcher and no worker run');

# --- the SQL API ------------------------------------------------------------------

query(q{
	SELECT pgqueuer.register_entrypoint('limited', concurrency_limit => 2);
	SELECT pgqueuer.register_entrypoint('lease', lease_timeout => '1 second', max_attempts => 3);
});
is( query(q{
		SELECT count(*) FROM pgqueuer.enqueue_batch(
			ARRAY(SELECT CASE WHEN g <= 5 THEN 'limited' ELSE 'plain' END FROM generate_series(1, 20) g ORDER BY g))}),
	'20', 'enqueue_batch() queues 20 jobs');
like(query("SELECT pgqueuer.enqueue('later', execute_after => '1 hour')"),
	qr/^\d+$/, 'enqueue() of a deferred job');
is(query("SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['limited'], '$qm')"),
	'2', 'dequeue() enforces the concurrency limit');
is( query(q{
		SELECT count(*) FROM pgqueuer.complete(
			ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'limited' AND status = 'picked'),
			array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[2]))}),
	'2', 'complete() of both');
my @plain = split /\n/,
  query("SELECT id FROM pgqueuer.dequeue(4, ARRAY['plain'], '$qm') ORDER BY id");
is(scalar(@plain), 4, 'dequeue() claims plain jobs');
is(query("SELECT pgqueuer.heartbeat(ARRAY[$plain[0]]::bigint[], '$qm')"), '1', 'heartbeat()');
is(query("SELECT pgqueuer.retry($plain[1], '0', NULL, '$qm')"), 't', 'retry()');
is( query(
		"SELECT count(*) FROM pgqueuer.complete(ARRAY[$plain[0], $plain[2]]::bigint[], ARRAY['successful', 'failed']::pgqueuer.pgqueuer_status[])"
	),
	'2',
	'complete() of a success and a held failure');
is(query("SELECT count(*) FROM pgqueuer.requeue(ARRAY[$plain[2]]::bigint[])"), '1', 'requeue()');
is(query("SELECT count(*) FROM pgqueuer.cancel(ARRAY[$plain[3]]::bigint[])"), '1', 'cancel()');
is(query("SELECT pgqueuer.pause('plain')"), 't', 'pause()');
is(query("SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['plain'], '$qm')"), '0',
	'... a paused entrypoint hands out nothing');
is(query("SELECT pgqueuer.resume('plain')"), 't', 'resume()');
like(query("SELECT status FROM pgqueuer.job_status(ARRAY[$plain[0]]::bigint[])"),
	qr/^successful$/, 'job_status()');
like(query('SELECT sum(count) FROM pgqueuer.queue_size()'), qr/^\d+$/, 'queue_size()');
cmp_ok(query('SELECT count(*) FROM pgqueuer.log_statistics()'), '>', 0, 'log_statistics()');
is(query("SELECT pgqueuer.cron_next('0 3 * * *', '2030-01-01 00:00+00') = '2030-01-01 03:00+00'"),
	't', 'cron_next()');
cmp_ok(query("SELECT count(*) FROM pgqueuer.set_durability('volatile')"), '>=', 4,
	'set_durability() runs its statements');
is( query(q{
		SELECT count(*) FROM pg_class
		WHERE relnamespace = 'pgqueuer'::regnamespace AND relkind = 'r' AND relpersistence = 'u'}),
	'20', '... and the four PgQueuer tables are unlogged (the log\'s seventeen partitions)');
cmp_ok(query('SELECT count(*) FROM pgqueuer.autovac()'), '>', 0, 'autovac()');
like(query("SELECT pgqueuer.schedule('nightly', '0 3 * * *')"), qr/^\d+$/, 'schedule()');
is(query("SELECT pgqueuer.unschedule('nightly')"), '1', 'unschedule()');

# --- run_maintenance() instead of the background worker ----------------------------------

like(query("SELECT pgqueuer.schedule('tick', '* * * * * *')"), qr/^\d+$/,
	'a schedule due every second');
my $lease_job = query("SELECT pgqueuer.enqueue('lease')");
is(query("SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['lease'], '$qm')"), '1',
	'a job with a one-second lease is picked');
ok( $node->poll_query_until('postgres', q{
		SELECT now() > (SELECT next_run FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'tick')
		   AND now() > (SELECT heartbeat + interval '1 second' FROM pgqueuer.pgqueuer
						WHERE entrypoint = 'lease')}),
	'the schedule is due and the lease expired');
is(query("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'"), '0',
	'nothing fired the schedule by itself');
my %duties = map { split /\|/ } split /\n/, query('SELECT duty, rows FROM pgqueuer.run_maintenance()');
is($duties{schedules}, 1, 'run_maintenance(): the schedule fired once');
is($duties{lease_expiry}, 1, 'run_maintenance(): the expired lease returned');
is(query("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'"), '1',
	'... the schedule\'s job is queued');
is(query("SELECT status || ' ' || attempts FROM pgqueuer.pgqueuer WHERE id = $lease_job"),
	'queued 1', '... the job is queued again with one attempt more');
ok(exists $duties{statistics} && exists $duties{retention} && exists $duties{deferred_wakeups},
	'run_maintenance() reports every duty');

# --- a pgq worker drains the queue ---------------------------------------------------------

SKIP:
{
	skip 'PGQ_BIN must name the pgq binary', 3 unless $pgq && -x $pgq;
	query("SELECT pgqueuer.unschedule('tick')");
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ $pgq, '--pg-dsn', $node->connstr('postgres'), 'run', '--mode', 'drain',
		  '--exec', 'plain=cat >/dev/null', '--exec', 'limited=true', '--exec', 'lease=true',
		  '--exec', 'tick=true' ],
		'<', \'', '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	ok($ok, 'pgq run --mode drain exits 0');
	like($out . $err, qr/finished \(drained\)/, '... having drained the queue');
	is( query(q{
			SELECT string_agg(entrypoint || '|' || status, ',' ORDER BY entrypoint)
			FROM pgqueuer.pgqueuer}),
		'later|queued', 'only the deferred job is left');
}

$node->stop;
done_testing();
