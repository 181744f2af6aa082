
# Copyright (c) pgqueuer contributors
#
# 004_wait.pl
#	wait_for() sleeps on the server and returns within milliseconds of the
#	commit that ends the last job it waits for: after complete(), cancel()
#	and PgQueuer's own raw DELETE; never before that commit; with the
#	statuses of jobs still running when the timeout passes first; and,
#	without shared_preload_libraries, through the documented fallback of
#	re-reading every 100 ms.
#
# The commit instant is the commit timestamp of the log row the outcome
# wrote (track_commit_timestamp), the return instant clock_timestamp()
# evaluated on the rows wait_for() returned.  The waiter is known to sleep
# when pg_stat_activity shows it in wait event type Extension.  Bounds are
# generous (500 ms, 1 s without preloading) for a loaded machine; the
# typical figures are printed with note().

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# node(NAME, PRELOAD): a started node with the extension
sub node
{
	my ($name, $preload) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'")
	  if $preload;
	$node->append_conf('postgresql.conf', "pgqueuer.enabled = off") if $preload;
	$node->append_conf('postgresql.conf', "track_commit_timestamp = on");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');
	return $node;
}

# picked_jobs(NODE, N): N new jobs, picked by a worker; returns their ids
sub picked_jobs
{
	my ($node, $n) = @_;
	my $ep = "w" . int(rand(1e9));

	$node->safe_psql('postgres',
		"SELECT pgqueuer.enqueue_batch(array_fill('$ep'::text, ARRAY[$n]))");
	return split /\n/,
	  $node->safe_psql('postgres',
		"SELECT id FROM pgqueuer.dequeue($n, ARRAY['$ep'], gen_random_uuid()) ORDER BY id"
	  );
}

# start_wait(NODE, IDS, TIMEOUT): a session sleeping in wait_for(); returns
# it once pg_stat_activity shows the sleep.  finish_wait() reads the result.
sub start_wait
{
	my ($node, $ids, $timeout) = @_;
	my $bg = $node->background_psql('postgres');
	my $list = join(',', @$ids);

	$bg->query_until(qr/started/, "\\echo started\n"
		  . "SELECT 'RESULT:' || coalesce(string_agg(job_id || '=' || status, ',' ORDER BY job_id), '')"
		  . " || ':' || extract(epoch FROM pg_catalog.clock_timestamp())"
		  . " FROM pgqueuer.wait_for(ARRAY[$list]::bigint[], '$timeout');\n");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity"
		  . " WHERE query LIKE '%wait_for(ARRAY[$list]%' AND wait_event_type = 'Extension'"
		  . " AND pid <> pg_backend_pid()")
	  or die "wait_for() did not start sleeping";
	return $bg;
}

# finish_wait(BG): (statuses "id=status,...", return instant as epoch)
sub finish_wait
{
	my ($bg) = @_;
	my $out = $bg->query_until(qr/RESULT:[^\n]*:[\d.]+\n/, '');

	$bg->quit;
	$out =~ /RESULT:([^\n]*):([\d.]+)\n/ or die "no result in: $out";
	return ($1, $2);
}

# commit_epoch(NODE, JOB, STATUS): commit instant of the job's STATUS log row
sub commit_epoch
{
	my ($node, $job, $status) = @_;

	return $node->safe_psql('postgres',
		"SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM pgqueuer.pgqueuer_log"
		  . " WHERE job_id = $job AND status = '$status'");
}

# still_waiting(NODE): whether a wait_for() session is still asleep
sub still_waiting
{
	my ($node) = @_;

	return $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%FROM pgqueuer.wait_for(%'"
		  . " AND wait_event_type = 'Extension' AND pid <> pg_backend_pid()");
}

# check_latency(NAME, RETURNED, COMMITTED, BOUND_MS)
sub check_latency
{
	my ($name, $returned, $committed, $bound) = @_;
	my $ms = ($returned - $committed) * 1000;

	note(sprintf("%s: returned %.2f ms after the commit", $name, $ms));
	cmp_ok($ms, '>=', 0, "$name: did not return before the commit");
	cmp_ok($ms, '<', $bound, "$name: returned within $bound ms of the commit");
}

