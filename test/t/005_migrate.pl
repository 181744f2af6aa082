
# Copyright (c) pgqueuer contributors
#
# 005_migrate.pl
#	pgq migrate and pgqueuer.migrate() on tables created like PgQueuer's own
#	install command (test/fixtures/pgqueuer_1x.sql, pgqueuer_0x.sql), with
#	data in every state: queued, deferred, held, picked by a stopped and by
#	a running worker, log, statistics, schedules.
#
#	- 1.x in schema public: the dry run prints the plan and changes
#	  nothing; a running worker's picked job makes it refuse, naming it;
#	  with --requeue-picked every row moves unchanged (compared column by
#	  column with the renamed old tables), ids continue, verify() is clean,
#	  and a worker can dequeue the migrated jobs;
#	- 1.x in schema pgqueuer (PGQUEUER_SCHEMA=pgqueuer): the schema is
#	  renamed out of the extension's way first;
#	- 0.x in schema legacy through the SQL function: missing columns take
#	  defaults, statistics buckets that differed only in time_in_queue are
#	  added up, drop_old drops the old objects;
#	- errors: non-empty extension tables, missing schema or queue table,
#	  the schema pgqueuer, NULL arguments.

use strict;
use warnings;

use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgq = $ENV{PGQ_BIN};
plan skip_all => 'PGQ_BIN is not set' unless defined $pgq && $pgq ne '';

my $fixtures = dirname(__FILE__) . '/../fixtures';
my $node = PostgreSQL::Test::Cluster->new('migrate');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
$node->start;

# pgq_run(DB, ARGS...): (exit code, stdout, stderr) of pgq on database DB
sub pgq_run
{
	my ($db, @args) = @_;
	my ($out, $err) = ('', '');

	IPC::Run::run([ $pgq, '--pg-dsn', $node->connstr($db), @args ],
		'<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# sql(DB, QUERY)
sub sql
{
	return $node->safe_psql($_[0], $_[1]);
}

# fixture(DB, SCHEMA, FILE): PgQueuer's tables in SCHEMA
sub fixture
{
	my ($db, $schema, $file) = @_;

	sql('postgres', "CREATE DATABASE $db");
	sql($db, "CREATE SCHEMA IF NOT EXISTS $schema");
	my $ddl = slurp_file("$fixtures/$file");
	sql($db, "SET search_path = $schema;\n$ddl");
}

# jobs_1x(DB, SCHEMA): one job in every state, log, statistics, schedule
sub jobs_1x
{
	my ($db, $s) = @_;

	sql($db, qq{
		INSERT INTO $s.pgqueuer (priority, status, entrypoint, dedupe_key, payload, headers, attempts)
		VALUES (5, 'queued', 'ep', 'key-1', '\\x00ff10', '{"trace": "abc"}', 2),
			(0, 'queued', 'ep', NULL, NULL, 'null', 0);
		INSERT INTO $s.pgqueuer (priority, status, entrypoint, execute_after, payload)
		VALUES (1, 'queued', 'later', now() + interval '1 day', 'later');
		INSERT INTO $s.pgqueuer (priority, status, entrypoint, attempts, dedupe_key)
		VALUES (0, 'failed', 'ep', 3, 'key-held');
		INSERT INTO $s.pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat)
		VALUES (0, 'picked', 'ep', gen_random_uuid(), now() - interval '1 hour');
		INSERT INTO $s.pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat)
		VALUES (0, 'picked', 'ep', '11111111-2222-3333-4444-555555555555', now());
		SELECT setval('$s.pgqueuer_id_seq', 40);
		INSERT INTO $s.pgqueuer_log (job_id, status, priority, entrypoint, traceback, aggregated)
		VALUES (100, 'queued', 0, 'ep', NULL, true), (100, 'successful', 0, 'ep', NULL, true),
			(101, 'exception', 0, 'ep', '{"exception_type": "ValueError"}', false);
		INSERT INTO $s.pgqueuer_statistics (created, count, priority, status, entrypoint)
		VALUES ('2026-01-01 10:00:00+00', 7, 0, 'successful', 'ep'),
			('2026-01-01 10:00:01+00', 2, 0, 'exception', 'ep');
		INSERT INTO $s.pgqueuer_schedules (expression, entrypoint, last_run, next_run)
		VALUES ('* * * * *', 'cron_ep', '2026-01-01 09:59:00+00', '2026-01-01 10:00:00+00');
	});
}

# same_rows(DB, OLD, NEW, COLUMNS): rows of OLD missing or different in NEW
sub same_rows
{
	my ($db, $old, $new, $cols) = @_;

	return sql($db,
		"SELECT count(*) FROM (SELECT $cols FROM $old EXCEPT SELECT $cols FROM $new) d");
}

# === 1.x in public ===============================================================
fixture('m1', 'public', 'pgqueuer_1x.sql');
jobs_1x('m1', 'public');

my ($rc, $out, $err) = pgq_run('m1', 'migrate', '--dry-run');
is($rc, 0, 'dry run: exit 0');
like($out, qr/^create extension pgqueuer\nPgQueuer 1\.x layout in schema public\n/,
	'dry run: installs the extension and reads the layout');
