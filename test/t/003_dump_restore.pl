# Copyright (c) pgqueuer contributors
#
# 003_dump_restore.pl
#	pg_dump / pg_restore of a database using pgqueuer keeps everything the
#	extension registered with pg_extension_config_dump (jobs, log,
#	statistics, schedules, entrypoint registry, settings and the sequences)
#	and the log's rows in their day slots (partitions that are members of
#	the extension, each registered for pg_dump),
#	and the settings trigger re-applies the stored durability level and
#	autovac choice to the freshly created tables.  Checked for a custom
#	format dump restored with pg_restore (database dst) and for a plain SQL
#	dump restored with psql (database dst2), and for the custom dump restored
#	by four parallel pg_restore jobs (database dst3).  The deferred wake-up
#	watermark, this server's runtime state, is not dumped; every sequence
#	(jobs, log, statistics, schedules) continues above the restored ids.  A
#	control database shows that set_durability() switches the four tables
#	both ways.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_restore');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
# No lease of this test may expire behind its back.
$node->append_conf('postgresql.conf', "pgqueuer.lease_timeout = '7d'");
$node->start;

my $qm = '33333333-3333-3333-3333-333333333333';
my $tables = "ARRAY['pgqueuer', 'pgqueuer_log', 'pgqueuer_statistics', 'pgqueuer_schedules']";

# query(DB, SQL): safe_psql shorthand
sub query
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql);
}

# persistence(DB): relpersistence of the four tables, in the order
# pgqueuer, pgqueuer_log, pgqueuer_statistics, pgqueuer_schedules; the
# log's is that of its partitions ("p+u" if they differ)
sub persistence
{
	my ($db) = @_;
	return query($db, qq{
		SELECT string_agg(coalesce(p.persistence, '?'), ',' ORDER BY e.ord)
		FROM unnest($tables) WITH ORDINALITY AS e(tab, ord)
		LEFT JOIN pg_class t
		  ON t.relname = e.tab AND t.relnamespace = 'pgqueuer'::regnamespace
		CROSS JOIN LATERAL (
			SELECT string_agg(DISTINCT c.relpersistence::text, '+') AS persistence
			FROM pg_class c
			WHERE c.oid = t.oid AND t.relkind = 'r'
			   OR c.oid IN (SELECT relid FROM pg_partition_tree(t.oid) WHERE isleaf)) p});
}

# snapshot(DB): what must survive dump and restore, as text
sub snapshot
{
	my ($db) = @_;
	my %s;
	$s{queue_size} = query($db,
		'SELECT count, priority, entrypoint, status FROM pgqueuer.queue_size()');
	$s{per_status} = query($db,
		'SELECT entrypoint, status, count(*) FROM pgqueuer.pgqueuer GROUP BY 1, 2 ORDER BY 1, 2'
	);
	$s{jobs_md5} = query($db, q{
		SELECT md5(coalesce(string_agg(
			concat_ws('|', id, priority, queue_manager_id, status, entrypoint,
					  dedupe_key, attempts, execute_after, heartbeat), E'\n'
			ORDER BY id), ''))
		FROM pgqueuer.pgqueuer});
	$s{log_count} = query($db, 'SELECT count(*) FROM pgqueuer.pgqueuer_log');
	$s{log_md5} = query($db, q{
		SELECT md5(coalesce(string_agg(
			concat_ws('|', id, job_id, status, priority, entrypoint, aggregated, created),
			E'\n' ORDER BY id), ''))
		FROM pgqueuer.pgqueuer_log});
	# the partitions of the log (its day slots), their bounds and rows
	$s{log_partitions} = query($db, q{
		SELECT string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid), E'\n' ORDER BY c.relname)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'pgqueuer.pgqueuer_log'::regclass});
	$s{log_per_partition} = query($db,
		'SELECT tableoid::regclass, count(*) FROM pgqueuer.pgqueuer_log GROUP BY 1 ORDER BY 1');
	$s{stat_sum} = query($db,
		'SELECT coalesce(sum(count), 0) FROM pgqueuer.pgqueuer_statistics');
	$s{stat_rows} = query($db, 'SELECT count(*) FROM pgqueuer.pgqueuer_statistics');
	$s{entrypoint} = query($db,
		"SELECT e::text FROM pgqueuer.pgqueuer_entrypoints e WHERE entrypoint = 'limited'"
	);
	$s{schedule} = query($db,
		'SELECT id, expression, entrypoint, next_run, server_fired FROM pgqueuer.pgqueuer_schedules ORDER BY id'
	);
	$s{settings} = query($db,
		"SELECT name, value FROM pgqueuer.pgqueuer_settings WHERE name IN ('durability', 'autovac') ORDER BY name"
	);
	$s{dedupe_job} = query($db,
		"SELECT id, status FROM pgqueuer.pgqueuer WHERE dedupe_key = 'dk-1'");
	return \%s;
}

