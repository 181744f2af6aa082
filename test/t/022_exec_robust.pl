
# Copyright (c) pgqueuer contributors
#
# 022_exec_robust.pl
#	pgq run --exec when things go wrong (issue 19):
#	- a command never sees a partial payload: pgq is frozen (test hook
#	  PGQ_EXEC_TEST_HOOK=stop-worker-after-fork) right after the command's
#	  processes were made, and the command still reads the whole 300 kB
#	  payload (more than a pipe holds) and PGQ_PAYLOAD_SIZE; then pgq is
#	  killed and the command ends;
#	- a worker that dies before its keeper asked for the death signal
#	  (hook stop-keeper-before-prctl) starts no command at all;
#	- SIGKILL of the worker ends its commands and their children;
#	- pg_terminate_backend() of the worker's connection while commands run:
#	  the worker reconnects with the same queue_manager_id, keeps
#	  heartbeating, no command is killed, every job is logged successful
#	  exactly once;
#	- a lease that expires during the outage: the outcome that finished
#	  meanwhile is refused by the server and logged, a command still
#	  running is told to stop, and the requeued jobs then run once more;
#	- a small chaos drain: 300 jobs, four SIGKILLs of workers and a server
#	  crash; every job successful exactly once, no truncated payload, no
#	  command left behind.
#
# Every wait polls for an effect (a file, a log line, a row, a process
# state) with a deadline.

use strict;
use warnings;

use POSIX ':sys_wait_h';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $pgq = $ENV{PGQ_BIN};
plan skip_all => 'PGQ_BIN must name the pgq binary' unless $pgq && -x $pgq;
plan skip_all => 'needs Linux /proc' unless -d '/proc/self';

my $node = PostgreSQL::Test::Cluster->new('exec_robust');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
# the background worker expires leases within 100 ms
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
# the chaos drain crashes the server (the test framework turns this off)
$node->append_conf('postgresql.conf', "restart_after_crash = on");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');

my $dsn = $node->connstr('postgres');
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;
my $out = "$tmp/cmd";
my $nlog = 0;

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

# spawn(ENV, ARGS...): start "pgq --pg-dsn DSN run ARGS" with extra
# environment ENV (key _dsn replaces DSN); returns (pid, log file)
sub spawn
{
	my ($env, @args) = @_;
	my $log = "$tmp/worker" . ++$nlog . ".log";
	my $conn = $env->{_dsn} // $dsn;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		$ENV{PGAPPNAME} = 'pgq-under-test';
		$ENV{$_} = $env->{$_} for grep { $_ ne '_dsn' } keys %$env;
		open(STDIN, '<', '/dev/null') or die;
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec($pgq, '--pg-dsn', $conn, 'run', @args) or POSIX::_exit(127);
	}
	return ($pid, $log);
}

# wait_exit(PID): the exit status, or undef (after SIGKILL) on timeout
sub wait_exit
{
	my ($pid) = @_;
	my $end = time() + $deadline_s;
	while (time() < $end)
	{
		return $? >> 8 if waitpid($pid, WNOHANG) == $pid;
		usleep(20_000);
	}
	kill 'KILL', $pid;
	waitpid($pid, 0);
	return undef;
}

# poll(CODE): call CODE until it returns true or the deadline passes
sub poll
{
	my ($code) = @_;
	my $end = time() + $deadline_s;
	while (time() < $end)
	{
		return 1 if $code->();
		usleep(20_000);
	}
	return 0;
}

# wait_log(FILE, REGEX): poll FILE until REGEX matches
sub wait_log
{
	my ($file, $re) = @_;
	return 1 if poll(sub { -f $file && slurp_file($file) =~ $re });
	diag("timed out waiting for $re in $file:\n" . (-f $file ? slurp_file($file) : ''));
	return 0;
}

# read_file(FILE): its content without the final newline, '' if absent
sub read_file
{
	return '' unless -f $_[0];
	my $s = slurp_file($_[0]);
	chomp $s;
	return $s;
}

# proc(PID): (state, ppid) from /proc/PID/stat, () when there is none
sub proc
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return ();
	my $line = <$fh>;
	close($fh);
	return () unless defined $line && $line =~ /\)\s+(\S)\s+(\d+)/;
	return ($1, $2);
}

# alive(PID): the process exists and is no zombie
sub alive
{
	my ($state) = proc($_[0]);
	return defined $state && $state ne 'Z' && $state ne 'X';
}

# stopped_child(PPID): a child of PPID in state T (stopped), or undef
sub stopped_child
{
	my ($ppid) = @_;
	opendir(my $dh, '/proc') or return undef;
	for my $pid (grep { /^\d+$/ } readdir($dh))
	{
		my ($state, $parent) = proc($pid);
		return $pid if defined $state && $parent == $ppid && $state eq 'T';
	}
	return undef;
}