my $node = node('wait', 1);

# --- complete(): one waiter, one job ------------------------------------------
my ($j) = picked_jobs($node, 1);
my $bg = start_wait($node, [$j], '60 s');
$node->safe_psql('postgres',
	"SELECT pgqueuer.complete(ARRAY[$j]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[])"
);
my ($statuses, $returned) = finish_wait($bg);
is($statuses, "$j=successful", 'complete: wait_for returns the outcome');
check_latency('complete', $returned, commit_epoch($node, $j, 'successful'), 500);

# --- two jobs: not done before the second one ends -----------------------------
my ($j1, $j2) = picked_jobs($node, 2);
$bg = start_wait($node, [ $j1, $j2 ], '60 s');
$node->safe_psql('postgres',
	"SELECT pgqueuer.complete(ARRAY[$j1]::bigint[], ARRAY['exception']::pgqueuer.pgqueuer_status[])"
);
# (that it did not return at the first commit is proven below: it returns
# after the second one)
is(still_waiting($node), '1', 'two jobs: still waiting after the first outcome');
$node->safe_psql('postgres', "SELECT pgqueuer.cancel(ARRAY[$j2]::bigint[])");
($statuses, $returned) = finish_wait($bg);
is($statuses, "$j1=exception,$j2=canceled", 'two jobs: both outcomes');
check_latency('cancel', $returned, commit_epoch($node, $j2, 'canceled'), 500);

# --- an outcome written by PgQueuer's own SQL (raw DELETE + log INSERT) ---------
($j) = picked_jobs($node, 1);
$bg = start_wait($node, [$j], '60 s');
$node->safe_psql('postgres',
	"WITH d AS (DELETE FROM pgqueuer.pgqueuer WHERE id = $j RETURNING id, priority, entrypoint)"
	  . " INSERT INTO pgqueuer.pgqueuer_log (job_id, status, priority, entrypoint)"
	  . " SELECT id, 'successful', priority, entrypoint FROM d");
($statuses, $returned) = finish_wait($bg);
is($statuses, "$j=successful", 'raw SQL: wait_for returns the outcome');
check_latency('raw SQL', $returned, commit_epoch($node, $j, 'successful'), 500);

# --- a held job is an outcome too ------------------------------------------------
($j) = picked_jobs($node, 1);
$bg = start_wait($node, [$j], '60 s');
$node->safe_psql('postgres',
	"SELECT pgqueuer.complete(ARRAY[$j]::bigint[], ARRAY['failed']::pgqueuer.pgqueuer_status[])"
);
($statuses, $returned) = finish_wait($bg);
is($statuses, "$j=failed", 'hold: wait_for returns failed');
check_latency('hold', $returned, commit_epoch($node, $j, 'failed'), 500);

# --- an outcome rolled back wakes nobody for good -----------------------------
($j) = picked_jobs($node, 1);
my ($q) = $node->safe_psql('postgres', "SELECT pgqueuer.enqueue('w_queued')");
my $t0 = $node->safe_psql('postgres', "SELECT extract(epoch FROM clock_timestamp())");
$bg = start_wait($node, [ $j, $q ], '1 s');
$node->safe_psql('postgres',
	"BEGIN; SELECT pgqueuer.complete(ARRAY[$j]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[]); ROLLBACK;"
);
($statuses, $returned) = finish_wait($bg);
is($statuses, "$j=picked,$q=queued",
	'timeout: the jobs still running are returned as they are');
cmp_ok($returned - $t0, '>=', 1, 'timeout: returned only once the timeout passed');

# --- without shared_preload_libraries: the documented 100 ms fallback ----------
my $plain = node('wait_plain', 0);
($j) = picked_jobs($plain, 1);
$bg = start_wait($plain, [$j], '60 s');
$plain->safe_psql('postgres',
	"SELECT pgqueuer.complete(ARRAY[$j]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[])"
);
($statuses, $returned) = finish_wait($bg);
is($statuses, "$j=successful", 'not preloaded: wait_for returns the outcome');
check_latency('not preloaded', $returned,
	commit_epoch($plain, $j, 'successful'), 1000);

$plain->stop;
$node->stop;
done_testing();
