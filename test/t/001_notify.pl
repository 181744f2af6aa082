
# Copyright (c) pgqueuer contributors
#
# 001_notify.pl
#	Notifications on channel ch_pgqueuer: what our functions send (one
#	table_changed_event per call, naming the entrypoints and the number of
#	jobs), what the statement trigger sends for other writers (PgQueuer's
#	keys, INSERT/DELETE/TRUNCATE only), the cancellation_event of
#	cancel(), split below NOTIFY's 8000-byte payload limit, and the one
#	table_changed_event of complete() and cancel() naming the jobs that
#	reached an outcome.
#
# Notifications are captured by one psql session per statement under test:
# LISTEN, the statement, then SELECT 1 so that psql reports whatever arrived.
# psql prints them on stdout; stderr is parsed as well, so that a psql that
# printed them elsewhere would still be seen (and reported by a diag).

use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('notify');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
# Leases far longer than this test: no job picked here may expire and be
# announced by a dequeue() or run_maintenance() under test.
$node->append_conf('postgresql.conf', "pgqueuer.lease_timeout = '7d'");
# complete() and cancel() announce their outcomes (off by default; the end of
# this test checks the default)
$node->append_conf('postgresql.conf', "pgqueuer.notify_outcomes = on");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');

my $json = JSON::PP->new;

# Lines of the statement's own output (not notifications) of the last
# notifications() call.
my @last_output;

# Raw payload text of the notifications of the last notifications() call.
my @last_raw;

# notifications(SQL)
#	Run SQL in a session that LISTENs on ch_pgqueuer; return the decoded
#	payloads of the notifications received, in arrival order.  Dies if SQL
#	fails.
sub notifications
{
	my ($sql) = @_;
	my ($stdout, $stderr) = ('', '');

	$node->psql(
		'postgres', "LISTEN ch_pgqueuer;\n$sql\nSELECT 1;\n",
		stdout => \$stdout,
		stderr => \$stderr,
		on_error_die => 1);

	my $re =
	  qr/^Asynchronous notification "ch_pgqueuer" with payload "(.*)" received from server process with PID \d+\.$/;
	my @payloads;
	@last_output = ();
	@last_raw = ();
	foreach my $line (split /\n/, $stdout)
	{
		if ($line =~ $re)
		{
			push @last_raw, $1;
			push @payloads, $json->decode($1);
		}
		else
		{
			push @last_output, $line;
		}
	}
	foreach my $line (split /\n/, $stderr)
	{
		if ($line =~ $re)
		{
			diag('notification printed on stderr, not stdout');
			push @last_raw, $1;
			push @payloads, $json->decode($1);
		}
	}
	# the trailing SELECT 1
	pop @last_output if @last_output && $last_output[-1] eq '1';
	return @payloads;
}

my $qm1 = '11111111-1111-1111-1111-111111111111';
my $qm2 = '22222222-2222-2222-2222-222222222222';

sub keys_of
{
	my ($h) = @_;
	return join(',', sort keys %$h);
}

# ---------------------------------------------------------------------------
# the capture itself works (a plain pg_notify on the channel is seen)
my @n = notifications("SELECT pg_notify('ch_pgqueuer', '{\"probe\": 1}');");
is(scalar(@n), 1, 'capture: a manual pg_notify is received');
is($n[0]{probe}, 1, 'capture: its payload is decoded');

