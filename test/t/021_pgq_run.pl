
# Copyright (c) pgqueuer contributors
#
# 021_pgq_run.pl
#	pgq run and libpgqueuer's worker against a real server: usage and exit
#	codes; 10,000 jobs through two workers with a concurrency limit that is
#	never exceeded and every job logged successful exactly once; drain mode;
#	a worker killed with SIGKILL whose job a second worker runs after the
#	lease (heartbeats keeping the second lease alive); SIGTERM letting a long
#	job finish; cancellation reaching a running handler; --exec handlers
#	(payload on stdin, environment, exit 75 = retry, exit 3 = exception with
#	the stderr tail, cancellation = SIGTERM to the command); the example
#	factory's exceptions, server and client retries and executor; reconnect
#	after a lost connection; and libpgqueuer's API through the C program
#	test/client/test_libpgqueuer.c (build/test/test_libpgqueuer beside
#	build/pgq, or $PGQ_CLIENT_TEST), whose TAP lines are relayed.
#
# The factory is the example build/examples/libmyjobs.so ($PGQ_FACTORY),
# configured through MYJOBS_* environment variables.  Workers run as child
# processes whose output goes to a file; every wait polls for an effect
# (a log line, a row, an exit) with a deadline.

use strict;
use warnings;

use File::Basename qw(dirname);
use IPC::Run;
use POSIX ':sys_wait_h';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $pgq = $ENV{PGQ_BIN};
my $factory_so = $ENV{PGQ_FACTORY};
plan skip_all => 'PGQ_BIN and PGQ_FACTORY must name the pgq binary and libmyjobs.so'
  unless $pgq && -x $pgq && $factory_so && -f $factory_so;
my $factory = "$factory_so:setup";

my $node = PostgreSQL::Test::Cluster->new('pgq_run');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
# the background worker expires leases (the SIGKILL test) within 100 ms
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
$node->append_conf('postgresql.conf', "max_connections = 40");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');

my $dsn = $node->connstr('postgres');
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;
my $nlog = 0;

# sql(SQL): safe_psql shorthand
sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

# spawn(ENV, ARGS...): start "pgq --pg-dsn DSN run ARGS" with extra
# environment ENV (hash ref; key _dsn replaces DSN); returns (pid, log file
# of stdout + stderr)
sub spawn
{
	my ($env, @args) = @_;
	my $log = "$tmp/worker" . ++$nlog . ".log";
	my $conn = $env->{_dsn} // $dsn;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		$ENV{$_} = $env->{$_} for grep { $_ ne '_dsn' } keys %$env;
		open(STDIN, '<', '/dev/null') or die;
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec($pgq, '--pg-dsn', $conn, 'run', @args) or POSIX::_exit(127);
	}
	return ($pid, $log);
}