like($out, qr/^jobs queued: 2\njobs deferred: 1\njobs held as failed: 1\n/m,
	'dry run: queued, deferred and held jobs');
like($out, qr/^jobs picked by stopped workers, requeued: 1\njobs picked by running workers, refused/m,
	'dry run: picked jobs of stopped and running workers');
like($out, qr/^log rows: 3\nstatistics count: 9\nschedules: 1\n/m,
	'dry run: log, statistics and schedules');
like($out, qr/^rename table public\.pgqueuer to pgqueuer_migrated\n/m, 'dry run: rename');
like($out, qr/Dry run: nothing was changed\.\n\z/, 'dry run: says nothing changed');
like($err, qr/notice: picked jobs in public\.pgqueuer belong to running workers: 6 \(worker 11111111-2222-3333-4444-555555555555\)/,
	'dry run: names the job of the running worker');
is(sql('m1', "SELECT count(*) FROM pg_extension WHERE extname = 'pgqueuer'"),
	'0', 'dry run: the extension is not installed');
is(sql('m1', 'SELECT count(*) FROM public.pgqueuer'), '6', 'dry run: the jobs stay');

($rc, $out, $err) = pgq_run('m1', 'migrate');
is($rc, 1, 'running worker: exit 1');
like($err,
	qr/error: picked jobs in public\.pgqueuer belong to running workers: 6 \(worker 11111111-2222-3333-4444-555555555555\) \(SQLSTATE 55006\)\nHint: .*--requeue-picked/,
	'running worker: refused, naming job and worker');
is(sql('m1', "SELECT count(*) FROM pg_extension WHERE extname = 'pgqueuer'"),
	'0', 'running worker: nothing changed');

($rc, $out, $err) = pgq_run('m1', 'migrate', '--requeue-picked');
is($rc, 0, 'migrate --requeue-picked: exit 0') or diag($err);
like($out, qr/Migration committed\.\n\z/, 'migrate: committed');
is( same_rows(
		'm1', 'public.pgqueuer_migrated', 'pgqueuer.pgqueuer',
		'id, priority, created, execute_after, entrypoint, dedupe_key, payload, headers, attempts'
	),
	'0',
	'jobs: ids, priority, execute_after, dedupe keys, payload, headers, attempts unchanged');
is( sql('m1',
		"SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM pgqueuer.pgqueuer"),
	'1:queued,2:queued,3:queued,4:failed,5:queued,6:queued',
	'jobs: held stays held, picked ones are queued again');
is(sql('m1', 'SELECT count(*) FROM pgqueuer.pgqueuer WHERE queue_manager_id IS NOT NULL'),
	'0', 'jobs: no owner left');
is( same_rows(
		'm1', 'public.pgqueuer_log_migrated', 'pgqueuer.pgqueuer_log',
		'id, created, job_id, status::text, priority, entrypoint, traceback, aggregated'),
	'0',
	'log: every row unchanged');
is( same_rows(
		'm1', 'public.pgqueuer_statistics_migrated', 'pgqueuer.pgqueuer_statistics',
		'created, count, priority, status::text, entrypoint'),
	'0',
	'statistics: every bucket unchanged');
is( same_rows(
		'm1', 'public.pgqueuer_schedules_migrated', 'pgqueuer.pgqueuer_schedules',
		'id, expression, entrypoint, next_run, last_run, status::text'),
	'0',
	'schedules: with next_run and last_run');
is(sql('m1', 'SELECT bool_and(NOT server_fired) FROM pgqueuer.pgqueuer_schedules'),
	't', 'schedules: stay with PgQueuer\'s scheduler');
is(sql('m1', 'SELECT count(*) FROM pgqueuer.verify()'), '0', 'verify() is clean');
cmp_ok(sql('m1', "SELECT pgqueuer.enqueue('new')"), '>', 40,
	'a new job continues after the old sequence');
is( sql('m1',
		"SELECT string_agg(id::text, ',' ORDER BY id) FROM pgqueuer.dequeue(10, ARRAY['ep'], gen_random_uuid())"
	),
	'1,2,5,6',
	'a worker dequeues the migrated due jobs');
is( sql('m1',
		"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'pgqueuer%_migrated'"
	),
	'4',
	'the old tables are kept, renamed');

# === 1.x in schema pgqueuer ========================================================
fixture('m2', 'pgqueuer', 'pgqueuer_1x.sql');
jobs_1x('m2', 'pgqueuer');
sql('m2', "UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour'");
($rc, $out, $err) = pgq_run('m2', 'migrate', '--schema', 'pgqueuer');
is($rc, 0, 'schema pgqueuer: exit 0') or diag($err);
like($out,
	qr/\Arename schema pgqueuer to pgqueuer_old\ncreate extension pgqueuer\nPgQueuer 1\.x layout in schema pgqueuer_old\n/,
	'schema pgqueuer: renamed out of the way, then the extension installed');
is(sql('m2', 'SELECT count(*) FROM pgqueuer.pgqueuer'), '6', 'schema pgqueuer: six jobs moved');
is(sql('m2', 'SELECT count(*) FROM pgqueuer_old.pgqueuer_migrated'),
	'6', 'schema pgqueuer: the old table kept in pgqueuer_old');