sub statuses
{
	return sql(
		"SELECT string_agg(status::text, ' ' ORDER BY id) FROM pgqueuer.pgqueuer_log WHERE job_id = $_[0]");
}

# terminate_worker(): pg_terminate_backend() on the pgq worker's connection
sub terminate_worker
{
	is( sql(
			"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgq-under-test'"
		),
		'1',
		"pg_terminate_backend() on the worker's connection");
}

# The command.  $EXEC_OUT.<job id>.<attempts>.*: pid, what it read
# (PGQ_PAYLOAD_SIZE and the bytes of stdin), done; MODE: quick (exit 0),
# hold (wait for $EXEC_OUT.go or $EXEC_OUT.<job id>.go), sleep (a child
# "sleep 300" whose pid goes to .child; wait for it).
my $script = "$tmp/job.sh";
open(my $fh, '>', $script) or die;
print $fh <<'EOS';
#!/bin/sh
o="$EXEC_OUT.$PGQ_JOB_ID.$PGQ_ATTEMPTS"
echo $$ > "$o.pid.tmp" && mv "$o.pid.tmp" "$o.pid"
got=$(cat | wc -c)
echo "$PGQ_PAYLOAD_SIZE $got" > "$o.read.tmp" && mv "$o.read.tmp" "$o.read"
case "$MODE" in
	hold) while [ ! -e "$EXEC_OUT.go" ] && [ ! -e "$EXEC_OUT.$PGQ_JOB_ID.go" ]; do sleep 0.05; done ;;
	sleep) sleep 300 & echo $! > "$o.child.tmp" && mv "$o.child.tmp" "$o.child"; wait ;;
esac
echo done > "$o.done"
exit 0
EOS
close($fh);
chmod 0755, $script;

# --- the payload is complete before the command starts -----------------------

my $job = sql("SELECT pgqueuer.enqueue('robust', convert_to(repeat('x', 300000), 'UTF8'))");
my ($pid, $log) = spawn({ EXEC_OUT => $out, MODE => 'hold', PGQ_EXEC_TEST_HOOK => 'stop-worker-after-fork' },
	'--exec', "robust=$script");
