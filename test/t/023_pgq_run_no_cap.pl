
# Copyright (c) pgqueuer contributors
#
# 023_pgq_run_no_cap.pl
#	pgq run without --max-concurrent-tasks has no cap on the jobs it runs
#	at once, as PgQueuer's max_concurrent_tasks = None (issue 18, item 6):
#	with batches of two, seven jobs whose commands block until released
#	all run at once.  With --max-concurrent-tasks 3 exactly three run and
#	the other four stay queued until the first ones finish.
#
# Each job's command (--exec) leaves a file named after its job id, then
# waits for a release file; every wait polls for an effect with a deadline.

use strict;
use warnings;

use POSIX ':sys_wait_h';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $pgq = $ENV{PGQ_BIN};
plan skip_all => 'PGQ_BIN must name the pgq binary' unless $pgq && -x $pgq;

my $node = PostgreSQL::Test::Cluster->new('no_cap');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');

my $dsn = $node->connstr('postgres');
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
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

# started(DIR): how many job commands have started
sub started
{
	opendir(my $dh, $_[0]) or return 0;
	my $n = grep { /^started\.\d+$/ } readdir($dh);
	closedir($dh);
	return $n;
}

# the command: mark the start, wait for the release (bounded: it gives up
# with exit 1, an exception, after the test's deadline)
my $cmd = "$tmp/block.sh";
open(my $fh, '>', $cmd) or die;
print $fh <<'EOS';
#!/bin/sh
: > "$BLOCK_DIR/started.$PGQ_JOB_ID"
i=0
until [ -e "$BLOCK_DIR/release" ]; do
	i=$((i + 1))
	[ $i -gt $((BLOCK_DEADLINE * 50)) ] && exit 1
	sleep 0.02
done
exit 0
EOS
close($fh);
chmod 0755, $cmd;

# run_case(NAME, N jobs, EXPECTED at once, extra pgq run arguments)
sub run_case
{
	my ($name, $n, $expected, @extra) = @_;
	my $dir = "$tmp/$name";
	mkdir $dir or die "mkdir $dir: $!";
	my $ids = sql(
		"SELECT array_agg(id) FROM pgqueuer.enqueue_batch(array_fill('$name'::text, ARRAY[$n])) AS id");

	my $log = "$tmp/$name.log";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		$ENV{BLOCK_DIR} = $dir;
		$ENV{BLOCK_DEADLINE} = $deadline_s;
		open(STDIN, '<', '/dev/null') or die;
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec($pgq, '--pg-dsn', $dsn, 'run', '--exec', "$name=$cmd", '--batch-size', '2',
			'--mode', 'drain', @extra) or POSIX::_exit(127);
	}

	ok(poll(sub { started($dir) >= $expected }), "$name: $expected commands started at once")
	  or diag(slurp_file($log));
	# with a cap, the worker full: it asks for nothing more
	is( sql("SELECT count(*) FILTER (WHERE status = 'picked') || ' picked, '"
			  . " || count(*) FILTER (WHERE status = 'queued') || ' queued'"
			  . " FROM pgqueuer.pgqueuer WHERE id = ANY('$ids')"),
		"$expected picked, " . ($n - $expected) . " queued",
		"$name: the server holds $expected jobs picked by the worker");
	is(started($dir), $expected, "$name: no other command started");
	if ($expected < $n)
	{
		like(slurp_file($log), qr/at most $expected jobs at once/, "$name: the start line names the cap");
	}
	else
	{
		like(slurp_file($log), qr/no cap on jobs at once/, "$name: the start line says there is no cap");
	}

	open(my $r, '>', "$dir/release") or die;
	close($r);
	my $status;
	poll(sub { waitpid($pid, WNOHANG) == $pid and (($status = $? >> 8), 1) });
	unless (defined $status)
	{
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	is($status // -1, 0, "$name: the drain ends with exit 0");
	is( sql("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE status = 'successful' AND job_id = ANY('$ids')"),
		$n, "$name: all $n jobs successful");
}

# default: no cap, seven jobs at once with batches of two
run_case('nocap', 7, 7);
# the cap holds: three at once, the other four after them
run_case('cap3', 7, 3, '--max-concurrent-tasks', '3');

$node->stop;
done_testing();
