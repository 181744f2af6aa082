
# Copyright (c) pgqueuer contributors
#
# 040_catalog_drift.pl
#	Objects of the extension changed behind its back (issue 20, item 2),
#	the way upstream PgQueuer's own tools change them, and PgQueuer's own
#	index checks (item 1):
#	- upstream's "pgq upgrade" (its statements in upstream's shape: ADD
#	  COLUMN / CREATE INDEX IF NOT EXISTS, ADD VALUE IF NOT EXISTS, the
#	  id-widening DO block) replaces the C trigger function
#	  fn_pgqueuer_changed with a plpgsql one (CREATE OR REPLACE FUNCTION)
#	  and drops and re-creates pgqueuer_log_not_aggregated; verify() names
#	  only the function, the background worker logs one WARNING per drift,
#	  and pgqueuer.repair() puts the C function back;
#	- upstream's test_upgrade_recreates_dropped_dequeue_indexes: drop
#	  pgqueuer_ep_prio_id_idx and pgqueuer_ep_ea_idx, run upstream's
#	  CREATE INDEX IF NOT EXISTS statements, and the indexes exist again
#	  with exactly the extension's definitions (verify() is clean);
#	- upstream's test_next_deferred_eta_uses_execute_after_index: after
#	  its seeding, upstream's next-deferred-job query plans a Limit over
#	  pgqueuer_ep_ea_idx;
#	- pgq verify --repair restores a dropped index and an altered column.
#	The upstream statements below are written in upstream's shape (names
#	unqualified, search_path = pgqueuer, public, as its clients connect).
#	Every wait polls for an effect (a log line); nothing sleeps.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgq = $ENV{PGQ_BIN};

my $node = PostgreSQL::Test::Cluster->new('catalog_drift');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
$node->start;

# sql(QUERY): the query's result, with PgQueuer's client search_path
sub sql
{
	return $node->safe_psql('postgres',
		"SET search_path = pgqueuer, public;\n" . $_[0]);
}

sql('CREATE EXTENSION pgqueuer');
is(sql('SELECT count(*) FROM pgqueuer.verify()'), '0', 'fresh install: verify() is clean');