ok(poll(sub { ((proc($pid))[0] // '') eq 'T' }), 'the worker stops itself right after starting the command');
ok(poll(sub { read_file("$out.$job.0.read") ne '' }), 'the command reads its stdin while the worker is frozen');
is(read_file("$out.$job.0.read"), '300000 300000',
	'... all 300,000 bytes of the payload, and PGQ_PAYLOAD_SIZE says 300000');
is((proc($pid))[0], 'T', '... and the worker was still frozen then (no byte came from it afterwards)');
my $cmd = read_file("$out.$job.0.pid");
kill 'KILL', $pid;
waitpid($pid, 0);
ok(poll(sub { !alive($cmd) }), 'SIGKILL of the frozen worker ends the command');
ok(!-e "$out.$job.0.done", '... before it finished');
sql("SELECT pgqueuer.cancel(ARRAY[$job])");

# --- a worker dead before the keeper's prctl starts nothing ------------------

$job = sql("SELECT pgqueuer.enqueue('robust', 'abc')");
($pid, $log) = spawn({ EXEC_OUT => $out, MODE => 'quick', PGQ_EXEC_TEST_HOOK => 'stop-keeper-before-prctl' },
	'--exec', "robust=$script");
my $keeper;
ok(poll(sub { $keeper = stopped_child($pid) }), 'the job\'s keeper stops before asking for its death signal');
kill 'KILL', $pid;
waitpid($pid, 0);
kill 'CONT', $keeper;
ok(poll(sub { !alive($keeper) }), 'the worker is killed, the keeper resumes and ends');
ok(!-e "$out.$job.0.pid", '... without starting the command (its parent was gone)');
sql("SELECT pgqueuer.cancel(ARRAY[$job])");

# --- SIGKILL of the worker ends its commands and their children --------------

my @jobs = split /\n/, sql("SELECT pgqueuer.enqueue('robust', 'x') FROM generate_series(1, 3)");
($pid, $log) = spawn({ EXEC_OUT => $out, MODE => 'sleep' }, '--exec', "robust=$script");
ok(poll(sub { !grep { read_file("$out.$_.0.child") eq '' } @jobs }),
	'three commands run, each with a child process');
my @procs = map { (read_file("$out.$_.0.pid"), read_file("$out.$_.0.child")) } @jobs;
ok(!grep({ !alive($_) } @procs), '... all six processes are alive');
kill 'KILL', $pid;
waitpid($pid, 0);
ok(poll(sub { !grep { alive($_) } @procs }), 'after SIGKILL of the worker all six are gone');
sql("SELECT pgqueuer.cancel(ARRAY[" . join(',', @jobs) . "])");

# --- a connection blip: reconnect, keep heartbeating, report -----------------

sql("SELECT pgqueuer.register_entrypoint('blip', lease_timeout => '2 seconds')");
@jobs = split /\n/, sql("SELECT pgqueuer.enqueue('blip', 'x') FROM generate_series(1, 3)");
($pid, $log) = spawn({ EXEC_OUT => $out, MODE => 'hold' },
	'--exec', "blip=$script", '--restart-on-failure', '--restart-delay', '0.5', '--log-level', 'debug');
ok(poll(sub { !grep { read_file("$out.$_.0.read") eq '' } @jobs }), 'three long commands run');
@procs = map { read_file("$out.$_.0.pid") } @jobs;
my ($qm) = slurp_file($log) =~ /worker (\S+) started/;
terminate_worker();
ok(wait_log($log, qr/reconnected as worker \Q$qm\E after [\d.]+ s \(3 jobs held: 3 running/),
	'the worker reconnects with the same queue_manager_id, still holding its three jobs');
ok( wait_log($log, qr/reconnected as worker.*heartbeat: 3 jobs.*heartbeat: 3 jobs/s),
	'... and keeps heartbeating them (2 s lease)');
ok(!grep({ !alive($_) } @procs), 'no command was killed');
open($fh, '>', "$out.go") or die;
close($fh);
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 3 FROM pgqueuer.pgqueuer_log WHERE status = 'successful' AND job_id IN (" . join(',', @jobs) . ")"),
	'the three jobs complete');
is(join(' | ', map { statuses($_) } @jobs),
	join(' | ', ('queued picked successful') x 3),
	'each logged successful exactly once, picked once, never requeued');
ok(!grep({ !-e "$out.$_.0.done" } @jobs), 'every command ran to its end');
unlink("$out.go");
kill 'TERM', $pid;
is(wait_exit($pid), 0, 'the worker stops with exit 0');
my $text = slurp_file($log);
is(scalar(() = $text =~ /started: entrypoints/g), 1, 'one worker start only: the run was never restarted');
unlike($text, qr/terminated by signal|abandoning/, 'nothing was killed or abandoned');

# --- the lease expires during the outage -------------------------------------

sql("CREATE ROLE blipper LOGIN IN ROLE pgqueuer_worker");
sql("SELECT pgqueuer.register_entrypoint('lapse', lease_timeout => '1 second')");
my ($ja, $jb) = split /\n/, sql("SELECT pgqueuer.enqueue('lapse', 'x') FROM generate_series(1, 2)");
($pid, $log) = spawn({ EXEC_OUT => $out, MODE => 'hold', _dsn => "$dsn user=blipper" },
	'--exec', "lapse=$script", '--restart-on-failure', '--restart-delay', '0.3');
ok(poll(sub { read_file("$out.$ja.0.read") ne '' && read_file("$out.$jb.0.read") ne '' }),
	'two long commands run');
my $cmd_b = read_file("$out.$jb.0.pid");
sql("ALTER ROLE blipper NOLOGIN");
terminate_worker();
ok(wait_log($log, qr/could not reconnect/), 'the worker cannot reconnect (role not permitted to log in)');
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pgqueuer.pgqueuer_log WHERE job_id IN ($ja, $jb) AND status = 'queued' AND traceback->>'exception_type' = 'LeaseExpired'"
	),
	'meanwhile both leases expire and the server requeues both jobs');
open($fh, '>', "$out.$ja.go") or die;
close($fh);
ok(poll(sub { -e "$out.$ja.0.done" }), 'the first command finishes during the outage');
sql("ALTER ROLE blipper LOGIN");
ok( wait_log($log, qr/job $ja \(lapse\): outcome successful refused by the server: this worker no longer holds the job/),
	'after the reconnect the server refuses its outcome, and the worker logs that');
ok( wait_log($log, qr/job $jb \(lapse\) is no longer held by this worker .*told to stop/),
	'the command still running is found no longer held');
ok(poll(sub { !alive($cmd_b) }), '... and is stopped (SIGTERM to its group)');
ok(!-e "$out.$jb.0.done", '... before its end');
open($fh, '>', "$out.$jb.go") or die;
close($fh);
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM pgqueuer.pgqueuer_log WHERE status = 'successful' AND job_id IN ($ja, $jb)"),
	'the requeued jobs run again and complete');
is(statuses($ja), 'queued picked queued picked successful', 'job A: one successful, after the lease expiry');
is(statuses($jb), 'queued picked queued picked successful', 'job B: the same');
ok(-e "$out.$ja.1.done" && -e "$out.$jb.1.done", 'the second runs have PGQ_ATTEMPTS 1');
kill 'TERM', $pid;
is(wait_exit($pid), 0, 'the worker stops with exit 0');

# --- a small chaos drain -------------------------------------------------------
#
# test/stress/exec_chaos.sh in miniature: 300 jobs through two workers, a
# worker killed with SIGKILL four times while its commands run, and one
# server crash (a backend killed: the postmaster's crash restart).  Every
# job ends successful exactly once, no command read a truncated payload,
# and no command is left once the workers are gone.

my $chaos = "$tmp/chaos.sh";
my $runs = "$tmp/chaos.runs";
open($fh, '>', $chaos) or die;
print $fh <<'EOS';
#!/bin/sh
IFS= read -r p
case "$p" in
	*-end) [ "${#p}" = "$PGQ_PAYLOAD_SIZE" ] && r=ok || r=TRUNC ;;
	*) r=TRUNC ;;
