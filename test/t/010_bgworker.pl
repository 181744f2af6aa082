
# Copyright (c) pgqueuer contributors
#
# 010_bgworker.pl
#	The background worker: the launcher and one worker per database with
#	the extension (also databases and extensions created later); cron
#	schedules fired exactly once per due time even with run_maintenance()
#	called concurrently; lease expiry without any client; the worker leaving
#	on DROP EXTENSION; DROP DATABASE, ALTER DATABASE RENAME and CREATE
#	DATABASE ... TEMPLATE not blocked by it; restarts after
#	pg_terminate_backend (worker and launcher) and kill -9, but not after
#	pg_cancel_backend; the GUCs
#	pgqueuer.naptime (reload, invalid values), pgqueuer.enabled and
#	pgqueuer.databases.
#
# Every wait polls for the observable effect (poll_query_until); nothing
# sleeps a guessed time.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('bgworker');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
# the kill -9 test needs crash recovery (the test framework turns it off)
$node->append_conf('postgresql.conf', "restart_after_crash = on");
$node->start;

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

my $workers_of = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = ";

# worker_pid(DB): pid of the worker of DB ('' if none)
sub worker_pid
{
	my ($db) = @_;
	return query('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = '$db'");
}

# wait_workers(DB, N, WHAT): poll until DB has exactly N workers
sub wait_workers
{
	my ($db, $n, $what) = @_;
	wait_for('postgres', "SELECT ($workers_of '$db') = $n", $what);
}

# --- launcher and worker ---------------------------------------------------

wait_for('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer launcher' AND datname IS NULL",
	'the launcher runs, connected to no database');

query('postgres', 'CREATE EXTENSION pgqueuer');
wait_workers('postgres', 1, 'CREATE EXTENSION: a worker appears for the database');
is( query('postgres',
		"SELECT application_name FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker'"),
	'pgqueuer worker',
	'the worker sets its application_name');
wait_for('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker'"
	  . " AND state = 'idle' AND backend_xmin IS NULL AND backend_xid IS NULL",
	'the sleeping worker holds no transaction and no snapshot');

# --- a database created later -----------------------------------------------

query('postgres', 'CREATE DATABASE db2');
query('db2', 'CREATE EXTENSION pgqueuer');
wait_workers('db2', 1, 'CREATE DATABASE + CREATE EXTENSION later: its worker appears');
is(query('postgres', "$workers_of 'postgres'"), '1',
	'the first database still has exactly one worker');

# --- cron: exactly once per second, also against run_maintenance() ----------

query('db2', "SELECT pgqueuer.schedule('tick', '* * * * * *')");

# Every poll also runs a maintenance pass by hand, racing the worker.
wait_for('db2',
	"SELECT (SELECT count(*) FROM pgqueuer.run_maintenance()) = 5"
	  . " AND (SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick') >= 6",
	'a schedule * * * * * * produces jobs while run_maintenance() runs concurrently');
is( query('db2',
		"SELECT count(*) = count(DISTINCT date_trunc('second', created)) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'"
	),
	't',
	'no two jobs of the schedule were created in the same second');
is( query('db2',
		"SELECT count(*) = 1 + extract(epoch FROM max(date_trunc('second', created)) - min(date_trunc('second', created)))"
		  . " FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'"),
	't',
	'and none was skipped: one job for every second between the first and the last');
is( query('db2',
		"SELECT count(*) = count(DISTINCT date_trunc('second', created)) FROM pgqueuer.pgqueuer_log"
		  . " WHERE entrypoint = 'tick' AND status = 'queued'"),
	't',
	'the log agrees: one enqueue per second');

# --- lease expiry by the worker alone ----------------------------------------

query('db2',
	"SELECT pgqueuer.register_entrypoint('lease_ep', lease_timeout => '1 second');"
	  . " SELECT pgqueuer.enqueue('lease_ep');");
my $picked = query('db2',
	"SELECT id FROM pgqueuer.dequeue(1, ARRAY['lease_ep'], gen_random_uuid())");
like($picked, qr/^\d+$/, 'a job of an entrypoint with a 1 s lease is picked');
wait_for('db2',
	"SELECT status = 'queued' AND attempts = 1 FROM pgqueuer.pgqueuer WHERE id = $picked",
	'without heartbeat, the worker returns it to the queue with attempts = 1');
like(
	query('db2',
		"SELECT traceback->>'exception_type' FROM pgqueuer.pgqueuer_log WHERE job_id = $picked AND status = 'queued' AND traceback IS NOT NULL"
	),
	qr/^LeaseExpired$/,
	'the requeue is logged as LeaseExpired');

# A worker's connection dies while it holds a job: the server alone returns
# the job to the queue after its lease, and another worker completes it.
query('db2',
	"SELECT pgqueuer.register_entrypoint('orphan_ep', lease_timeout => '1 second');"
	  . " SELECT pgqueuer.enqueue('orphan_ep', 'orphan'::bytea);");
my $doomed = $node->background_psql('db2');
my $doomed_pid = $doomed->query_safe('SELECT pg_backend_pid()');
my $orphan = $doomed->query_safe(
	"SELECT id FROM pgqueuer.dequeue(1, ARRAY['orphan_ep'], gen_random_uuid())");
like($orphan, qr/^\d+$/, 'a session picks a job with a 1 s lease');
query('postgres', "SELECT pg_terminate_backend($doomed_pid)");
$doomed->{run}->finish;
wait_for('db2',
	"SELECT status = 'queued' AND attempts = 1 FROM pgqueuer.pgqueuer WHERE id = $orphan",
	'pg_terminate_backend of that session: after the lease the job is queued again, attempts = 1');
my $qm2 = '22222222-2222-2222-2222-222222222222';
is( query('db2',
		"SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['orphan_ep'], '$qm2') WHERE id = $orphan"),
	'1',
	'another worker picks it up');
is( query('db2',
		"SELECT pgqueuer.complete(ARRAY[$orphan], ARRAY['successful']::pgqueuer.pgqueuer_status[], NULL, '$qm2')"),
	$orphan,
	'... and completes it');
is( query('db2',
		"SELECT string_agg(status::text, ',' ORDER BY id) FROM pgqueuer.pgqueuer_log WHERE job_id = $orphan AND status <> 'picked'"),
	'queued,queued,successful',
	'the log shows it enqueued, requeued by the lease expiry, and successful once');

# --- restarts ---------------------------------------------------------------

my $old = worker_pid('db2');
query('postgres', "SELECT pg_terminate_backend($old)");
wait_for('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'db2' AND pid <> $old",
	'pg_terminate_backend of a worker: the launcher starts a new one');

my $launcher = query('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgqueuer launcher'");
my $w1 = worker_pid('postgres');
my $w2 = worker_pid('db2');
query('postgres', "SELECT pg_terminate_backend($launcher)");
wait_for('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer launcher' AND pid <> $launcher",
	'pg_terminate_backend of the launcher: the postmaster restarts it');
# a worker the new launcher starts shows that it has made its passes
query('postgres', 'CREATE DATABASE db_probe');
query('db_probe', 'CREATE EXTENSION pgqueuer');
wait_workers('db_probe', 1, 'the new launcher serves a new database');
query('postgres', 'DROP DATABASE db_probe');
is(query('postgres', "$workers_of 'postgres'") . ',' . query('postgres', "$workers_of 'db2'"),
	'1,1', 'the new launcher adopts the running workers instead of starting more');
is(worker_pid('postgres') . ',' . worker_pid('db2'), "$w1,$w2",
	'the workers kept running across the launcher restart');

# --- GUCs ------------------------------------------------------------------

my ($ret, $stdout, $stderr) =
  $node->psql('postgres', "ALTER SYSTEM SET pgqueuer.naptime = '-5'");
isnt($ret, 0, 'ALTER SYSTEM SET pgqueuer.naptime = -5 fails');
like($stderr, qr/pgqueuer\.naptime/, '... naming the parameter');
($ret, $stdout, $stderr) =
  $node->psql('postgres', "ALTER SYSTEM SET pgqueuer.naptime = '5ms'");
isnt($ret, 0, 'a naptime below 10 ms is refused');
($ret, $stdout, $stderr) =
  $node->psql('postgres', q{ALTER SYSTEM SET pgqueuer.databases = '"db2'});
isnt($ret, 0, 'a malformed pgqueuer.databases list is refused');

$w2 = worker_pid('db2');
my $ticks = query('db2', "SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'");
query('postgres', "ALTER SYSTEM SET pgqueuer.naptime = '200ms'; SELECT pg_reload_conf();");
wait_for('postgres', "SELECT current_setting('pgqueuer.naptime') = '200ms'",
	'pgqueuer.naptime is reloaded (SIGHUP)');
wait_for('db2',
	"SELECT count(*) > $ticks FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'",
	'the worker keeps firing after the reload');
is(worker_pid('db2'), $w2, 'the reload did not restart the worker');

query('postgres', "SELECT pg_cancel_backend($w2)");
$ticks = query('db2', "SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'");
wait_for('db2',
	"SELECT count(*) > $ticks FROM pgqueuer.pgqueuer WHERE entrypoint = 'tick'",
	'pg_cancel_backend of the worker: it goes on firing');
is(worker_pid('db2'), $w2, '... in the same process');

query('postgres', "ALTER SYSTEM SET pgqueuer.databases = 'postgres'; SELECT pg_reload_conf();");
wait_workers('db2', 0, 'pgqueuer.databases without db2: its worker stops');
is(query('postgres', "$workers_of 'postgres'"), '1', '... the listed database keeps its worker');
query('postgres', "ALTER SYSTEM RESET pgqueuer.databases; SELECT pg_reload_conf();");
wait_workers('db2', 1, 'pgqueuer.databases reset: the worker comes back');

query('postgres', "ALTER SYSTEM SET pgqueuer.enabled = off; SELECT pg_reload_conf();");
wait_for('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker'",
	'pgqueuer.enabled = off: every worker stops');
query('postgres', "ALTER SYSTEM SET pgqueuer.enabled = on; SELECT pg_reload_conf();");
wait_workers('postgres', 1, 'pgqueuer.enabled = on: workers start again');
wait_workers('db2', 1, '... in every database');

# --- deferred wake-ups: on time, not on the naptime tick ----------------------

# With a naptime of 10 s only the deferred wake-up timer can announce a job
# deferred by 2 s on time.  The worker learns of each new deferred job when
# the enqueueing transaction commits; the later job is enqueued first, so the
# earlier one must cut the worker's sleep short.
query('postgres', "ALTER SYSTEM SET pgqueuer.naptime = '10s'; SELECT pg_reload_conf();");
wait_for('postgres', "SELECT current_setting('pgqueuer.naptime') = '10s'",
	'pgqueuer.naptime = 10s is in effect');
my $listener = $node->background_psql('db2');
$listener->query_safe('LISTEN ch_pgqueuer');
my $late = query('db2',
	"SELECT pgqueuer.enqueue('deferred_ep', 'late'::bytea, execute_after => '4 seconds')");
my $soon = query('db2',
	"SELECT pgqueuer.enqueue('deferred_ep', 'soon'::bytea, execute_after => '2 seconds')");
my $announced = "SELECT to_timestamp(value::float8) FROM pgqueuer.pgqueuer_settings WHERE name = 'deferred_notified_until'";
foreach my $job ([ $soon, '2 s' ], [ $late, '4 s' ])
{
	my ($id, $delay) = @$job;
	wait_for('db2',
		"SELECT ($announced) >= execute_after FROM pgqueuer.pgqueuer WHERE id = $id",
		"the job deferred by $delay is announced");
	my $lag = query('db2',
		"SELECT round(extract(epoch FROM max(($announced) - execute_after)) * 1000)"
		  . " FROM pgqueuer.pgqueuer WHERE id = $id");
	note "job deferred by $delay announced $lag ms after its execute_after";
	cmp_ok($lag, '<', 100, "... within 100 ms of its execute_after (took $lag ms)");
}
my $heard = $listener->query_safe('SELECT 1');
my @wakeups = ($heard =~ /"entrypoints": ?\["deferred_ep"\]/g);
cmp_ok(scalar(@wakeups), '>=', 2, 'a LISTENing session received a notification for each of them');
$listener->quit;
query('postgres', "ALTER SYSTEM SET pgqueuer.naptime = '200ms'; SELECT pg_reload_conf();");
wait_for('postgres', "SELECT current_setting('pgqueuer.naptime') = '200ms'",
	'pgqueuer.naptime back to 200ms');

# --- DROP EXTENSION and database DDL ----------------------------------------

query('db2', 'DROP EXTENSION pgqueuer');
wait_workers('db2', 0, 'DROP EXTENSION: the worker leaves');
query('db2', 'CREATE EXTENSION pgqueuer');
wait_workers('db2', 1, 'CREATE EXTENSION again: the worker is back');

my $start = time();
query('postgres', 'ALTER DATABASE db2 RENAME TO db3');
ok(time() - $start < 5, 'ALTER DATABASE RENAME with a worker connected succeeds promptly');
wait_workers('db3', 1, '... and the worker comes back to the renamed database');

$start = time();
query('postgres', 'CREATE DATABASE db4 TEMPLATE db3');
ok(time() - $start < 5, 'CREATE DATABASE ... TEMPLATE a served database succeeds promptly');
wait_workers('db4', 1, '... the copy, which has the extension, gets a worker');
wait_workers('db3', 1, '... and the template its worker back');

$start = time();
query('postgres', 'DROP DATABASE db3');
ok(time() - $start < 5, 'DROP DATABASE with a worker connected succeeds promptly');
is(query('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'db3'"), '0',
	'... and the database is gone');
query('postgres', 'DROP DATABASE db4');
wait_for('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker'",
	'only the worker of postgres is left');

# --- kill -9 -----------------------------------------------------------------

# Durable tables (the default): a crash restart loses no queued job.
query('postgres', "SELECT pgqueuer.enqueue_batch(array_fill('crash_ep'::text, ARRAY[100]))");
my $victim = $node->background_psql('postgres');
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
kill 'KILL', $victim_pid;
$victim->{run}->finish;
wait_for('postgres',
	"SELECT count(*) = 100 FROM pgqueuer.pgqueuer WHERE entrypoint = 'crash_ep' AND status = 'queued'",
	'kill -9 of a regular backend: after crash recovery all 100 queued jobs are there');
wait_workers('postgres', 1, '... and the worker is back');

$w1 = worker_pid('postgres');
kill 'KILL', $w1;
wait_for('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'postgres' AND pid <> $w1",
	'kill -9 of a worker: after crash recovery the launcher starts a new one');
is( query('postgres',
		"SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'crash_ep' AND status = 'queued'"),
	'100',
	'... and still no queued job is lost');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/database \d+ does not exist/,
	'no worker was started for a dropped database');
unlike($log, qr/is being accessed by other users/,
	'no DDL waited for the worker');

done_testing();
