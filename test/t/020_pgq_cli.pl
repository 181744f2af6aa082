
# Copyright (c) pgqueuer contributors
#
# 020_pgq_cli.pl
#	The pgq commands other than run: install, uninstall, upgrade, verify,
#	durability, autovac, queue, failed, requeue, wait, migrate, schedules,
#	jobs, workers, dashboard and listen.  For each: --help, option errors, connection
#	failure, and the output, exit status and database effect of its uses.
#	Connecting: the connect timeout (default 10 s, --connect-timeout,
#	PGCONNECT_TIMEOUT, the DSN's connect_timeout) against a server that
#	accepts and never answers, SIGTERM while connecting, and the warning
#	of --pg-password.
#
# The binary comes from $PGQ_BIN.  The background worker is off
# (pgqueuer.enabled = off) so that nothing but the commands under test
# changes the tables.  Long-running commands (listen, dashboard --interval)
# are started in the background and waited for by their output, with the
# test suite's default timeout as the bound; nothing sleeps.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use IO::Select;
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgq = $ENV{PGQ_BIN};
plan skip_all => 'PGQ_BIN is not set' unless defined $pgq && $pgq ne '';
BAIL_OUT("PGQ_BIN=$pgq is not executable") unless -x $pgq;

my $node = PostgreSQL::Test::Cluster->new('pgq_cli');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
$node->start;

my $dsn = $node->connstr('postgres');

# pgq_in(ENV, ARGS...)
#	Run pgq with the test node's DSN, extra environment variables ENV (a
#	hash ref) and ARGS.  Returns (exit code, stdout, stderr); the exit code
#	is -1 when pgq died of a signal.
sub pgq_in
{
	my ($env, @args) = @_;
	my ($out, $err) = ('', '');

	local %ENV = (%ENV, %$env);
	IPC::Run::run([ $pgq, '--pg-dsn', $dsn, @args ],
		'<', \undef, '>', \$out, '2>', \$err);
	my $status = $?;
	return (($status & 127) ? -1 : $status >> 8, $out, $err);
}

# check(GOT, EXPECTED, NAME)
#	is() for a string, like() for a regexp, nothing for undef.
sub check
{
	my ($got, $expected, $name) = @_;

	return unless defined $expected;
	if (ref $expected eq 'Regexp')
	{
		like($got, $expected, $name);
	}
	else
	{
		is($got, $expected, $name);
	}
}