# wait_exit(PID [, SECONDS]): the exit status, or undef (after SIGKILL)
# when the process did not end in time
sub wait_exit
{
	my ($pid, $secs) = @_;
	my $end = time() + ($secs // $deadline_s);
	while (time() < $end)
	{
		return $? >> 8 if waitpid($pid, WNOHANG) == $pid;
		usleep(20_000);
	}
	kill 'KILL', $pid;
	waitpid($pid, 0);
	return undef;
}

# run_pgq(ENV, ARGS...): run pgq run to completion; (status, output)
sub run_pgq
{
	my ($env, @args) = @_;
	my ($pid, $log) = spawn($env, @args);
	my $status = wait_exit($pid);
	return ($status, slurp_file($log));
}

# wait_log(FILE, REGEX): poll FILE until REGEX matches; true if it did
sub wait_log
{
	my ($file, $re) = @_;
	my $end = time() + $deadline_s;
	while (time() < $end)
	{
		return 1 if -f $file && slurp_file($file) =~ $re;
		usleep(20_000);
	}
	diag("timed out waiting for $re in $file:\n" . (-f $file ? slurp_file($file) : ''));
	return 0;
}

# wait_sql(SQL, WHAT): poll until SQL returns true, as one test
sub wait_sql
{
	my ($query, $what) = @_;
	ok($node->poll_query_until('postgres', $query), $what);
}

# terminate_worker(): pg_terminate_backend() on the connection of the one
# running pgq worker (the only other client backend)
sub terminate_worker
{
	is( sql(
			"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
		),
		'1',
		'pg_terminate_backend() on the worker\'s connection');
}

# statuses(ID): the job's log statuses in order, joined by spaces
sub statuses
{
	return sql("SELECT string_agg(status::text, ' ' ORDER BY id) FROM pgqueuer.pgqueuer_log WHERE job_id = $_[0]");
}

# --- usage ------------------------------------------------------------------

my ($status, $out) = run_pgq({}, '--help');
is($status, 0, '--help exits 0');
like($out, qr/Usage:.*--dequeue-timeout.*--exec ENTRYPOINT=COMMAND/s, '--help describes the options');

($status, $out) = run_pgq({});
is($status, 2, 'no FACTORY and no --exec: usage error (2)');
like($out, qr/a FACTORY .* or at least one --exec/, '... saying what is missing');

for my $bad ([ '--mode', 'sideways', $factory ], [ '--batch-size', '0', $factory ],
	[ '--log-level', 'LOUD', $factory ], [ '--no-such-option', $factory ],
	[ '--exec', 'missing-equals' ], [ 'not-a-factory-spec' ], [ $factory, 'extra' ])
{
	($status, $out) = run_pgq({}, @$bad);
	is($status, 2, "usage error (2): @$bad");
}

($status, $out) = run_pgq({}, "$tmp/nope.so:setup");
is($status, 1, 'a library that cannot be loaded: exit 1');
like($out, qr/could not load factory library/, '... with the loader\'s message');

($status, $out) = run_pgq({}, "$factory_so:no_such_symbol");
is($status, 1, 'a missing symbol: exit 1');
like($out, qr/factory symbol "no_such_symbol" not found/, '... named in the message');

# a symbol that is a variable, not a function: dlsym() finds it, and calling
# it would crash (or run the bytes it holds); pgq must refuse it by name
SKIP:
{
	my $cc = $ENV{CC} // 'cc';
	my $src = "$tmp/datasym.c";
	open(my $fh, '>', $src) or die "$src: $!";
	print $fh "int setup_data[4] = {1, 2, 3, 4};\n__thread int setup_tls = 1;\n"
	  . "int setup_fn(void *w) { (void) w; return 0; }\n";
	close($fh);
	skip "no C compiler ($cc) to build a library with a data symbol", 6
	  unless system($cc, '-shared', '-fPIC', '-o', "$tmp/libdatasym.so", $src) == 0;
	for my $case ([ 'setup_data', qr/a variable \(a data object\), not a function/ ],
		[ 'setup_tls', qr/a thread-local variable or other data outside the library's segments, not a function/ ])
	{
		($status, $out) = run_pgq({}, "$tmp/libdatasym.so:$case->[0]");
		is($status, 1, "a factory symbol that is a variable ($case->[0]): exit 1, no crash");
		like($out,
			qr/factory symbol "\Q$case->[0]\E" in ".*libdatasym\.so" is $case->[1]: a factory is int \Q$case->[0]\E\(PgqWorker \*worker\)/,
			'... with a clear message naming what it is');
	}
	# a function of the library is accepted (it returns 0 and adds nothing)
	($status, $out) = run_pgq({}, "$tmp/libdatasym.so:setup_fn");
	like($out, qr/no entrypoints/, 'a function symbol is called (this one adds no entrypoint)');
	unlike($out, qr/not a function/, '... and not refused as a variable');
}

($status, $out) = run_pgq({ MYJOBS_FAIL_SETUP => 1 }, $factory);
is($status, 1, 'a factory returning non-zero: exit 1');
like($out, qr/factory .* returned 1/, '... reported');

$node->safe_psql('postgres', 'CREATE DATABASE noext');
my ($pid, $log) = spawn({}, '--mode', 'drain', $factory);
$status = wait_exit($pid);
is($status, 0, 'drain mode with an empty queue exits 0');
like(slurp_file($log), qr/drained: no job left.*myjobs: cleanup/s,
	'... after draining, and the factory\'s cleanup runs');

($status, $out) = run_pgq({ _dsn => $node->connstr('noext') }, '--mode', 'drain', $factory);
is($status, 1, 'a database without the extension: exit 1');
like($out, qr/pgqueuer extension is not installed in database "noext"/, '... with a clear message');

# --- 10,000 jobs, two workers, a concurrency limit of 2 ----------------------

my $track = "$tmp/limited.track";
sql(
	"SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(SELECT CASE WHEN i % 10 = 0 THEN 'limited' ELSE 'noop' END FROM generate_series(1, 10000) i))"
);
my $first_id = sql("SELECT min(id) FROM pgqueuer.pgqueuer");
my %env10k = (MYJOBS_LIMIT => 2, MYJOBS_LIMITED_MS => 2, MYJOBS_TRACK_FILE => $track);
my $t0 = time();
my ($pid_a, $log_a) = spawn(\%env10k, '--mode', 'drain', $factory);
my ($pid_b, $log_b) = spawn(\%env10k, $factory, '--mode', 'drain', '--batch-size', '20');
my ($status_a, $status_b);
my $max_picked = 0;
my $end = time() + 3 * $deadline_s;
while (time() < $end && !(defined $status_a && defined $status_b))
{
	# sample how many limited jobs are picked at once, fleet-wide
	my $picked = sql("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'limited' AND status = 'picked'");
	$max_picked = $picked if $picked > $max_picked;
	$status_a = $? >> 8 if !defined $status_a && waitpid($pid_a, WNOHANG) == $pid_a;
	$status_b = $? >> 8 if !defined $status_b && waitpid($pid_b, WNOHANG) == $pid_b;
	usleep(50_000);
}
my $elapsed = time() - $t0;
$status_a //= wait_exit($pid_a, 1);
$status_b //= wait_exit($pid_b, 1);
is($status_a, 0, 'worker A drained the queue and exited 0');
is($status_b, 0, 'worker B drained the queue and exited 0');
note(sprintf('10,000 jobs in %.2f s with two workers: %.0f jobs/s', $elapsed, 10000 / $elapsed));

is( sql(
		"SELECT count(*) || ' ' || count(DISTINCT job_id) FROM pgqueuer.pgqueuer_log WHERE job_id >= $first_id AND status = 'successful'"
	),
	'10000 10000',
	'all 10,000 jobs are logged successful, each exactly once');
is(sql("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE job_id >= $first_id AND status = 'picked'"),
	'10000', 'each job was picked exactly once');
is(sql("SELECT count(*) FROM pgqueuer.pgqueuer"), '0', 'the queue is empty');
my ($dq_a) = slurp_file($log_a) =~ /finished \(drained\): dequeued (\d+)/;
my ($dq_b) = slurp_file($log_b) =~ /finished \(drained\): dequeued (\d+)/;
ok(defined $dq_a && defined $dq_b && $dq_a > 0 && $dq_b > 0 && $dq_a + $dq_b == 10000,
	"both workers took jobs (" . ($dq_a // '?') . " + " . ($dq_b // '?') . ")");
my ($cur, $max_running) = split ' ', slurp_file($track);
ok($max_running >= 1 && $max_running <= 2,
	"at most 2 limited jobs ran at once across both workers (handlers saw $max_running)");
is($cur, 0, 'every limited handler returned');
ok($max_picked <= 2, "at most 2 limited jobs were ever seen picked at once (sampled $max_picked)");

# --- a killed worker's job runs again after its lease ------------------------

my %lease2 = (MYJOBS_LEASE => 2);
my $job = sql("SELECT pgqueuer.enqueue('sleep', '3000')");
($pid_a, $log_a) = spawn(\%lease2, $factory);
wait_sql("SELECT status = 'picked' FROM pgqueuer.pgqueuer WHERE id = $job", 'worker A picks the long job');
kill 'KILL', $pid_a;
waitpid($pid_a, 0);
($pid_b, $log_b) = spawn(\%lease2, $factory);
wait_sql(
	"SELECT count(*) = 1 FROM pgqueuer.pgqueuer_log WHERE job_id = $job AND status = 'successful'",
	'after SIGKILL of worker A, worker B runs the job once its lease expired');
is(statuses($job), 'queued picked queued picked successful',
	'the job was picked twice, requeued once, completed once');
is( sql(
		"SELECT traceback->>'exception_type' FROM pgqueuer.pgqueuer_log WHERE job_id = $job AND status = 'queued' AND traceback IS NOT NULL"
	),
	'LeaseExpired',
	'... the requeue was the lease expiry');
kill 'TERM', $pid_b;
is(wait_exit($pid_b), 0, 'worker B exits 0 on SIGTERM');
like(slurp_file($log_b), qr/finished \(stopped\): dequeued 1, successful 1,/, '... having run the job');

# --- SIGTERM lets a running job finish ---------------------------------------

$job = sql("SELECT pgqueuer.enqueue('sleep', '1500')");
($pid, $log) = spawn(\%lease2, $factory, '--log-level', 'debug');
wait_sql("SELECT status = 'picked' FROM pgqueuer.pgqueuer WHERE id = $job", 'a worker picks a 1.5 s job');
kill 'TERM', $pid;
$status = wait_exit($pid);
is($status, 0, 'SIGTERM during the job: exit 0');
is(statuses($job), 'queued picked successful', '... after the job finished and was logged successful');
$out = slurp_file($log);
like($out, qr/stopping: waiting for 1 job to finish/, '... the worker said it waits');
like($out, qr/heartbeat: 1 jobs/, '... and kept the lease alive (2 s lease, 1.5 s job)');
like($out, qr/stopped by SIGTERM/, '... and why it stopped');

# --- cancellation reaches a running handler ----------------------------------

$job = sql("SELECT pgqueuer.enqueue('sleep', '60000')");
($pid, $log) = spawn({}, $factory);
wait_sql("SELECT status = 'picked' FROM pgqueuer.pgqueuer WHERE id = $job", 'a worker picks a 60 s job');
is(sql("SELECT pgqueuer.cancel(ARRAY[$job])"), $job, 'pgqueuer.cancel() on the running job');
ok(wait_log($log, qr/myjobs: sleep: job $job cancelled after \d+ ms/),
	'the handler saw pgq_ctx_cancelled() and returned early');
like(slurp_file($log), qr/INFO: job $job \(sleep\) cancelled/, 'the worker logged the cancellation');
kill 'TERM', $pid;
is(wait_exit($pid, 10), 0, 'the worker then stops at once on SIGTERM');
like(slurp_file($log), qr/finished \(stopped\): dequeued 1, successful 0, exception 0, retried 0, held 0, cancelled 1/,
	'... counting the job as cancelled, not as an outcome');
is(statuses($job), 'queued picked canceled', 'the log shows the job canceled, once');

# --- --exec handlers ----------------------------------------------------------

my $script = "$tmp/job.sh";
my $seen = "$tmp/exec.out";
open(my $fh, '>', $script) or die;
print $fh <<'EOS';
#!/bin/sh
payload=$(cat)
echo "$PGQ_JOB_ID|$PGQ_ENTRYPOINT|$PGQ_ATTEMPTS|$PGQ_PRIORITY|$PGQ_QUEUE_MANAGER_ID|$payload" >> "$EXEC_OUT"
case "$payload" in
	ok) exit 0 ;;
	retry) if [ "$PGQ_ATTEMPTS" = 0 ]; then echo "busy, try again" >&2; exit 75; fi; exit 0 ;;
	fail) echo "first line"; echo "something broke" >&2; exit 3 ;;
	sleep) echo $$ > "$EXEC_OUT.pid"; sleep 60; exit 0 ;;
	gate) while [ ! -e "$EXEC_OUT.go" ]; do sleep 0.05; done; exit 0 ;;