# ---------------------------------------------------------------------------
# the source database
$node->safe_psql('postgres', 'CREATE DATABASE src');
query('src', 'CREATE EXTENSION pgqueuer');

# 1000 jobs over alpha and beta: priorities 0..2, every 10th deferred by an
# hour, job 7 (due now) with a dedupe key.
is( query('src', q{
		SELECT count(*) FROM pgqueuer.enqueue_batch(
			ARRAY(SELECT CASE WHEN g % 2 = 0 THEN 'alpha' ELSE 'beta' END
				  FROM generate_series(1, 1000) g ORDER BY g),
			NULL,
			ARRAY(SELECT g % 3 FROM generate_series(1, 1000) g ORDER BY g),
			ARRAY(SELECT CASE WHEN g % 10 = 0 THEN interval '1 hour' ELSE interval '0' END
				  FROM generate_series(1, 1000) g ORDER BY g),
			ARRAY(SELECT CASE WHEN g = 7 THEN 'dk-1' END
				  FROM generate_series(1, 1000) g ORDER BY g)) AS id
		WHERE id IS NOT NULL}),
	'1000',
	'src: 1000 jobs enqueued');

my @picked = split /\n/,
  query('src',
	"SELECT id FROM pgqueuer.dequeue(10, ARRAY['alpha', 'beta'], '$qm') ORDER BY id");
is(scalar(@picked), 10, 'src: 10 jobs picked');
my $failed_id = $picked[0];
is( query('src',
		"SELECT pgqueuer.complete(ARRAY[$failed_id]::bigint[], ARRAY['failed']::pgqueuer.pgqueuer_status[])"
	),
	$failed_id,
	'src: one picked job held as failed');

query('src', "SELECT pgqueuer.register_entrypoint('limited', concurrency_limit => 3)");
like(query('src', "SELECT pgqueuer.schedule('tick', '\@hourly')"),
	qr/^\d+$/, 'src: schedule registered');
cmp_ok(query('src', 'SELECT count(*) FROM pgqueuer.log_statistics()'),
	'>', 0, 'src: log_statistics returned buckets');
query('src', "SELECT pgqueuer.set_durability('balanced')");
query('src', 'SELECT pgqueuer.autovac()');
# the watermark the background worker keeps (it is off here)
query('src', q{INSERT INTO pgqueuer.pgqueuer_settings (name, value)
	VALUES ('deferred_notified_until', pg_catalog.date_part('epoch', pg_catalog.now())::text)});

# a log row of three days ago, in another day slot than today's
# (written as PgQueuer's clients write it, then counted)
query('src', q{INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint)
	VALUES (now() - interval '3 days', 1, 'successful', 0, 'alpha')});
query('src', 'SELECT count(*) FROM pgqueuer.log_statistics()');

# sanity of the source, so that the comparisons below compare something
my $src = snapshot('src');
like($src->{log_partitions}, qr/^pgqueuer_log_default DEFAULT\n(pgqueuer_log_s\d\d FOR VALUES IN \(\d+\)\n){15}pgqueuer_log_s15 FOR VALUES IN \(15\)$/,
	'src: the log has its default partition and sixteen day slots');
like($src->{log_per_partition}, qr/^pgqueuer\.pgqueuer_log_s\d\d\|1\npgqueuer\.pgqueuer_log_s\d\d\|\d+$|^pgqueuer\.pgqueuer_log_s\d\d\|\d+\npgqueuer\.pgqueuer_log_s\d\d\|1$/,
	'src: the log rows are in two day slots');
is( query('src',
		'SELECT status, count(*) FROM pgqueuer.pgqueuer GROUP BY status ORDER BY status'),
	"queued|990\npicked|9\nfailed|1",
	'src: 990 queued, 9 picked, 1 failed');