# --- upstream's "pgq upgrade": the statements that touch the extension ---
my $offset = -s $node->logfile;
sql(q{
CREATE OR REPLACE FUNCTION fn_pgqueuer_changed() RETURNS TRIGGER AS $$
BEGIN
	PERFORM pg_notify('ch_pgqueuer', json_build_object(
		'channel', 'ch_pgqueuer', 'operation', lower(TG_OP), 'sent_at', NOW(),
		'table', TG_TABLE_NAME, 'type', 'table_changed_event')::text);
	IF TG_OP IN ('INSERT', 'UPDATE') THEN RETURN NEW;
	ELSIF TG_OP = 'DELETE' THEN RETURN OLD;
	ELSE RETURN NULL; END IF;
END;
$$ LANGUAGE plpgsql;
DROP INDEX IF EXISTS pgqueuer_log_not_aggregated;
CREATE INDEX IF NOT EXISTS pgqueuer_log_not_aggregated ON pgqueuer_log ((1)) WHERE not aggregated;
CREATE INDEX IF NOT EXISTS pgqueuer_ep_prio_id_idx ON pgqueuer (entrypoint, priority DESC, id ASC) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS pgqueuer_ep_ea_idx ON pgqueuer (entrypoint, execute_after) WHERE status = 'queued';
ALTER TABLE pgqueuer_statistics ALTER COLUMN status TYPE pgqueuer_status USING status::TEXT::pgqueuer_status;
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS updated TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW();
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS heartbeat TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW();
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS queue_manager_id UUID;
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS execute_after TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW();
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS dedupe_key TEXT DEFAULT NULL;
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS headers JSONB;
ALTER TABLE pgqueuer ADD COLUMN IF NOT EXISTS attempts INT NOT NULL DEFAULT 0;
ALTER TABLE pgqueuer_log ADD COLUMN IF NOT EXISTS traceback JSONB DEFAULT NULL;
CREATE INDEX IF NOT EXISTS pgqueuer_updated_id_id1_idx ON pgqueuer (updated ASC, id DESC) INCLUDE (id) WHERE status = 'picked';
CREATE INDEX IF NOT EXISTS pgqueuer_heartbeat_id_id1_idx ON pgqueuer (heartbeat ASC, id DESC) INCLUDE (id) WHERE status = 'picked';
CREATE INDEX IF NOT EXISTS pgqueuer_queue_manager_id_idx ON pgqueuer (queue_manager_id) WHERE queue_manager_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS pgqueuer_log_created ON pgqueuer_log (created);
CREATE INDEX IF NOT EXISTS pgqueuer_log_status ON pgqueuer_log (status);
CREATE INDEX IF NOT EXISTS pgqueuer_log_job_id_status ON pgqueuer_log (job_id, created DESC);
CREATE UNIQUE INDEX IF NOT EXISTS pgqueuer_unique_dedupe_key ON pgqueuer (dedupe_key) WHERE ((status IN ('queued', 'picked') AND dedupe_key IS NOT NULL));
ALTER TYPE pgqueuer_status ADD VALUE IF NOT EXISTS 'successful';
ALTER TYPE pgqueuer_status ADD VALUE IF NOT EXISTS 'failed';
DO $$
DECLARE
	seq TEXT := pg_get_serial_sequence('pgqueuer', 'id');
BEGIN
	IF (SELECT data_type FROM information_schema.columns WHERE table_schema = 'pgqueuer'
		AND table_name = 'pgqueuer' AND column_name = 'id') = 'integer' THEN
		ALTER TABLE pgqueuer ALTER COLUMN id TYPE BIGINT;
	END IF;
	IF seq IS NOT NULL THEN
		EXECUTE format('ALTER SEQUENCE %s AS BIGINT', seq);
	END IF;
END $$;
});
my $verify = sql('SELECT * FROM pgqueuer.verify()');
like($verify,
	qr/^function pgqueuer\.fn_pgqueuer_changed\(\) has body md5 \w+, expected \$libdir\/pgqueuer, symbol pgqueuer_fn_changed$/m,
	'upstream upgrade: verify() names the replaced body');
like($verify,
	qr/^function pgqueuer\.fn_pgqueuer_changed\(\) has language plpgsql, expected c$/m,
	'upstream upgrade: verify() names the replaced language');
like($verify,
	qr/^function pgqueuer\.fn_pgqueuer_changed\(\) has settings none, expected search_path=pg_catalog, pg_temp$/m,
	'upstream upgrade: verify() names the lost search_path');
like($verify, qr/^run SELECT \* FROM pgqueuer\.repair\(\)/m, 'verify() says how to restore it');
unlike($verify, qr/index|column/,
	'upstream upgrade: its re-created indexes and re-typed column match the extension');

# the worker logs the drift once
$node->wait_for_log(
	qr/WARNING:  pgqueuer worker: function pgqueuer\.fn_pgqueuer_changed\(\) has language plpgsql, expected c/,
	$offset);

# a second drift: the worker logs that one, and not the first one again
$offset = -s $node->logfile;
sql('DROP INDEX pgqueuer_heartbeat_id_id1_idx');
$node->wait_for_log(qr/WARNING:  pgqueuer worker: missing index pgqueuer\.pgqueuer_heartbeat_id_id1_idx/,
	$offset);
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/has language plpgsql/, 'worker: a drift already logged is not logged again');
my @hints = ($log =~ /HINT:  Run SELECT \* FROM pgqueuer\.repair\(\)/g);
ok(@hints >= 1, 'worker: the warning says how to restore');