esac
exit 9
EOS
close($fh);
chmod 0755, $script;

my $j_ok = sql("SELECT pgqueuer.enqueue('shell', 'ok', priority => 7)");
my $j_retry = sql("SELECT pgqueuer.enqueue('shell', 'retry')");
my $j_fail = sql("SELECT pgqueuer.enqueue('shell', 'fail')");
($status, $out) = run_pgq({ EXEC_OUT => $seen }, '--exec', "shell=$script", '--mode', 'drain');
is($status, 0, '--exec in drain mode exits 0');
my %lines;
for (split /\n/, slurp_file($seen))
{
	my @f = split /\|/;
	$lines{"$f[0]/$f[2]"} = \@f;
}
my $qm = $lines{"$j_ok/0"}[4] // '';
is_deeply($lines{"$j_ok/0"}, [ $j_ok, 'shell', 0, 7, $qm, 'ok' ],
	'the command got the payload on stdin and PGQ_JOB_ID, PGQ_ENTRYPOINT, PGQ_ATTEMPTS, PGQ_PRIORITY');
like($qm, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
	'... and PGQ_QUEUE_MANAGER_ID, a version 4 uuid');
is(statuses($j_ok), 'queued picked successful', 'exit 0: successful');
ok($lines{"$j_retry/0"} && $lines{"$j_retry/1"}, 'exit 75: the command ran again with PGQ_ATTEMPTS 1');
is(statuses($j_retry), 'queued picked queued picked successful', '... retried, then successful');
is( sql(
		"SELECT traceback->>'exception_type' || ' / ' || (traceback->>'traceback') FROM pgqueuer.pgqueuer_log WHERE job_id = $j_retry AND status = 'queued' AND traceback IS NOT NULL"
	),
	"ExecRetry / busy, try again\n",
	'... with the stderr tail in the retry traceback');