# === 0.x in schema legacy, through the SQL function ====================================
fixture('m3', 'legacy', 'pgqueuer_0x.sql');
sql('m3', q{
	INSERT INTO legacy.pgqueuer (priority, status, entrypoint, payload)
	VALUES (2, 'queued', 'old', 'a'), (0, 'queued', 'old', NULL);
	INSERT INTO legacy.pgqueuer (priority, status, entrypoint, execute_after)
	VALUES (0, 'queued', 'old', now() + interval '2 hours');
	INSERT INTO legacy.pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat)
	VALUES (0, 'picked', 'old', gen_random_uuid(), now() - interval '1 day');
	INSERT INTO legacy.pgqueuer_statistics (created, count, priority, time_in_queue, status, entrypoint)
	VALUES ('2026-01-01 10:00:00+00', 3, 0, '1 second', 'successful', 'old'),
		('2026-01-01 10:00:00+00', 4, 0, '2 seconds', 'successful', 'old'),
		('2026-01-01 10:00:00+00', 1, 0, '1 second', 'canceled', 'old');
	INSERT INTO legacy.pgqueuer_schedules (expression, entrypoint) VALUES ('0 * * * *', 'old_cron');
});
sql('m3', 'CREATE EXTENSION pgqueuer');
is( sql('m3',
		"SELECT string_agg(step || '=' || coalesce(rows::text, '-'), '; ') FROM pgqueuer.migrate('legacy', dry_run => false, drop_old => true)"
	),
	'PgQueuer 0.x layout in schema legacy=-; jobs queued=2; jobs deferred=1; jobs held as failed=0; '
	  . 'jobs picked by stopped workers, requeued=1; '
	  . 'jobs picked by running workers, refused (requeue_picked requeues them)=0; '
	  . 'log rows=0; statistics count=8; schedules=1; drop table legacy.pgqueuer=-; '
	  . 'drop table legacy.pgqueuer_statistics=-; drop table legacy.pgqueuer_schedules=-; '
	  . 'drop function legacy.fn_pgqueuer_changed() and the status types=-',
	'0.x: the steps and their counts');
is( sql('m3',
		"SELECT string_agg(concat_ws('/', id, priority, status, attempts, dedupe_key IS NULL, headers IS NULL, encode(payload, 'escape')), ',' ORDER BY id) FROM pgqueuer.pgqueuer"
	),
	'1/2/queued/0/t/t/a,2/0/queued/0/t/t,3/0/queued/0/t/t,4/0/queued/0/t/t',
	'0.x: jobs with the defaults of the missing columns');
is( sql('m3',
		"SELECT string_agg(status || ':' || count, ',' ORDER BY status::text) FROM pgqueuer.pgqueuer_statistics"
	),
	'canceled:1,successful:7',
	'0.x: buckets differing in time_in_queue are added up');
is( sql('m3',
		"SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'legacy'"
		  . " UNION ALL SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'legacy'"
		  . " UNION ALL SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'legacy'"
	),
	"0\n0\n0",
	'0.x: drop_old left nothing in the old schema');

# === errors ================================================================================
my ($ret, $stdout, $stderr) = $node->psql('m3', "SELECT * FROM pgqueuer.migrate('legacy')");
like($stderr, qr/schema "legacy"|no PgQueuer queue table/, 'a schema without a queue table is refused');
sql('m3', 'CREATE SCHEMA empty');
($ret, $stdout, $stderr) = $node->psql('m3',
	"\\set VERBOSITY verbose\nSELECT * FROM pgqueuer.migrate('empty')");
like($stderr, qr/42P01: no PgQueuer queue table empty\.pgqueuer/, 'no queue table: 42P01');
($ret, $stdout, $stderr) = $node->psql('m3',
	"\\set VERBOSITY verbose\nSELECT * FROM pgqueuer.migrate('nowhere')");
like($stderr, qr/3F000: schema "nowhere" does not exist/, 'missing schema: 3F000');
($ret, $stdout, $stderr) = $node->psql('m3',
	"\\set VERBOSITY verbose\nSELECT * FROM pgqueuer.migrate('pgqueuer')");
like($stderr, qr/22023: the source schema must not be "pgqueuer"/, 'schema pgqueuer: 22023');
($ret, $stdout, $stderr) = $node->psql('m3',
	"\\set VERBOSITY verbose\nSELECT * FROM pgqueuer.migrate(NULL)");
like($stderr, qr/22004/, 'NULL schema: 22004');
sql('m3', 'CREATE SCHEMA again');
sql('m3', "SET search_path = again;\n" . slurp_file("$fixtures/pgqueuer_1x.sql"));
($ret, $stdout, $stderr) = $node->psql('m3',
	"\\set VERBOSITY verbose\nSELECT * FROM pgqueuer.migrate('again', dry_run => false)");
like($stderr, qr/55000: table pgqueuer\.pgqueuer is not empty/,
	'extension tables in use: 55000');

$node->stop;
done_testing();