# ---------------------------------------------------------------------------
# enqueue() of a due job
@n = notifications("SELECT pgqueuer.enqueue('a');");
is(scalar(@n), 1, 'enqueue: exactly one notification');
is($n[0]{type}, 'table_changed_event', 'enqueue: type');
is($n[0]{operation}, 'insert', 'enqueue: operation insert');
is($n[0]{table}, 'pgqueuer', 'enqueue: table pgqueuer');
is_deeply($n[0]{entrypoints}, ['a'], 'enqueue: entrypoints ["a"]');
is($n[0]{jobs}, 1, 'enqueue: jobs 1');
is($n[0]{channel}, 'ch_pgqueuer', 'enqueue: channel');
like($n[0]{sent_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/,
	'enqueue: sent_at is an ISO timestamp');
is(keys_of($n[0]), 'channel,entrypoints,jobs,operation,sent_at,table,type',
	'enqueue: exactly the documented keys');
like($last_output[0] // '', qr/^\d+$/, 'enqueue: returned an id');

# ---------------------------------------------------------------------------
# enqueue_batch() of 5 jobs over 2 entrypoints
@n = notifications(
	"SELECT pgqueuer.enqueue_batch(ARRAY['b', 'a', 'b', 'a', 'b']);");
is(scalar(@n), 1, 'enqueue_batch: exactly one notification');
is($n[0]{operation}, 'insert', 'enqueue_batch: operation insert');
is_deeply($n[0]{entrypoints}, [ 'a', 'b' ],
	'enqueue_batch: entrypoints sorted and distinct');
is($n[0]{jobs}, 5, 'enqueue_batch: jobs 5');
is(scalar(@last_output), 5, 'enqueue_batch: returned 5 ids');

# ---------------------------------------------------------------------------
# enqueue() of a deferred job: nothing to wake anybody for
@n = notifications(
	"SELECT pgqueuer.enqueue('deferred', execute_after => '1 hour');");
is(scalar(@n), 0, 'deferred enqueue: no notification');
like($last_output[0] // '', qr/^\d+$/, 'deferred enqueue: returned an id');

# ---------------------------------------------------------------------------
# raw statements on the queue table: PgQueuer's trigger payload
@n = notifications(
	"INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'raw');"
);
is(scalar(@n), 1, 'raw INSERT: exactly one notification');
is($n[0]{operation}, 'insert', 'raw INSERT: operation insert');
is($n[0]{table}, 'pgqueuer', 'raw INSERT: table pgqueuer');
is($n[0]{type}, 'table_changed_event', 'raw INSERT: type');
is($n[0]{channel}, 'ch_pgqueuer', 'raw INSERT: channel');
ok(defined $n[0]{sent_at}, 'raw INSERT: sent_at present');
ok(!exists $n[0]{entrypoints}, 'raw INSERT: no entrypoints key');
is(keys_of($n[0]), 'channel,operation,sent_at,table,type',
	'raw INSERT: exactly PgQueuer\'s keys');

@n = notifications(
	"UPDATE pgqueuer.pgqueuer SET priority = priority + 1 WHERE entrypoint = 'raw';"
);
is(scalar(@n), 0, 'raw UPDATE: no notification');
is( $node->safe_psql(
		'postgres',
		"SELECT priority FROM pgqueuer.pgqueuer WHERE entrypoint = 'raw'"),
	'1',
	'raw UPDATE: the row was updated');

@n = notifications("DELETE FROM pgqueuer.pgqueuer WHERE entrypoint = 'raw';");
is(scalar(@n), 1, 'raw DELETE: exactly one notification');
is($n[0]{operation}, 'delete', 'raw DELETE: operation delete');
is($n[0]{table}, 'pgqueuer', 'raw DELETE: table pgqueuer');
ok(!exists $n[0]{entrypoints}, 'raw DELETE: no entrypoints key');

@n = notifications("TRUNCATE pgqueuer.pgqueuer;");
is(scalar(@n), 1, 'TRUNCATE: exactly one notification');
is($n[0]{operation}, 'truncate', 'TRUNCATE: operation truncate');
is($n[0]{table}, 'pgqueuer', 'TRUNCATE: table pgqueuer');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgqueuer.pgqueuer'),
	'0', 'TRUNCATE: queue is empty');

# ---------------------------------------------------------------------------
# dequeue() and heartbeat(): silent
my $wid = $node->safe_psql('postgres', "SELECT pgqueuer.enqueue('w')");
@n = notifications(
	"SELECT id FROM pgqueuer.dequeue(10, ARRAY['w'], '$qm1');");
is(scalar(@n), 0, 'dequeue: no notification');
is_deeply(\@last_output, [$wid], 'dequeue: returned the job');

@n = notifications("SELECT pgqueuer.heartbeat(ARRAY[$wid]::bigint[], '$qm1');");
is(scalar(@n), 0, 'heartbeat: no notification');
is_deeply(\@last_output, ['1'], 'heartbeat: extended one lease');

# ---------------------------------------------------------------------------
# complete(): one table_changed_event naming the completed jobs (for
# PgQueuer's CompletionWatcher); a limited entrypoint's freed capacity is
# named in the same event, an unlimited one says "jobs": 0 (no new work)
$node->safe_psql('postgres',
	"SELECT pgqueuer.register_entrypoint('lim', concurrency_limit => 1)");
my $lid = $node->safe_psql('postgres', "SELECT pgqueuer.enqueue('lim')");
is( $node->safe_psql(
		'postgres', "SELECT id FROM pgqueuer.dequeue(10, ARRAY['lim'], '$qm1')"),
	$lid,
	'limited: job picked');
@n = notifications(
	"SELECT pgqueuer.complete(ARRAY[$lid]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[]);"
);
is(scalar(@n), 1, 'complete (limited): one notification');
is($n[0]{type}, 'table_changed_event', 'complete (limited): type');
is_deeply($n[0]{entrypoints}, ['lim'], 'complete (limited): names lim');
is($n[0]{jobs}, 1, 'complete (limited): jobs 1');
is($n[0]{operation}, 'delete', 'complete (limited): operation delete');
is_deeply($n[0]{completed}, [$lid + 0], 'complete (limited): names the completed job');
is_deeply(\@last_output, [$lid], 'complete (limited): job completed');

my $uid = $node->safe_psql('postgres', "SELECT pgqueuer.enqueue('unl')");
is( $node->safe_psql(
		'postgres', "SELECT id FROM pgqueuer.dequeue(10, ARRAY['unl'], '$qm1')"),
	$uid,
	'unlimited: job picked');
@n = notifications(
	"SELECT pgqueuer.complete(ARRAY[$uid]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[]);"
);
is(scalar(@n), 1, 'complete (unlimited): one notification');
is($n[0]{type}, 'table_changed_event', 'complete (unlimited): type');
is($n[0]{operation}, 'delete', 'complete (unlimited): operation delete');
is($n[0]{jobs}, 0, 'complete (unlimited): jobs 0, no new work');
is_deeply($n[0]{entrypoints}, [], 'complete (unlimited): no entrypoint woken');
is_deeply($n[0]{completed}, [$uid + 0], 'complete (unlimited): names the completed job');
is( keys_of($n[0]),
	'channel,completed,entrypoints,jobs,operation,sent_at,table,type',
	'complete: PgQueuer\'s keys plus ours');
is_deeply(\@last_output, [$uid], 'complete (unlimited): job completed');

# a retried exception is no outcome: nothing to announce
$node->safe_psql('postgres',
	"SELECT pgqueuer.register_entrypoint('rty', max_attempts => 3)");
my $rid = $node->safe_psql('postgres', "SELECT pgqueuer.enqueue('rty')");
$node->safe_psql('postgres',
	"SELECT id FROM pgqueuer.dequeue(1, ARRAY['rty'], '$qm1')");
@n = notifications(
	"SELECT pgqueuer.complete(ARRAY[$rid]::bigint[], ARRAY['exception']::pgqueuer.pgqueuer_status[]);"
);
is(scalar(@n), 0, 'complete (retried with backoff): no notification');
is_deeply(\@last_output, [$rid], 'complete (retried): the job changed');
# out of the way of the deferred wake-ups tested below
$node->safe_psql('postgres', "SELECT pgqueuer.cancel(ARRAY[$rid]::bigint[])");

# ---------------------------------------------------------------------------
# cancel() of picked jobs: one cancellation_event per owner
my @cids = split /\n/,
  $node->safe_psql('postgres',
	"SELECT pgqueuer.enqueue_batch(ARRAY['c', 'c', 'c', 'c'])");
is(scalar(@cids), 4, 'cancel: 4 jobs enqueued');
my @picked1 = split /\n/,
  $node->safe_psql('postgres',
	"SELECT id FROM pgqueuer.dequeue(2, ARRAY['c'], '$qm1') ORDER BY id");
my @picked2 = split /\n/,
  $node->safe_psql('postgres',
	"SELECT id FROM pgqueuer.dequeue(1, ARRAY['c'], '$qm2') ORDER BY id");
is(scalar(@picked1), 2, 'cancel: worker 1 picked 2 jobs');
is(scalar(@picked2), 1, 'cancel: worker 2 picked 1 job');

my $idlist = join(',', @cids);
@n = notifications(
	"SELECT pgqueuer.cancel(ARRAY[$idlist]::bigint[]) ORDER BY 1;");
my @cev = grep { $_->{type} eq 'cancellation_event' } @n;
is(scalar(@cev), 2, 'cancel: one cancellation_event per worker');
is(scalar(@n), 3, 'cancel: plus one table_changed_event');
my @tev = grep { $_->{type} eq 'table_changed_event' } @n;
is($tev[0]{jobs}, 0, 'cancel: no new work for an unlimited entrypoint');
is_deeply([ sort { $a <=> $b } @{ $tev[0]{completed} // [] } ],
	[ sort { $a <=> $b } @cids ],
	'cancel: the table_changed_event names every canceled job');
my %by_qm = map { (defined $_->{queue_manager_id} ? $_->{queue_manager_id} : 'null') => $_ } @cev;
ok(exists $by_qm{$qm1} && exists $by_qm{$qm2},
	'cancel: events name the two owners');
is_deeply([ sort { $a <=> $b } @{ $by_qm{$qm1}{ids} // [] } ],
	[@picked1], 'cancel: worker 1 is told its picked ids');
is_deeply([ sort { $a <=> $b } @{ $by_qm{$qm2}{ids} // [] } ],
	[@picked2], 'cancel: worker 2 is told its picked id');
is( keys_of($cev[0]),
	'channel,ids,queue_manager_id,received_at,sent_at,type',
	'cancel: cancellation_event keys');
is($cev[0]{channel}, 'ch_pgqueuer', 'cancel: channel');
is_deeply([ sort { $a <=> $b } @last_output ],
	[ sort { $a <=> $b } @cids ],
	'cancel: all four jobs (queued and picked) canceled');

# ---------------------------------------------------------------------------
# cancel() of 2000 picked jobs: split below 8000 bytes, every id exactly once
$node->safe_psql('postgres',
	"SELECT pgqueuer.enqueue_batch(array_fill('big'::text, ARRAY[2000]))");
my $picked = 0;
for my $i (1 .. 4)
{
	$picked += $node->safe_psql('postgres',
		"SELECT count(*) FROM pgqueuer.dequeue(500, ARRAY['big'], '$qm1')");
}
is($picked, 2000, 'big cancel: 2000 jobs picked in 4 batches');
my @big = split /\n/,
  $node->safe_psql('postgres',
	"SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'big' AND status = 'picked' AND queue_manager_id = '$qm1' ORDER BY id"
  );
is(scalar(@big), 2000, 'big cancel: 2000 picked rows owned by worker 1');

@n = notifications(
	"SELECT count(*) FROM pgqueuer.cancel(ARRAY(SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'big'));"
);
is_deeply(\@last_output, ['2000'], 'big cancel: 2000 jobs canceled');
my @bev;
my @bev_raw;
for my $i (0 .. $#n)
{
	next unless $n[$i]{type} eq 'cancellation_event';
	push @bev, $n[$i];
	push @bev_raw, $last_raw[$i];
}
cmp_ok(scalar(@bev), '>', 1, 'big cancel: several cancellation_event payloads');
is(scalar(grep { length($_) >= 8000 } @bev_raw),
	0, 'big cancel: every payload is shorter than 8000 bytes');
is(scalar(grep { ($_->{queue_manager_id} // '') ne $qm1 } @bev),
	0, 'big cancel: every payload names worker 1');
my @got = sort { $a <=> $b } map { @{ $_->{ids} } } @bev;
is(scalar(@got), 2000, 'big cancel: 2000 ids in all (no duplicates)');
is_deeply(\@got, \@big, 'big cancel: the ids are exactly the canceled ones');
my @btev = grep { $_->{type} eq 'table_changed_event' } @n;
is(scalar(@btev), 1, 'big cancel: one table_changed_event');
ok(!exists $btev[0]{completed},
	'big cancel: the id list that does not fit is left out');
is($btev[0]{jobs}, 0, 'big cancel: still says there is no new work');

# ---------------------------------------------------------------------------
# run_maintenance(): a deferred job that became due is announced once
my $did = $node->safe_psql('postgres',
	"SELECT pgqueuer.enqueue('later', execute_after => '1 hour')");
@n = notifications("SELECT duty, rows FROM pgqueuer.run_maintenance();");
is(scalar(@n), 0, 'maintenance: nothing to announce before the job is due');
ok((grep { $_ eq 'deferred_wakeups|0' } @last_output),
	'maintenance: deferred_wakeups 0 before the job is due');

$node->safe_psql('postgres',
	"UPDATE pgqueuer.pgqueuer SET execute_after = now() WHERE id = $did");
@n = notifications("SELECT duty, rows FROM pgqueuer.run_maintenance();");
is(scalar(@n), 1, 'maintenance: one notification for the due job');
is($n[0]{type}, 'table_changed_event', 'maintenance: type');
is_deeply($n[0]{entrypoints}, ['later'], 'maintenance: names its entrypoint');
is($n[0]{jobs}, 1, 'maintenance: jobs 1');
ok((grep { $_ eq 'deferred_wakeups|1' } @last_output),
	'maintenance: deferred_wakeups 1');

@n = notifications("SELECT duty, rows FROM pgqueuer.run_maintenance();");
is(scalar(@n), 0, 'maintenance: the job is announced only once');

# ---------------------------------------------------------------------------
# pgqueuer.notify_outcomes off (the default): complete() and cancel() of an
# unlimited entrypoint announce nothing, a limited one only its capacity
is( $node->safe_psql('postgres',
		"SELECT boot_val FROM pg_settings WHERE name = 'pgqueuer.notify_outcomes'"),
	'off', 'notify_outcomes is off by default');
$node->safe_psql('postgres', "ALTER SYSTEM SET pgqueuer.notify_outcomes = off");
$node->safe_psql('postgres', "SELECT pg_reload_conf()");
$node->poll_query_until('postgres', "SELECT current_setting('pgqueuer.notify_outcomes') = 'off'")
  or die "the setting was not reloaded";
my ($off1, $off2) = split /\n/,
  $node->safe_psql('postgres', "SELECT pgqueuer.enqueue_batch(ARRAY['unl', 'unl'])");
$node->safe_psql('postgres', "SELECT id FROM pgqueuer.dequeue(10, ARRAY['unl'], '$qm1')");
@n = notifications(
	"SELECT pgqueuer.complete(ARRAY[$off1]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[]);"
);
is(scalar(@n), 0, 'notify_outcomes off: complete (unlimited) announces nothing');
@n = notifications("SELECT pgqueuer.cancel(ARRAY[$off2]::bigint[]);");
is(scalar(grep { $_->{type} eq 'table_changed_event' } @n),
	0, 'notify_outcomes off: cancel announces no outcome');
$lid = $node->safe_psql('postgres', "SELECT pgqueuer.enqueue('lim')");
$node->safe_psql('postgres', "SELECT id FROM pgqueuer.dequeue(10, ARRAY['lim'], '$qm1')");
@n = notifications(
	"SELECT pgqueuer.complete(ARRAY[$lid]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[]);"
);
is(scalar(@n), 1, 'notify_outcomes off: freed capacity is still announced');
ok(!exists $n[0]{completed}, 'notify_outcomes off: without the completed ids');

$node->stop;
done_testing();