is(statuses($j_fail), 'queued picked exception', 'exit 3: exception');
is( sql(
		"SELECT concat_ws(' / ', traceback->>'exception_type', traceback->>'exception_message', traceback->>'traceback', traceback->'additional_context'->>'entrypoint') FROM pgqueuer.pgqueuer_log WHERE job_id = $j_fail AND status = 'exception'"
	),
	"ExecError / command exited with status 3 / something broke\n / shell",
	'... with exception_type ExecError, the status, the stderr tail and the entrypoint');
like($out, qr/^first line$/m, 'the command\'s stdout is pgq\'s stdout');

$job = sql("SELECT pgqueuer.enqueue('shell', 'sleep')");
($pid, $log) = spawn({ EXEC_OUT => $seen }, '--exec', "shell=$script");
wait_sql("SELECT status = 'picked' FROM pgqueuer.pgqueuer WHERE id = $job", 'an --exec job starts a 60 s command');
ok(wait_log("$seen.pid", qr/^\d+$/), 'the command is running');
my $child = slurp_file("$seen.pid");
chomp $child;
sql("SELECT pgqueuer.cancel(ARRAY[$job])");
ok(wait_log($log, qr/INFO: job $job \(shell\) cancelled/), 'cancelling the job reaches the worker');
my $gone = 0;
for (1 .. 500)
{
	if (!kill(0, $child))
	{
		$gone = 1;
		last;
	}
	usleep(20_000);
}
ok($gone, 'the command received SIGTERM and ended');
kill 'TERM', $pid;
is(wait_exit($pid, 10), 0, 'the --exec worker stops with exit 0');