esac
echo "$PGQ_JOB_ID $r" >> "$CHAOS_RUNS"
exit 0
EOS
close($fh);
chmod 0755, $chaos;
open($fh, '>', $runs) or die;
close($fh);

my $n = 300;
sql("SELECT pgqueuer.register_entrypoint('chaos', lease_timeout => '2 seconds', max_attempts => 1000)");
sql("SELECT count(*) FROM pgqueuer.enqueue_batch(ARRAY(SELECT 'chaos' FROM generate_series(1, $n)), ARRAY(SELECT convert_to('job-' || i || '-' || repeat('x', i * 37 % 5000) || '-end', 'UTF8') FROM generate_series(1, $n) i))"
);
my $first = sql("SELECT min(id) FROM pgqueuer.pgqueuer WHERE entrypoint = 'chaos'");
my $succ_sql = "SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful' AND job_id >= $first";
my @w;
my @wargs = ('--exec', "chaos=$chaos", '--restart-on-failure', '--restart-delay', '0.3',
	'--max-concurrent-tasks', '4');
$w[$_] = (spawn({ CHAOS_RUNS => $runs }, @wargs))[0] for 0 .. 1;
for my $round (1 .. 4)
{
	my $goal = int($round * $n / 6);
	ok($node->poll_query_until('postgres', "SELECT ($succ_sql) >= $goal"), "chaos: $goal jobs done");
	kill 'KILL', $w[ $round % 2 ];
	waitpid($w[ $round % 2 ], 0);
	$w[ $round % 2 ] = (spawn({ CHAOS_RUNS => $runs }, @wargs))[0];
	if ($round == 2)
	{
		my $victim = sql(
			"SELECT pid FROM pg_stat_activity WHERE application_name = 'pgq-under-test' LIMIT 1");
		ok(kill('KILL', $victim), "chaos: backend $victim killed, the server restarts");
		# wait for the restart here, inside eval: psql started while the
		# server is down may exit before reading its input, and the write
		# into its stdin then ends this script with EPIPE
		ok( poll(
				sub {
					my $one = eval { $node->safe_psql('postgres', 'SELECT 1') };
					return defined $one && $one eq '1';
				}),
			'chaos: the server accepts connections again');
	}
}
ok($node->poll_query_until('postgres', "SELECT ($succ_sql) = $n"), 'chaos: all jobs done');
kill 'TERM', @w;
is(wait_exit($w[0]) // -1, 0, 'chaos: worker 1 stops with exit 0');
is(wait_exit($w[1]) // -1, 0, 'chaos: worker 2 stops with exit 0');
is( sql("SELECT count(DISTINCT job_id) || ' ' || count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful' AND job_id >= $first"),
	"$n $n", 'chaos: every job logged successful exactly once');
is(sql("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'chaos'"), '0', 'chaos: the queue is empty');
my @lines = split /\n/, slurp_file($runs);
cmp_ok(scalar(@lines), '>=', $n, 'chaos: ' . scalar(@lines) . " command runs for $n jobs");
is(scalar(grep { !/ ok$/ } @lines), 0, 'chaos: no command read a truncated payload');
ok( poll(
		sub {
			opendir(my $dh, '/proc') or return 0;
			for my $p (grep { /^\d+$/ } readdir($dh))
			{
				open(my $c, '<', "/proc/$p/cmdline") or next;
				my $cmdline = <$c> // '';
				return 0 if index($cmdline, $chaos) >= 0 && alive($p);
			}
			return 1;
		}),
	'chaos: no command outlived its worker');

done_testing();