is( query('src',
		"SELECT count(*) FROM pgqueuer.pgqueuer WHERE status = 'picked' AND queue_manager_id = '$qm'"
	),
	'9',
	'src: the picked jobs belong to the fixed queue manager');
is( query('src',
		"SELECT count(*) FROM pgqueuer.pgqueuer WHERE execute_after > now() + interval '30 minutes'"
	),
	'100',
	'src: 100 deferred jobs');
cmp_ok($src->{log_count}, '>=', 1010, 'src: log rows for enqueue and dequeue');
is($src->{stat_sum}, $src->{log_count},
	'src: statistics count every log row');
like($src->{entrypoint}, qr/^\(limited,3,/,
	'src: entrypoint limited registered with concurrency limit 3');
like($src->{schedule}, qr/^\d+\|[^|]+\|tick\|\d{4}-/, 'src: one schedule row');
is($src->{settings}, "autovac|on\ndurability|balanced",
	'src: settings stored');
like($src->{dedupe_job}, qr/^\d+\|(queued|picked)$/,
	'src: the dedupe-key job is active');
is(persistence('src'), 'p,u,u,p', 'src: balanced persistence');
is( query('src',
		"SELECT 'fillfactor=70' = ANY (reloptions) FROM pg_class WHERE oid = 'pgqueuer.pgqueuer'::regclass"
	),
	't',
	'src: fillfactor=70 on the queue table');
is(query('src', "SELECT string_agg(v, E'\\n') FROM pgqueuer.verify() v"),
	'', 'src: verify() is clean');

my $src_max_id = query('src', 'SELECT max(id) FROM pgqueuer.pgqueuer');
my $src_seq = query('src', 'SELECT last_value FROM pgqueuer.pgqueuer_id_seq');
cmp_ok($src_seq, '>=', $src_max_id, 'src: sequence at or past the max id');
my %src_max;
for my $t (qw(pgqueuer_log pgqueuer_statistics pgqueuer_schedules))
{
	$src_max{$t} = query('src', "SELECT max(id) FROM pgqueuer.$t");
	like($src_max{$t}, qr/^\d+$/, "src: $t has rows");
}
is( query('src',
		"SELECT count(*) FROM pgqueuer.pgqueuer_settings WHERE name = 'deferred_notified_until'"),
	'1', 'src: a deferred wake-up watermark');

# ---------------------------------------------------------------------------
# dump and restore
my $tempdir = PostgreSQL::Test::Utils::tempdir;
my $custom = "$tempdir/src.dump";
my $plain = "$tempdir/src.sql";

$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', $custom, '-d', $node->connstr('src') ],
	'pg_dump -Fc of src');
$node->command_ok(
	[ 'pg_dump', '-Fp', '-f', $plain, '-d', $node->connstr('src') ],
	'pg_dump -Fp of src');

$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->safe_psql('postgres', 'CREATE DATABASE dst2');
$node->safe_psql('postgres', 'CREATE DATABASE dst3');

$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $custom ],
	'pg_restore into dst');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('dst2'), '-f', $plain
	],
	'psql restore of the plain dump into dst2');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-j', '4', '-d', $node->connstr('dst3'), $custom ],
	'pg_restore -j 4 into dst3');