# --- an outcome rolled back with a failed dequeue is reported again ----------
#
# pgq run sends a turn's complete() and the next dequeue() in one pipeline
# and transaction.  Here the dequeue fails for good (EXECUTE revoked while
# the job runs): the job's outcome, rolled back with it, must still reach
# the log before pgq run gives up.

sql("CREATE ROLE pipe_worker LOGIN IN ROLE pgqueuer_worker");
$job = sql("SELECT pgqueuer.enqueue('shell', 'gate')");
($pid, $log) = spawn({ EXEC_OUT => $seen, _dsn => "$dsn user=pipe_worker" },
	'--exec', "shell=$script", '--mode', 'drain');
wait_sql("SELECT status = 'picked' FROM pgqueuer.pgqueuer WHERE id = $job",
	'a job waiting for its gate runs as a pgqueuer_worker member');
sql("REVOKE EXECUTE ON FUNCTION pgqueuer.dequeue(integer, text[], uuid, integer) FROM pgqueuer_worker");
open($fh, '>', "$seen.go") or die;
close($fh);
is(wait_exit($pid), 1, 'the dequeue sent with the outcome fails for good: pgq run exits 1');
like(slurp_file($log), qr/dequeue failed: .*permission denied/, '... saying why');
is(statuses($job), 'queued picked successful',
	'... and the outcome rolled back with that dequeue was reported on its own');
sql("GRANT EXECUTE ON FUNCTION pgqueuer.dequeue(integer, text[], uuid, integer) TO pgqueuer_worker");