# command_is(ARGS, RC, STDOUT, STDERR, NAME [, ENV])
#	Run pgq ARGS... and check its exit code, stdout and stderr (each a
#	string, a regexp or undef for "anything").  Returns (stdout, stderr).
sub command_is
{
	my ($args, $rc, $out, $err, $name, $env) = @_;
	my ($got_rc, $got_out, $got_err) = pgq_in($env // {}, @$args);

	is($got_rc, $rc, "$name: exit code");
	check($got_out, $out, "$name: stdout");
	check($got_err, $err, "$name: stderr");
	return ($got_out, $got_err);
}

# sql(QUERY): the query's result on the test node.
sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

# relpersistence of the four PgQueuer tables, as "p,p,u,u" in the order
# pgqueuer, pgqueuer_log, pgqueuer_statistics, pgqueuer_schedules; the
# log's is that of its partitions ("p+u" if they differ).
sub persistence
{
	return sql(
		"SELECT string_agg(p.persistence, ',' ORDER BY t.n)
		 FROM unnest(ARRAY['pgqueuer', 'pgqueuer_log', 'pgqueuer_statistics',
		                   'pgqueuer_schedules']) WITH ORDINALITY AS t(name, n)
		 CROSS JOIN LATERAL (
			SELECT string_agg(DISTINCT c.relpersistence::text, '+') AS persistence
			FROM pg_class c
			WHERE c.oid = ('pgqueuer.' || t.name)::regclass AND c.relkind = 'r'
			   OR c.oid IN (SELECT relid FROM pg_partition_tree(('pgqueuer.' || t.name)::regclass)
			                WHERE isleaf)) p");
}

# data_lines(TEXT): the lines of a plain-format table after its header.
sub data_lines
{
	my @lines = split /\n/, $_[0];
	shift @lines;
	return @lines;
}

# wait_for(HANDLE, TIMER, STREAM_REF, REGEXP): pump HANDLE until the stream
# matches, the timer expires or the process exits; true if it matched.
sub wait_for
{
	my ($h, $timer, $stream, $re) = @_;

	return pump_until($h, $timer, $stream, $re);
}

my @commands = qw(install uninstall upgrade verify durability autovac
  queue failed requeue wait migrate schedules jobs workers dashboard listen);

# --- every command: --help, -h, unknown option, connection failure -----------

foreach my $cmd (@commands)
{
	command_is([ $cmd, '--help' ], 0, qr/^Usage:\n  pgq \Q$cmd\E\b.*Exit status:/ms,
		'', "$cmd --help");
	command_is([ $cmd, '-h' ], 0, qr/^Usage:\n  pgq \Q$cmd\E\b/m, '', "$cmd -h");
	command_is([ $cmd, '--no-such-option' ], 2, '',
		qr/^pgq \Q$cmd\E: error: unrecognized option "--no-such-option"\nTry "pgq \Q$cmd\E --help" for more information\.\n\z/,
		"$cmd --no-such-option");
}

{
	my %args = (
		durability => ['durable'],
		queue => ['ep'],
		requeue => ['1'],
		wait => ['1']);
	my $bad_dsn = 'host=' . $node->host . ' port=1 dbname=postgres';

	foreach my $cmd (@commands)
	{
		my ($out, $err) = ('', '');

		IPC::Run::run([ $pgq, '--pg-dsn', $bad_dsn, $cmd, @{ $args{$cmd} // [] } ],
			'<', \undef, '>', \$out, '2>', \$err);
		is($? >> 8, 1, "$cmd without a server: exit code 1");
		like($err, qr/^pgq \Q$cmd\E: error: could not connect: /,
			"$cmd without a server: error message");
	}

	# install, uninstall and upgrade dry runs do not connect
	foreach my $cmd (qw(install uninstall upgrade))
	{
		my ($out, $err) = ('', '');

		IPC::Run::run([ $pgq, '--pg-dsn', $bad_dsn, $cmd, '--dry-run' ],
			'<', \undef, '>', \$out, '2>', \$err);
		is($? >> 8, 0, "$cmd --dry-run without a server: exit code 0");
		like($out, qr/\A(\S.*;\n)+\z/, "$cmd --dry-run without a server: statements");
	}
}

# --- verify, install, dry runs ------------------------------------------------

command_is([ 'verify', '--expect', 'absent' ], 0,
	"No PgQueuer database objects found\n", '', 'verify --expect absent before install');
command_is([ 'verify' ], 1,
	"missing extension 'pgqueuer'\nmissing schema 'pgqueuer'\n"
	  . "missing table 'pgqueuer.pgqueuer'\nmissing table 'pgqueuer.pgqueuer_log'\n"
	  . "missing table 'pgqueuer.pgqueuer_statistics'\n"
	  . "missing table 'pgqueuer.pgqueuer_schedules'\n"
	  . "missing function 'pgqueuer.fn_pgqueuer_changed'\n"
	  . "missing trigger 'tg_pgqueuer_changed'\n",
	'', 'verify before install');
command_is([ 'verify', '--expect', 'maybe' ], 2, '',
	qr/invalid value "maybe" for --expect: choose present or absent\nTry "pgq verify --help"/,
	'verify --expect maybe');

command_is([ 'install', '--dry-run' ], 0,
	"CREATE EXTENSION IF NOT EXISTS pgqueuer;\n", '', 'install --dry-run');
command_is([ 'install', '--dry-run', '--durability', 'volatile' ], 0,
	"BEGIN;\nCREATE EXTENSION IF NOT EXISTS pgqueuer;\n"
	  . "SELECT pgqueuer.set_durability('volatile');\nCOMMIT;\n",
	'', 'install --dry-run --durability volatile');
command_is([ 'uninstall', '--dry-run' ], 0,
	"DROP EXTENSION IF EXISTS pgqueuer;\nDROP SCHEMA IF EXISTS pgqueuer;\n", '',
	'uninstall --dry-run');
command_is([ 'upgrade', '--dry-run' ], 0,
	"ALTER EXTENSION pgqueuer UPDATE;\n", '', 'upgrade --dry-run');
command_is([ 'upgrade', '--dry-run', '-d', 'balanced' ], 0,
	"BEGIN;\nALTER EXTENSION pgqueuer UPDATE;\n"
	  . "SELECT pgqueuer.set_durability('balanced');\nCOMMIT;\n",
	'', 'upgrade --dry-run -d balanced');
is(sql("SELECT count(*) FROM pg_extension WHERE extname = 'pgqueuer'"),
	'0', 'the dry runs installed nothing');

command_is([ 'install', '--durability', 'forever' ], 2, '',
	qr/invalid value "forever" for --durability: choose volatile, balanced or durable/,
	'install --durability forever');
command_is([ 'install', 'extra' ], 2, '', qr/unexpected argument "extra"/,
	'install with an argument');
command_is([ 'upgrade' ], 1, '',
	qr/^pgq upgrade: error: .*pgqueuer.* \(SQLSTATE 42704\)$/m,
	'upgrade without the extension fails with the server error');

command_is([ 'install', '--durability', 'volatile' ], 0, '',
	"Installed PgQueuer schema (durability=volatile).\n",
	'install --durability volatile');
is(persistence(), 'u,u,u,u', 'install --durability volatile: all tables unlogged');
command_is([ 'verify' ], 0,
	"All required PgQueuer database objects are present.\n", '', 'verify after install');
command_is([ 'verify', '--expect', 'absent' ], 1,
	"unexpected extension 'pgqueuer'\nunexpected schema 'pgqueuer'\n"
	  . "unexpected table 'pgqueuer.pgqueuer'\nunexpected table 'pgqueuer.pgqueuer_log'\n"
	  . "unexpected table 'pgqueuer.pgqueuer_statistics'\n"
	  . "unexpected table 'pgqueuer.pgqueuer_schedules'\n"
	  . "unexpected function 'pgqueuer.fn_pgqueuer_changed'\n"
	  . "unexpected trigger 'tg_pgqueuer_changed'\n",
	'', 'verify --expect absent after install');
command_is([ 'install' ], 0, '',
	qr/^pgq install: notice: extension "pgqueuer" already exists, skipping\nInstalled PgQueuer schema \(durability=volatile\)\.\n\z/,
	'install again keeps the level');

# --- durability ---------------------------------------------------------------

# (the log's persistence is that of its sixteen day slots and its default
# partition, in the order in which statements through the log lock them)
command_is([ 'durability', 'durable', '--dry-run' ], 0,
	"ALTER TABLE pgqueuer.pgqueuer SET LOGGED;\n"
	  . join('', map { "ALTER TABLE pgqueuer.$_ SET LOGGED;\n" }
		  ((map { sprintf('pgqueuer_log_s%02d', $_) } 0 .. 15), 'pgqueuer_log_default'))
	  . "ALTER TABLE pgqueuer.pgqueuer_statistics SET LOGGED;\n"
	  . "ALTER TABLE pgqueuer.pgqueuer_schedules SET LOGGED;\n",
	'', 'durability durable --dry-run');
is(persistence(), 'u,u,u,u', 'durability --dry-run changed nothing');
command_is([ 'durability', 'balanced' ], 0, '',
	"Set PgQueuer durability to balanced.\n", 'durability balanced');
is(persistence(), 'p,u,u,p', 'durability balanced: log and statistics unlogged');
command_is([ 'durability', 'balanced', '--dry-run' ], 0, '', '',
	'durability --dry-run at the current level prints nothing');
command_is([ 'durability' ], 2, '', qr/missing argument LEVEL/, 'durability without LEVEL');
command_is([ 'durability', 'eternal' ], 2, '',
	qr/invalid value "eternal" for LEVEL/, 'durability eternal');
command_is([ 'durability', 'durable', 'volatile' ], 2, '',
	qr/unexpected argument "volatile"/, 'durability with two levels');

command_is([ 'upgrade', '--durability', 'durable' ], 0, '',
	qr/^(pgq upgrade: notice: .*\n)?Upgraded PgQueuer schema\.\n\z/,
	'upgrade --durability durable');
is(persistence(), 'p,p,p,p', 'upgrade --durability durable: all tables logged');

# --- autovac ------------------------------------------------------------------

my $reloptions =
  "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'pgqueuer.pgqueuer'::regclass";
my ($autovac_sql) = command_is([ 'autovac', '--dry-run' ], 0,
	qr/\A(ALTER TABLE pgqueuer\.\S+ SET \(.*\);\n){20}\z/, '', 'autovac --dry-run');
like($autovac_sql, qr/^ALTER TABLE pgqueuer\.pgqueuer SET \(.*fillfactor = 70\);$/m,
	'autovac --dry-run: fillfactor of the queue table');
is(sql($reloptions), '', 'autovac --dry-run changed nothing');
command_is([ 'autovac' ], 0, '', "Applied recommended autovacuum settings.\n", 'autovac');
like(sql($reloptions), qr/fillfactor=70/, 'autovac: storage parameters set');
command_is([ 'autovac', '--rollback', '--dry-run' ], 0,
	qr/\A(ALTER TABLE pgqueuer\.\S+ RESET \(.*\);\n){20}\z/, '',
	'autovac --rollback --dry-run');
like(sql($reloptions), qr/fillfactor=70/, 'autovac --rollback --dry-run changed nothing');
command_is([ 'autovac', '--rollback' ], 0, '',
	"Reset autovacuum settings to defaults.\n", 'autovac --rollback');
is(sql($reloptions), '', 'autovac --rollback: storage parameters reset');
command_is([ 'autovac', 'now' ], 2, '', qr/unexpected argument "now"/,
	'autovac with an argument');

# --- queue --------------------------------------------------------------------

my ($out) = command_is([ 'queue', 'cli_ep', '{"k": "välue"}' ], 0,
	qr/^Enqueued job (\d+)\.\n\z/, '', 'queue with a payload');
my ($id1) = $out =~ /(\d+)/;
is( sql(
		"SELECT entrypoint, priority, convert_from(payload, 'UTF8'), status,
		        execute_after <= now(), dedupe_key IS NULL
		 FROM pgqueuer.pgqueuer WHERE id = $id1"),
	qq(cli_ep|0|{"k": "välue"}|queued|t|t),
	'queue: the job row holds the payload bytes');

($out) = command_is([ 'queue', 'cli_ep', '--priority', '7', '--delay', '3600' ],
	0, qr/^Enqueued job \d+\.\n\z/, '', 'queue --priority --delay without payload');
my ($id2) = $out =~ /(\d+)/;
is( sql(
		"SELECT priority, payload IS NULL,
		        execute_after BETWEEN now() + interval '3590 s' AND now() + interval '3610 s'
		 FROM pgqueuer.pgqueuer WHERE id = $id2"),
	'7|t|t', 'queue --priority 7 --delay 3600: priority, no payload, deferred');

command_is([ 'queue', 'cli_dd', 'x', '--dedupe-key', 'k1' ], 0,
	qr/^Enqueued job \d+\.\n\z/, '', 'queue --dedupe-key k1');
command_is([ 'queue', 'cli_dd', 'y', '--dedupe-key', 'k1', '--on-conflict', 'skip' ],
	0, "Skipped: duplicate dedupe_key 'k1'.\n", '', 'queue duplicate key, skip');
command_is([ 'queue', 'cli_dd', 'z', '--dedupe-key', 'k1' ], 1,
	"Error: duplicate dedupe_key 'k1'.\n", '', 'queue duplicate key, raise (default)');
command_is([ 'queue', 'cli_dd', '--dedupe-key', "it's", ], 0,
	qr/^Enqueued job \d+\.\n\z/, '', 'queue --dedupe-key with a quote');
command_is([ 'queue', 'cli_dd', '--dedupe-key', "it's", '--on-conflict', 'raise' ], 1,
	qq(Error: duplicate dedupe_key "it's".\n), '',
	'queue duplicate key quoted like Python');
is(sql("SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'cli_dd'"),
	'2', 'queue: duplicates were not enqueued');

command_is([ 'queue' ], 2, '', qr/missing argument ENTRYPOINT/, 'queue without entrypoint');
command_is([ 'queue', 'a', 'b', 'c' ], 2, '', qr/unexpected argument "c"/,
	'queue with three arguments');
command_is([ 'queue', 'a', '--priority', 'high' ], 2, '',
	qr/invalid value "high" for --priority/, 'queue --priority high');
command_is([ 'queue', 'a', '--delay', '-1' ], 2, '',
	qr/invalid value "-1" for --delay/, 'queue --delay -1');
command_is([ 'queue', 'a', '--on-conflict', 'ignore' ], 2, '',
	qr/invalid value "ignore" for --on-conflict: choose raise or skip/,
	'queue --on-conflict ignore');
command_is([ 'queue', 'a', '--priority' ], 2, '',
	qr/option "--priority" requires an argument/, 'queue --priority without value');
command_is([ 'queue', '' ], 1, '',
	qr/^pgq queue: error: .* \(SQLSTATE 22023\)$/m,
	'queue with an empty entrypoint: server error');

# --- failed and requeue -------------------------------------------------------

command_is([ 'failed' ], 0, "No failed jobs.\n", '', 'failed with none');
sql("UPDATE pgqueuer.pgqueuer SET status = 'failed', attempts = 3 WHERE id IN ($id1, $id2)");
($out) = command_is([ 'failed', '--table-format', 'plain' ], 0,
	qr/^ +ID  Entrypoint +Attempts  Created +Payload bytes\n/, '',
	'failed --table-format plain');
my @rows = data_lines($out);
is(scalar @rows, 2, 'failed: two rows');
like($rows[0],
	qr/^ *$id1  cli_ep +3  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d +15$/,
	'failed: first row (payload of 15 bytes)');
like($rows[1], qr/^ *$id2  cli_ep +3  \S+ \S+ +0$/, 'failed: second row (no payload)');
($out) = command_is([ 'failed', '-n', '1', '-t', 'plain' ], 0, qr/ID/, '', 'failed -n 1');
is(scalar(data_lines($out)), 1, 'failed -n 1: one row');
command_is([ 'failed', '-n', 'x' ], 2, '', qr/invalid value "x" for --limit/,
	'failed -n x');
command_is([ 'failed', '-t', 'fancy' ], 2, '',
	qr/invalid table format "fancy" in --table-format: choose one of plain, simple, grid, pretty, github, pipe, orgtbl, psql, rst, presto, tsv, html\n/,
	'failed -t fancy');
command_is([ 'failed' ], 0, qr/\A\+-+\+/, '',
	'failed: default format is pretty', { PGQUEUER_TABLEFMT => '', TABLEFMT => '' });
command_is([ 'failed' ], 0, qr/\A\| +ID \| Entrypoint +\|/, '',
	'failed: PGQUEUER_TABLEFMT=github', { PGQUEUER_TABLEFMT => 'github' });
command_is([ 'failed' ], 0, qr/\A<table>\n<thead>\n<tr><th style="text-align: right;">ID<\/th>/,
	'', 'failed: TABLEFMT=html', { PGQUEUER_TABLEFMT => '', TABLEFMT => 'html' });
command_is([ 'failed' ], 2, '', qr/invalid table format "nope" in PGQUEUER_TABLEFMT/,
	'failed: bad PGQUEUER_TABLEFMT', { PGQUEUER_TABLEFMT => 'nope' });

command_is([ 'requeue', $id1, '999999' ], 0, "Re-queued 1 job(s).\n",
	qr/^pgq requeue: notice: job 999999 was not re-queued/,
	'requeue counts the jobs that changed');
is(sql("SELECT status, attempts FROM pgqueuer.pgqueuer WHERE id = $id1"),
	'queued|0', 'requeue: the job is queued again');
is(sql("SELECT status FROM pgqueuer.pgqueuer WHERE id = $id2"),
	'failed', 'requeue: the other job is still held');
command_is([ 'requeue', $id2 ], 0, "Re-queued 1 job(s).\n", '', 'requeue the second');
command_is([ 'failed' ], 0, "No failed jobs.\n", '', 'failed after requeue');
command_is([ 'requeue' ], 2, '', qr/missing argument ID/, 'requeue without ids');
command_is([ 'requeue', '12', 'x7' ], 2, '', qr/invalid value "x7" for ID/,
	'requeue x7');

# --- wait ---------------------------------------------------------------------

{
	my ($w1, $w2) = split /\n/, sql(
		"SELECT pgqueuer.enqueue_batch(ARRAY['cli_wait', 'cli_wait'])");
	sql("SELECT id FROM pgqueuer.dequeue(2, ARRAY['cli_wait'], gen_random_uuid())");
	command_is([ 'wait', '--timeout', '0', $w1, '999999', $w2 ], 1,
		"$w1 picked\n$w2 picked\n",
		qr/^pgq wait: notice: job 999999 is unknown.*\npgq wait: error: timeout: 2 job\(s\) still queued or picked after 0 s\n\z/,
		'wait --timeout 0: the jobs still running, exit 1');
	sql("SELECT pgqueuer.complete(ARRAY[$w1, $w2]::bigint[],"
		  . " ARRAY['successful', 'failed']::pgqueuer.pgqueuer_status[])");
	command_is([ 'wait', $w2, $w1 ], 0, "$w2 failed\n$w1 successful\n", '',
		'wait: outcomes in the order given, exit 0');

	# a wait that is running when the job ends
	my $w3 = sql("SELECT pgqueuer.enqueue('cli_wait')");
	my ($out, $err) = ('', '');
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	my $h = IPC::Run::start([ $pgq, '--pg-dsn', $dsn, 'wait', '--timeout', '600', $w3 ],
		'<', \undef, '>', \$out, '2>', \$err, $timer);
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%pgqueuer.wait_for(%'"
		  . " AND wait_event_type = 'Extension'")
	  or die "pgq wait did not start waiting";
	sql("SELECT pgqueuer.cancel(ARRAY[$w3]::bigint[])");
	$h->finish;
	is($? >> 8, 0, 'wait while the job runs: exit 0 once it ends');
	is($out, "$w3 canceled\n", 'wait while the job runs: its outcome');

	# Ctrl-C cancels the statement on the server
	my $w4 = sql("SELECT pgqueuer.enqueue('cli_wait')");
	($out, $err) = ('', '');
	$h = IPC::Run::start([ $pgq, '--pg-dsn', $dsn, 'wait', '--timeout', '600', $w4 ],
		'<', \undef, '>', \$out, '2>', \$err, $timer);
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE '%pgqueuer.wait_for(%'"
		  . " AND wait_event_type = 'Extension'")
	  or die "pgq wait did not start waiting";
	$h->signal('INT');
	$h->finish;
	is($? >> 8, 1, 'wait interrupted: exit 1');
	like($err, qr/canceling statement due to user request/,
		'wait interrupted: the statement was cancelled');
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE '%pgqueuer.wait_for(%'"
		  . " AND pid <> pg_backend_pid()")
	  or die "the server still waits";
	pass('wait interrupted: no backend keeps waiting');
	sql("SELECT pgqueuer.cancel(ARRAY[$w4]::bigint[])");

	command_is([ 'wait' ], 2, '', qr/missing argument ID/, 'wait without ids');
	command_is([ 'wait', '7', 'x' ], 2, '', qr/invalid value "x" for ID/, 'wait x');
	command_is([ 'wait', '--timeout', '-1', '7' ], 2, '',
		qr/invalid value "-1" for --timeout/, 'wait --timeout -1');
	command_is([ 'wait', $w1, $w1 ], 1, '',
		qr/job id $w1 appears more than once .*SQLSTATE 22023/, 'wait with a duplicate id');
}

# --- schedules ----------------------------------------------------------------

my ($sid1, $sid2, $sid3) = split /\|/, sql(
	"SELECT pgqueuer.schedule('cron_a', '*/5 * * * *'),
	        pgqueuer.schedule('cron_b', '0 0 * * *'),
	        pgqueuer.schedule('cron_b', '0 1 * * *')");
($out) = command_is([ 'schedules', '-t', 'plain' ], 0,
	qr/^ +id  expression +heartbeat +created +updated +next_run +last_run +status +entrypoint\n/,
	'', 'schedules -t plain');
@rows = data_lines($out);
is(scalar @rows, 3, 'schedules: three rows');
like($rows[0],
	qr/^ *$sid1  \*\/5 \* \* \* \* +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d(:\d\d)? +){4}queued +cron_a$/,
	'schedules: first row, last_run empty');
command_is([ 'schedules', '--remove', $sid1, '-r', 'cron_b', '-r', '424242', '-r', 'nothing' ],
	0, qr/\Aid +expression +heartbeat/,
	"Removed schedule $sid1.\nRemoved 2 schedule(s) of entrypoint 'cron_b'.\n"
	  . "No schedule with id 424242.\nNo schedule with entrypoint 'nothing'.\n",
	'schedules --remove by id and name', { PGQUEUER_TABLEFMT => 'plain' });
is(sql('SELECT count(*) FROM pgqueuer.pgqueuer_schedules'), '0',
	'schedules --remove: all removed');
command_is([ 'schedules', '-t', 'simple' ], 0,
	qr/\Aid +expression .*\n-+  -+  .*\n\z/, '',
	'schedules with none: header only, id left-aligned');
command_is([ 'schedules', 'x' ], 2, '', qr/unexpected argument "x"/,
	'schedules with an argument');

# --- dashboard ----------------------------------------------------------------

# the log now holds queued rows for cli_ep and cli_dd
($out) = command_is([ 'dashboard', '-t', 'plain' ], 0,
	qr/\ACreated +Count  Entrypoint +Status +Priority\n/, '', 'dashboard once');
unlike($out, qr/\e\[2J/, 'dashboard once: the screen is not cleared');
like($out, qr/^\S+ \S+ +\d+  cli_ep +queued +7$/m, 'dashboard: statistics row of cli_ep');
like($out, qr/\n\n +Jobs  Entrypoint +Status +Priority\n/, 'dashboard: queue table');
like($out, qr/^ +2  cli_dd +queued +0$/m, 'dashboard: queue size of cli_dd');
($out) = command_is([ 'dashboard', '--tail', '1', '-t', 'plain' ], 0, qr/Created/, '',
	'dashboard --tail 1');
my ($stats) = split /\n\n/, $out;
is(scalar(data_lines($stats)), 1, 'dashboard --tail 1: one statistics row');
($out) = command_is([ 'dashboard', '--limit', '2', '-t', 'plain' ], 0, qr/Created/, '',
	'dashboard --limit 2');
($stats) = split /\n\n/, $out;
is(scalar(data_lines($stats)), 2, 'dashboard --limit 2: two statistics rows');
command_is([ 'dashboard', '-t', 'grid' ], 0,
	qr/\A\+-+\+-+\+-+\+-+\+-+\+\n\| Created +\| +Count \| Entrypoint +\| Status +\| +Priority \|\n\+=+\+/,
	'', 'dashboard -t grid');
command_is([ 'dashboard', '--table-format', 'mediawiki' ], 2, '',
	qr/invalid table format "mediawiki"/, 'dashboard --table-format mediawiki');
command_is([ 'dashboard', '--interval', '0' ], 2, '', qr/invalid value "0" for --interval/,
	'dashboard --interval 0');
command_is([ 'dashboard', '--tail', '-3' ], 2, '', qr/invalid value "-3" for --tail/,
	'dashboard --tail -3');

{
	my ($dout, $derr) = ('', '');
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	my $h = IPC::Run::start(
		[ $pgq, '--pg-dsn', $dsn, 'dashboard', '--interval', '0.05', '-t', 'plain' ],
		'<', \undef, '>', \$dout, '2>', \$derr, $timer);

	ok(wait_for($h, $timer, \$dout, qr/(\e\[2J\e\[HCreated[^\e]*Jobs[^\e]*){2}/s),
		'dashboard --interval: clears the screen and refreshes');
	$h->signal('INT');
	$h->finish;
	is($h->full_result(0), 0, 'dashboard --interval: exit 0 after SIGINT');
	is($derr, '', 'dashboard --interval: nothing on stderr');
}

# --- listen -------------------------------------------------------------------

{
	my ($lout, $lerr) = ('', '');
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	my $h = IPC::Run::start([ $pgq, '--pg-dsn', $dsn, 'listen' ],
		'<', \undef, '>', \$lout, '2>', \$lerr, $timer);

	ok(wait_for($h, $timer, \$lerr, qr/Listening on channel "ch_pgqueuer"\.\n/),
		'listen: says it is listening');
	command_is([ 'queue', 'listen_ep', 'hello' ], 0, qr/^Enqueued job \d+\.\n\z/, '',
		'queue while listening');
	ok( wait_for(
			$h, $timer, \$lout,
			qr/^ch_pgqueuer \{.*"type": "table_changed_event".*"entrypoints": \["listen_ep"\]\}\n/m),
		'listen: prints the notification of the enqueue as one line');
	sql("NOTIFY ch_pgqueuer, 'raw text'");
	ok(wait_for($h, $timer, \$lout, qr/^ch_pgqueuer raw text\n/m),
		'listen: prints a payload as received');
	$h->signal('TERM');
	$h->finish;
	is($h->full_result(0), 0, 'listen: exit 0 after SIGTERM');
	is($lerr, qq(Listening on channel "ch_pgqueuer".\n), 'listen: nothing else on stderr');
}

{
	my ($lout, $lerr) = ('', '');
	my $timer = IPC::Run::timer($PostgreSQL::Test::Utils::timeout_default);
	my $h = IPC::Run::start([ $pgq, '--pg-dsn', $dsn, 'listen', '--channel', 'My Channel' ],
		'<', \undef, '>', \$lout, '2>', \$lerr, $timer);

	ok(wait_for($h, $timer, \$lerr, qr/Listening on channel "My Channel"\.\n/),
		'listen --channel: says it is listening');
	command_is([ 'queue', 'listen_ep' ], 0, qr/^Enqueued job/, '',
		'queue while listening elsewhere');
	sql(qq(NOTIFY "My Channel", '{"x": 1}'));
	ok(wait_for($h, $timer, \$lout, qr/^My Channel \{"x": 1\}\n/m),
		'listen --channel: prints the notification of its channel');
	$h->signal('INT');
	$h->finish;
	is($h->full_result(0), 0, 'listen --channel: exit 0 after SIGINT');
	unlike($lout, qr/ch_pgqueuer/, 'listen --channel: nothing from ch_pgqueuer');
}

command_is([ 'listen', '--channel' ], 2, '',
	qr/option "--channel" requires an argument/, 'listen --channel without value');
command_is([ 'listen', 'extra' ], 2, '', qr/unexpected argument "extra"/,
	'listen with an argument');

# --- queue --payload-file ----------------------------------------------------

{
	my $tmp = PostgreSQL::Test::Utils::tempdir();
	my $file = "$tmp/payload.bin";
	my $bytes = join('', map { chr($_ % 251) } 0 .. 199_999);
	open(my $fh, '>:raw', $file) or die "$file: $!";
	print $fh $bytes;
	close($fh);

	my ($out) = command_is([ 'queue', 'pf_ep', '--payload-file', $file ], 0,
		qr/^Enqueued job \d+\.\n\z/, '', 'queue --payload-file FILE (200 kB with NUL bytes)');
	my ($id) = $out =~ /(\d+)/;
	is(sql("SELECT octet_length(payload) || ' ' || md5(payload) FROM pgqueuer.pgqueuer WHERE id = $id"),
		'200000 ' . md5_hex($bytes), '... the payload is the file, byte for byte');

	my ($sout, $serr) = ('', '');
	IPC::Run::run([ $pgq, '--pg-dsn', $dsn, 'queue', 'pf_ep', '-f', '-' ],
		'<', \"from\nstdin", '>', \$sout, '2>', \$serr);
	is($? >> 8, 0, 'queue --payload-file -: exit 0');
	($id) = $sout =~ /(\d+)/;
	is(sql("SELECT encode(payload, 'escape') FROM pgqueuer.pgqueuer WHERE id = $id"),
		"from\nstdin", '... the payload is standard input');

	command_is([ 'queue', 'pf_ep', '--payload-file', "$tmp/none" ], 1, '',
		qr/^pgq queue: error: could not open payload file ".*none": No such file or directory$/m,
		'queue --payload-file of a missing file');
	command_is([ 'queue', 'pf_ep', 'inline', '--payload-file', $file ], 2, '',
		qr/give the payload either as PAYLOAD or with --payload-file, not both/,
		'queue with PAYLOAD and --payload-file');
	command_is([ 'queue', 'pf_ep', '--payload-file', $tmp ], 1, '',
		qr/^pgq queue: error: could not read payload file/m,
		'queue --payload-file of a directory');
}

# --- jobs and workers ----------------------------------------------------------

command_is([ 'workers' ], 0, "No workers.\n", '', 'workers with none');
my $qm = '00000000-0000-0000-0000-0000000000aa';
my $picked = sql("SELECT id FROM pgqueuer.dequeue(1, ARRAY['pf_ep'], '$qm')");
($out) = command_is([ 'jobs', '--table-format', 'plain', '--entrypoint', 'pf_ep' ], 0,
	qr/^ +ID  Entrypoint +Status +Priority +Attempts +Execute after +Heartbeat +Worker +Payload bytes\n/,
	'', 'jobs --entrypoint --table-format plain');
@rows = data_lines($out);
is(scalar @rows, 2, 'jobs: both jobs of the entrypoint');
like($rows[0], qr/^ *$picked  pf_ep +picked +0 +0 +\d{4}-.* \Q$qm\E +200000$/,
	'jobs: the picked job with its worker and payload size');
($out) = command_is([ 'jobs', '-t', 'plain', '-s', 'queued', '-e', 'pf_ep', '-e', 'other' ], 0,
	undef, '', 'jobs --status queued');
@rows = data_lines($out);
is(scalar @rows, 1, 'jobs --status: the queued job only');
like($rows[0], qr/^ *\d+  pf_ep +queued +0 +0 .* +10$/, 'jobs --status: its row');
command_is([ 'jobs', '-n', '1', '-t', 'plain' ], 0, qr/\A[^\n]*\n[^\n]*\n\z/, '',
	'jobs --limit 1: one row');
command_is([ 'jobs', '--status', 'failed', '--entrypoint', 'nobody' ], 0, "No jobs.\n", '',
	'jobs with no match');
command_is([ 'jobs', '--status', 'sleeping' ], 2, '',
	qr/invalid value "sleeping" for --status: choose queued, picked, failed/,
	'jobs --status of an unknown status');
command_is([ 'jobs', '--limit', '0' ], 2, '', qr/invalid value "0" for --limit: an integer from 1 to 10000/,
	'jobs --limit 0');
command_is([ 'failed', '--limit', '10001' ], 2, '', qr/invalid value "10001" for --limit: an integer from 1 to 10000/,
	'failed --limit 10001');
command_is([ 'jobs', 'extra' ], 2, '', qr/unexpected argument "extra"/, 'jobs with an argument');
($out) = command_is([ 'workers', '--table-format', 'plain' ], 0,
	qr/^Worker +Jobs +Entrypoints +Oldest heartbeat +Last heartbeat +PID +Client\n/, '', 'workers');
@rows = data_lines($out);
like($rows[0], qr/^\Q$qm\E +1  pf_ep +\d{4}-/, 'workers: the worker holding the picked job');
is(scalar @rows, 1, 'workers: one worker');
command_is([ 'workers', 'extra' ], 2, '', qr/unexpected argument "extra"/, 'workers with an argument');
sql("SELECT pgqueuer.complete(ARRAY[$picked]::bigint[], '{successful}')");

# --- connecting: timeout, SIGTERM, password ----------------------------------------

{
	# a "server" that accepts connections and never answers
	my $hole = IO::Socket::INET->new(Listen => 8, LocalAddr => '127.0.0.1',
		LocalPort => 0, Proto => 'tcp') or die "listen: $!";
	my $hole_dsn = 'host=127.0.0.1 port=' . $hole->sockport . ' dbname=x user=x';
	my @held;

	# hole_run(ENV, ARGS...): pgq against the hole; (exit code, stderr)
	my $hole_run = sub {
		my ($env, @args) = @_;
		my ($o, $e) = ('', '');
		local %ENV = %ENV;
		delete $ENV{PGCONNECT_TIMEOUT};
		$ENV{$_} = $env->{$_} for keys %$env;
		IPC::Run::run([ $pgq, @args ], '<', \undef, '>', \$o, '2>', \$e);
		return ($? >> 8, $e);
	};

	my ($rc, $err) = $hole_run->({}, '--pg-dsn', $hole_dsn, '--connect-timeout', '2', 'verify');
	is($rc, 1, 'a server that never answers: --connect-timeout 2 gives up, exit 1');
	like($err, qr/^pgq verify: error: could not connect: timeout expired after 2 s/m,
		'... saying so');
	($rc, $err) = $hole_run->({ PGCONNECT_TIMEOUT => '3' }, '--pg-dsn', $hole_dsn, 'queue', 'x');
	like($err, qr/could not connect: timeout expired after 3 s/, 'PGCONNECT_TIMEOUT is honoured');
	($rc, $err) = $hole_run->({}, '--pg-dsn', "$hole_dsn connect_timeout=2",
		'--connect-timeout', '600', 'failed');
	like($err, qr/could not connect: timeout expired after 2 s/,
		'the DSN\'s connect_timeout wins over --connect-timeout');
	($rc, $err) = $hole_run->({}, '--pg-dsn', $hole_dsn, 'jobs');
	is($rc, 1, 'without any setting pgq gives up too');
	like($err, qr/could not connect: timeout expired after 10 s/, '... after the default 10 s');
	push @held, $hole->accept while IO::Select->new($hole)->can_read(0);

	# SIGTERM while connecting (no timeout): listen and run stop at once
	for my $case ([ [ 'listen' ], 1, qr/could not connect: interrupted by SIGTERM/ ],
		[ [ 'run', '--exec', 'x=true' ], 0, qr/INFO: could not connect: connection attempt interrupted/ ])
	{
		my ($o, $e) = ('', '');
		my $h = IPC::Run::start([ $pgq, '--pg-dsn', $hole_dsn, '--connect-timeout', '0',
				@{ $case->[0] } ], '<', \undef, '>', \$o, '2>', \$e);
		ok(IO::Select->new($hole)->can_read($PostgreSQL::Test::Utils::timeout_default),
			"pgq $case->[0][0] is connecting to the silent server");
		push @held, $hole->accept;
		$h->signal('TERM');
		$h->finish;
		is($h->full_result(0) >> 8, $case->[1], "pgq $case->[0][0]: SIGTERM while connecting ends it, exit $case->[1]");
		like($e, $case->[2], '... saying why');
	}
	close($_) for @held;
	close($hole);
}

command_is([ '--connect-timeout', 'soon', 'verify' ], 2, '',
	qr/^pgq: error: invalid value "soon" for --connect-timeout: an integer from 0 to \d+ is required\nTry "pgq --help"/,
	'--connect-timeout soon');
command_is([ '--pg-password', 'not-needed', 'verify' ], 0, undef,
	qr/^pgq: warning: --pg-password shows the password to every local user in the process list; set PGPASSWORD or use ~\/\.pgpass instead$/m,
	'--pg-password works, with a warning');

# --- verify of a damaged installation, uninstall ------------------------------

sql('DROP INDEX pgqueuer.pgqueuer_deferred_idx');
command_is([ 'verify' ], 1, qr/pgqueuer_deferred_idx/, '', 'verify reports a dropped index');
unlike((pgq_in({}, 'verify'))[1], qr/All required/, 'verify: no success line on a mismatch');

command_is([ 'uninstall' ], 0, '', "Uninstalled PgQueuer schema.\n", 'uninstall');
command_is([ 'verify', '--expect', 'absent' ], 0,
	"No PgQueuer database objects found\n", '', 'verify --expect absent after uninstall');
command_is([ 'uninstall' ], 0, '',
	qr/\Apgq uninstall: notice: extension "pgqueuer" does not exist, skipping\npgq uninstall: notice: schema "pgqueuer" does not exist, skipping\nUninstalled PgQueuer schema\.\n\z/,
	'uninstall when absent');
command_is([ 'durability', 'durable' ], 1, '', qr/^pgq durability: error: .*SQLSTATE/m,
	'durability without the extension: server error');

# a schema holding objects of the user's survives uninstall
command_is([ 'install' ], 0, '', "Installed PgQueuer schema (durability=durable).\n",
	'install again');
sql('CREATE TABLE pgqueuer.mine (x int)');
command_is([ 'uninstall' ], 0, '',
	qr/\Apgq uninstall: notice: schema "pgqueuer" kept: it holds objects that are not part of the extension\nUninstalled PgQueuer schema\.\n\z/,
	'uninstall keeps a schema with foreign objects');
is(sql("SELECT count(*) FROM pg_extension WHERE extname = 'pgqueuer'"), '0',
	'uninstall: extension dropped');
is(sql("SELECT to_regclass('pgqueuer.mine') IS NOT NULL"), 't',
	'uninstall: the user\'s table is kept');
command_is([ 'verify', '--expect', 'absent' ], 1, "unexpected schema 'pgqueuer'\n", '',
	'verify --expect absent reports the kept schema');
sql('DROP SCHEMA pgqueuer CASCADE');
command_is([ 'install' ], 0, '', "Installed PgQueuer schema (durability=durable).\n",
	'install again, durable by default');
is(persistence(), 'p,p,p,p', 'install: all tables logged');

$node->stop;
done_testing();
