
# Copyright (c) pgqueuer contributors
#
# 031_security_values.pl
#	Values that break everyone, and the server-side holes of SECURITY.md
#	sections 5 and 6, where a process matters:
#	- the background worker's lease expiry goes on for every entrypoint
#	  when one registry row holds values out of range (written directly by
#	  a superuser), and says so once in the server log;
#	- at durability level volatile, job ids stay unique across a crash
#	  (immediate stop): the job id sequence stays logged;
#	- the hostile-argument sweep (sql/security_hostile.sql) run against a server with
#	  the background worker running leaves no crashed backend in the log.
#
# Every wait polls for the observable effect; nothing sleeps a guessed time.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = $ENV{PGQ_TOP} // '.';

my $node = PostgreSQL::Test::Cluster->new('values');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
$node->start;

# query(SQL): safe_psql shorthand on database postgres
sub query
{
	return $node->safe_psql('postgres', $_[0]);
}

query('CREATE EXTENSION pgqueuer');

# --- a bad registry row does not stop lease expiry for the others ------------

my $log_offset = -s $node->logfile;
query(q{
	SELECT pgqueuer.register_entrypoint('good', lease_timeout => '1 second');
	SELECT pgqueuer.register_entrypoint('bad', lease_timeout => '1 second');
	UPDATE pgqueuer.pgqueuer_entrypoints
	   SET lease_timeout = '10000 years', max_attempts = 2147483647
	 WHERE entrypoint = 'bad';
	SELECT pgqueuer.enqueue('good');
	SELECT pgqueuer.enqueue('bad');
	SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['good', 'bad'], gen_random_uuid());
	UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour';
});
ok( $node->poll_query_until(
		'postgres',
		"SELECT status = 'queued' AND attempts = 1 FROM pgqueuer.pgqueuer WHERE entrypoint = 'good'"),
	'the background worker expires the lease of the good entrypoint next to a bad registry row');
is(query("SELECT status FROM pgqueuer.pgqueuer WHERE entrypoint = 'bad'"),
	'picked', '... and skips the jobs of the bad one');
ok( $node->wait_for_log(
		qr/WARNING:  pgqueuer: entrypoint "bad": lease_timeout (?:\@ )?10000 years is outside 1 second \.\. 365 days/,
		$log_offset),
	'... and logs the bad row');
# a second good job expires in a later pass; the bad row is not logged again
query(q{
	SELECT pgqueuer.enqueue('good2');
	SELECT count(*) FROM pgqueuer.dequeue(10, ARRAY['good2'], gen_random_uuid());
	UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour' WHERE entrypoint = 'good2';
});
ok( $node->poll_query_until(
		'postgres',
		"SELECT status = 'queued' FROM pgqueuer.pgqueuer WHERE entrypoint = 'good2'"),
	'a later pass expires another lease');
my $log = slurp_file($node->logfile, $log_offset);
my $lines = () = $log =~ /entrypoint "bad": lease_timeout/g;
is($lines, 1, '... and the bad row was logged once, not on every pass');
unlike($log, qr/ERROR:.*pgqueuer maintenance duty "lease_expiry"|out of range/,
	'... and the lease-expiry duty did not fail');
query("SELECT pgqueuer.register_entrypoint('bad')");

# --- volatile: job ids stay unique across a crash ----------------------------

query("SELECT count(*) FROM pgqueuer.set_durability('volatile')");
is( query(
		"SELECT string_agg(relname || '=' || relpersistence::text, ',' ORDER BY relname) FROM pg_class"
		  . " WHERE relname IN ('pgqueuer', 'pgqueuer_id_seq') AND relnamespace = 'pgqueuer'::regnamespace"),
	'pgqueuer=u,pgqueuer_id_seq=p',
	'volatile: the queue table is unlogged, its id sequence logged');
my $before = query(
	"SELECT max(id) FROM pgqueuer.enqueue_batch(array_fill('v'::text, ARRAY[100])) AS t(id)");
ok($before >= 100, "100 jobs enqueued, highest id $before");

$node->stop('immediate');
$node->start;
is(query("SELECT count(*) FROM pgqueuer.pgqueuer"),
	'0', 'after the crash the unlogged queue table is empty');
my $after = query("SELECT pgqueuer.enqueue('v')");
cmp_ok($after, '>', $before, "a job enqueued after the crash gets a new id ($after > $before)");

# --- the hostile-argument sweep crashes no backend ---------------------------

$log_offset = -s $node->logfile;
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"DROP EXTENSION pgqueuer;\n" . slurp_file("$top/sql/security_hostile.sql"));
is($ret, 0, 'the hostile-argument sweep runs to its end');
like($stdout, qr/^1$/m, '... and its backend is still alive at the end');
$log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/terminated by signal|server process .* was terminated|PANIC/,
	'... and no backend crashed (server log)');
is(query('SELECT 1'), '1', 'the server still answers');

$node->stop;
done_testing();