# --- the example factory: exceptions, retries, executor ----------------------

my %j = map { $_ => sql("SELECT pgqueuer.enqueue('$_'" . ($_ eq 'unstable' ? ", '2'" : '') . ")") }
  qw(fail flaky later unstable);
($status, $out) = run_pgq({}, $factory, '--mode', 'drain', '--max-concurrent-tasks', '4');
is($status, 0, 'the factory\'s jobs drain with exit 0');
is(statuses($j{fail}), 'queued picked exception', 'fail: logged exception');
is( sql(
		"SELECT (traceback ?& ARRAY['job_id','timestamp','exception_type','exception_message','traceback','additional_context'])::text || ' ' || (traceback->>'job_id') || ' ' || (traceback->>'exception_type') || ' ' || (traceback->'additional_context'->>'queue_manager_id' ~ '^[0-9a-f-]{36}\$')::text FROM pgqueuer.pgqueuer_log WHERE job_id = $j{fail} AND status = 'exception'"
	),
	"true $j{fail} ValueError true",
	'... with PgQueuer\'s traceback record');
is(statuses($j{flaky}), 'queued picked queued picked successful',
	'flaky: the server retried the exception of a registered entrypoint (max_attempts)');
is(statuses($j{later}), 'queued picked queued picked successful', 'later: PGQ_RETRY put it back, then successful');
is( sql(
		"SELECT traceback->'additional_context'->>'retry_delay' FROM pgqueuer.pgqueuer_log WHERE job_id = $j{later} AND status = 'queued' AND traceback IS NOT NULL"
	),
	'0:00:00.200000',
	'... with the delay in the retry traceback, as PgQueuer writes it');
is(statuses($j{unstable}), 'queued picked successful',
	'unstable: the custom executor retried inside the worker, one outcome');
like($out, qr/myjobs: job $j{unstable} failed \(try 2 of 5\)/, '... after two failed tries');
like($out, qr/finished \(drained\): dequeued 6, successful 3, exception 2, retried 1/,
	'the worker counted each outcome');

# --- a lost connection: restart, or exit 1 ----------------------------------

($pid, $log) = spawn({}, $factory, '--restart-on-failure', '--restart-delay', '0.2');
ok(wait_log($log, qr/started/), 'a supervised worker starts');
terminate_worker();
ok(wait_log($log, qr/connection to the server lost.*reconnecting as worker (\S+) .*reconnected as worker \1 /s),
	'after its connection is terminated it reconnects, as the same worker');
$job = sql("SELECT pgqueuer.enqueue('noop')");
wait_sql("SELECT count(*) = 1 FROM pgqueuer.pgqueuer_log WHERE job_id = $job AND status = 'successful'",
	'the restarted worker processes new jobs');
kill 'INT', $pid;
is(wait_exit($pid), 0, 'SIGINT stops it with exit 0');
like(slurp_file($log), qr/myjobs: cleanup/s, 'the factory cleaned up');

($pid, $log) = spawn({}, $factory);
ok(wait_log($log, qr/started/), 'an unsupervised worker starts');
terminate_worker();
is(wait_exit($pid), 1, 'without --restart-on-failure a lost connection exits 1');
like(slurp_file($log), qr/pgq run: error: connection to the server lost/, '... with a clear message');

# --- libpgqueuer's API (test/client/test_libpgqueuer.c) ----------------------

my $api = $ENV{PGQ_CLIENT_TEST} // dirname($pgq) . '/test/test_libpgqueuer';
SKIP:
{
	skip "$api is not built (make client)", 1 unless -x $api;
	$node->safe_psql('postgres', 'CREATE DATABASE apitest');
	$node->safe_psql('apitest', 'CREATE EXTENSION pgqueuer');
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ $api, $node->connstr('apitest') ], '<', \undef, '>', \$stdout, '2>', \$stderr);
	my $rc = $? >> 8;
	for (split /\n/, $stdout)
	{
		if (/^(not )?ok \d+ - (.*)$/)
		{
			ok(!$1, "libpgqueuer: $2");
		}
		elsif (/^#/)
		{
			diag($_);
		}
	}
	is($rc, 0, 'the libpgqueuer API test program exits 0') or diag($stderr);
}

done_testing();