# repair, dry run first
my $dry = sql('SELECT * FROM pgqueuer.repair(dry_run => true)');
like($dry, qr/^CREATE OR REPLACE FUNCTION pgqueuer\.fn_pgqueuer_changed\(\)/m, 'dry run: the function');
like($dry, qr/^CREATE INDEX pgqueuer_heartbeat_id_id1_idx ON pgqueuer\.pgqueuer/m, 'dry run: the index');
is(sql(q{SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	WHERE p.oid = 'pgqueuer.fn_pgqueuer_changed()'::regprocedure}), 'plpgsql', 'dry run changes nothing');

sql('SELECT count(*) FROM pgqueuer.repair()');
is(sql('SELECT count(*) FROM pgqueuer.verify()'), '0', 'after repair(): verify() is clean');
is(sql(q{SELECT l.lanname || ' ' || p.prosrc FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	WHERE p.oid = 'pgqueuer.fn_pgqueuer_changed()'::regprocedure}), 'c pgqueuer_fn_changed',
	'after repair(): the C trigger function is back');
is(sql(q{SELECT count(*) FROM pg_depend
	WHERE objid = 'pgqueuer.fn_pgqueuer_changed()'::regprocedure AND deptype = 'e'}), '1',
	'after repair(): the function is still a member of the extension');

# --- upstream's test_upgrade_recreates_dropped_dequeue_indexes ---
sql('DROP INDEX pgqueuer_ep_prio_id_idx; DROP INDEX pgqueuer_ep_ea_idx;');
is(sql(q{SELECT count(*) FROM pg_indexes WHERE schemaname = 'pgqueuer'
	AND indexname IN ('pgqueuer_ep_prio_id_idx', 'pgqueuer_ep_ea_idx')}), '0', 'upstream: indexes dropped');
sql(q{
CREATE INDEX IF NOT EXISTS pgqueuer_ep_prio_id_idx ON pgqueuer (entrypoint, priority DESC, id ASC) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS pgqueuer_ep_ea_idx ON pgqueuer (entrypoint, execute_after) WHERE status = 'queued';
});
is(sql(q{SELECT count(*) FROM pg_indexes WHERE tablename = 'pgqueuer' AND schemaname = 'pgqueuer'
	AND indexname IN ('pgqueuer_ep_prio_id_idx', 'pgqueuer_ep_ea_idx')}), '2', 'upstream: indexes re-created');
is(sql('SELECT count(*) FROM pgqueuer.verify()'), '0',
	'upstream: the re-created indexes are exactly the extension\'s');

# --- upstream's test_next_deferred_eta_uses_execute_after_index ---
sql(q{
INSERT INTO pgqueuer (priority, entrypoint, status)
SELECT g % 7, (ARRAY['a', 'b', 'c', 'd'])[g % 4 + 1], 'queued' FROM generate_series(0, 2999) g;
INSERT INTO pgqueuer (priority, entrypoint, status, execute_after)
SELECT 0, e, 'queued', now() + interval '60 seconds' FROM unnest(ARRAY['a', 'b', 'c', 'd']) e;
ANALYZE pgqueuer;
});
my $plan = sql(q{EXPLAIN (FORMAT JSON) SELECT execute_after - NOW() AS eta
	FROM pgqueuer WHERE status = 'queued' AND execute_after > NOW() AND entrypoint = ANY('{a,b,c,d}')
	ORDER BY execute_after LIMIT 1});
like($plan, qr/"Index Name": "pgqueuer_ep_ea_idx"/, 'upstream eta query reads pgqueuer_ep_ea_idx');
like($plan, qr/"Node Type": "Limit"/, 'upstream eta query keeps its Limit');