# check_restored(DB)
sub check_restored
{
	my ($db) = @_;
	my $got = snapshot($db);

	is($got->{queue_size}, $src->{queue_size}, "$db: queue_size() as in src");
	is($got->{per_status}, $src->{per_status},
		"$db: jobs per entrypoint and status as in src");
	is($got->{jobs_md5}, $src->{jobs_md5}, "$db: job rows as in src");
	is($got->{log_count}, $src->{log_count}, "$db: log row count as in src");
	is($got->{log_md5}, $src->{log_md5}, "$db: log rows as in src");
	is($got->{log_partitions}, $src->{log_partitions},
		"$db: the log's partitions and their bounds as in src");
	is($got->{log_per_partition}, $src->{log_per_partition},
		"$db: log rows per partition as in src");
	is($got->{stat_sum}, $src->{stat_sum}, "$db: statistics sum as in src");
	is($got->{stat_rows}, $src->{stat_rows},
		"$db: statistics row count as in src");
	is($got->{entrypoint}, $src->{entrypoint},
		"$db: entrypoint registry row as in src");
	is($got->{schedule}, $src->{schedule},
		"$db: schedule row (expression, next_run) as in src");
	is($got->{settings}, $src->{settings}, "$db: settings as in src");
	is($got->{dedupe_job}, $src->{dedupe_job}, "$db: dedupe-key job as in src");
	is( query($db, "SELECT status FROM pgqueuer.pgqueuer WHERE id = $failed_id"),
		'failed', "$db: the failed job is still failed");
	is( query($db,
			"SELECT count(*) FROM pgqueuer.pgqueuer WHERE status = 'picked' AND queue_manager_id = '$qm'"
		),
		'9',
		"$db: picked jobs still owned by the queue manager");

	is(persistence($db), 'p,u,u,p',
		"$db: persistence p,u,u,p (balanced re-applied)");
	is( query($db,
			"SELECT 'fillfactor=70' = ANY (reloptions) FROM pg_class WHERE oid = 'pgqueuer.pgqueuer'::regclass"
		),
		't',
		"$db: fillfactor=70 on the queue table (autovac re-applied)");
	is( query($db,
			"SELECT 'fillfactor=70' = ANY (reloptions) FROM pg_class WHERE oid = 'pgqueuer.pgqueuer_schedules'::regclass"
		),
		't',
		"$db: fillfactor=70 on the schedules table");
	is(query($db, "SELECT string_agg(v, E'\\n') FROM pgqueuer.verify() v"),
		'', "$db: verify() returns no rows");

	# writes from here on
	is( query($db,
			"SELECT pgqueuer.enqueue('alpha', dedupe_key => 'dk-1', on_conflict => 'skip') IS NULL"
		),
		't',
		"$db: the dedupe key still blocks a duplicate");
	is(query($db, 'SELECT count(*) FROM pgqueuer.pgqueuer'),
		'1000', "$db: the duplicate was not queued");
	my $new_id = query($db,
		"SELECT pgqueuer.enqueue('alpha', dedupe_key => 'dk-2', on_conflict => 'skip')"
	);
	like($new_id, qr/^\d+$/, "$db: a job with a new dedupe key is queued");
	cmp_ok($new_id, '>', $src_seq,
		"$db: the id sequence continues past src (max id $src_max_id, last_value $src_seq)"
	);
	cmp_ok(query($db, "SELECT max(id) FROM pgqueuer.pgqueuer_log"), '>', $src_max{pgqueuer_log},
		"$db: the log's identity continues past src");
	cmp_ok(query($db, "SELECT pgqueuer.schedule('tock', '\@daily')"), '>',
		$src_max{pgqueuer_schedules}, "$db: the schedules' sequence continues past src");
	query($db, 'SELECT count(*) FROM pgqueuer.log_statistics()');
	cmp_ok(query($db, "SELECT max(id) FROM pgqueuer.pgqueuer_statistics"), '>',
		$src_max{pgqueuer_statistics}, "$db: the statistics' sequence continues past src");
	is( query($db,
			"SELECT count(*) FROM pgqueuer.pgqueuer_settings WHERE name = 'deferred_notified_until'"),
		'0', "$db: the deferred wake-up watermark was not restored");
	return;
}

check_restored('dst');
check_restored('dst2');
check_restored('dst3');

# ---------------------------------------------------------------------------
# control: volatile and back to durable in a third database
$node->safe_psql('postgres', 'CREATE DATABASE ctl');
query('ctl', 'CREATE EXTENSION pgqueuer');
is(persistence('ctl'), 'p,p,p,p', 'ctl: all tables logged after CREATE EXTENSION');
query('ctl', "SELECT pgqueuer.set_durability('volatile')");
is(persistence('ctl'), 'u,u,u,u', 'ctl: volatile makes all four unlogged');
query('ctl', "SELECT pgqueuer.set_durability('durable')");
is(persistence('ctl'), 'p,p,p,p', 'ctl: durable makes all four logged again');
is(query('ctl', "SELECT value FROM pgqueuer.pgqueuer_settings WHERE name = 'durability'"),
	'durable', 'ctl: durable stored');
is(query('ctl', "SELECT string_agg(v, E'\\n') FROM pgqueuer.verify() v"),
	'', 'ctl: verify() is clean');

$node->stop;
done_testing();