# --- pgq verify --repair ---
SKIP:
{
	skip 'PGQ_BIN is not set', 10 unless defined $pgq && $pgq ne '';
	sql(q{DROP INDEX pgqueuer_deferred_idx;
		ALTER TABLE pgqueuer_log ALTER COLUMN aggregated SET NOT NULL;});
	my ($out, $err) = ('', '');
	my @cmd = ($pgq, '--pg-dsn', $node->connstr('postgres'), 'verify');
	IPC::Run::run([ @cmd, '--repair', '--dry-run' ], '<', \undef, '>', \$out, '2>', \$err);
	is($? >> 8, 1, 'pgq verify --repair --dry-run: exit 1, problems remain');
	like($out, qr/^CREATE INDEX pgqueuer_deferred_idx ON pgqueuer\.pgqueuer .*\n(?s:.*)^missing index pgqueuer\.pgqueuer_deferred_idx$/m,
		'pgq verify --repair --dry-run: the statement, then the problem');
	($out, $err) = ('', '');
	IPC::Run::run([ @cmd, '--repair' ], '<', \undef, '>', \$out, '2>', \$err);
	is($? >> 8, 0, 'pgq verify --repair: exit 0');
	like($out, qr/^ALTER TABLE pgqueuer\.pgqueuer_log ALTER COLUMN aggregated TYPE boolean USING aggregated::boolean, ALTER COLUMN aggregated DROP NOT NULL, ALTER COLUMN aggregated SET DEFAULT false$/m,
		'pgq verify --repair: the column statement');
	like($out, qr/^All required PgQueuer database objects are present\.$/m, 'pgq verify --repair: healthy');
	is($err, '', 'pgq verify --repair: no error');

	# bad combinations
	for my $case ([ [ '--dry-run' ], qr/--dry-run needs --repair/ ],
		[ [ '--repair', '--expect', 'absent' ], qr/--repair cannot be combined with --expect absent/ ])
	{
		($out, $err) = ('', '');
		IPC::Run::run([ @cmd, @{ $case->[0] } ], '<', \undef, '>', \$out, '2>', \$err);
		is($? >> 8, 2, "pgq verify @{ $case->[0] }: exit 2");
		like($err, $case->[1], "pgq verify @{ $case->[0] }: says why");
	}
}

# --- 1.0 and 1.1 upgraded to 1.2: the same recorded definitions as a fresh 1.2 ---
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION pgqueuer VERSION '1.0'");
is($node->safe_psql('old', 'SELECT * FROM pgqueuer.verify()'),
	"extension schema version 1.0 is older than library version 1.2: run ALTER EXTENSION pgqueuer UPDATE\n"
	  . "the extension's catalog snapshot pgqueuer.pgqueuer_catalog is missing: run ALTER EXTENSION pgqueuer UPDATE",
	'1.0 with the 1.2 library: verify() asks for the update');
$node->safe_psql('old', 'ALTER EXTENSION pgqueuer UPDATE');
is($node->safe_psql('old', 'SELECT count(*) FROM pgqueuer.verify()'), '0',
	'1.0 updated to 1.2: verify() is clean');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pgqueuer');
my $snapshot = q{SELECT string_agg(object_type || ' ' || identity || ' ' || definition::text, E'\n'
	ORDER BY object_type, identity) FROM pgqueuer.pgqueuer_catalog};
is($node->safe_psql('old', $snapshot), $node->safe_psql('fresh', $snapshot),
	'1.0 updated to 1.2 records the same definitions as a fresh 1.2');
# a 1.1 with log rows: the rows become a partition that is not a member
$node->safe_psql('postgres', 'CREATE DATABASE old11');
$node->safe_psql('old11', "CREATE EXTENSION pgqueuer VERSION '1.1'");
$node->safe_psql('old11', "SELECT pgqueuer.enqueue_batch(ARRAY['a', 'b'])");
$node->safe_psql('old11', 'ALTER EXTENSION pgqueuer UPDATE');
is($node->safe_psql('old11', 'SELECT count(*) FROM pgqueuer.verify()'), '0',
	'1.1 with log rows updated to 1.2: verify() is clean');
is($node->safe_psql('old11', $snapshot), $node->safe_psql('fresh', $snapshot),
	'1.1 with log rows updated to 1.2 records the same definitions as a fresh 1.2');

$node->stop;
done_testing();
