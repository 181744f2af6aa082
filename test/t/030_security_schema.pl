
# Copyright (c) pgqueuer contributors
#
# 030_security_schema.pl
#	Objects planted in schema "pgqueuer" (SECURITY.md, section 1), by
#	mallory, an ordinary login role, in the two places a regression test
#	cannot reach:
#	- restore: a dump of a database using pgqueuer (custom format with
#	  pg_restore, plain SQL with psql) is restored into a database where
#	  mallory created schema "pgqueuer" beforehand and planted an operator
#	  in it; the restore refuses to install the extension there and the
#	  operator never runs;
#	- the background worker: after mallory planted objects through a CREATE
#	  grant on the schema, the worker logs each of them and the grant,
#	  suspends its duties (an expired lease stays expired, a due schedule
#	  does not fire) while they are present, and resumes once they are
#	  dropped; the planted code never runs.
#	It also shows the worker's own sweep skipping a job row written
#	directly with values the extension never writes (section 3).
#	Every wait polls for an effect (poll_query_until, a log line, the
#	worker's next pass in pg_stat_activity); nothing sleeps a guessed time.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('security_schema');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.naptime = '100ms'");
$node->append_conf('postgresql.conf', "pgqueuer.lease_timeout = '1s'");
$node->start;

# query(DB, SQL [, USER]): safe_psql shorthand, as USER if given
sub query
{
	my ($db, $sql, $user) = @_;
	my $connstr = $node->connstr($db);
	$connstr .= " user=$user" if $user;
	return $node->safe_psql($db, $sql, connstr => $connstr) if $user;
	return $node->safe_psql($db, $sql);
}

# The planted operator: records who ran it in public.pwned.
my $plant_cat = q{
CREATE FUNCTION pgqueuer.cat(text, integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'text || integer');
	RETURN $1 OPERATOR(pg_catalog.||) $2::text;
END
$$;
CREATE OPERATOR pgqueuer.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = pgqueuer.cat);
};
my $plant_eq = q{
CREATE FUNCTION pgqueuer.status_eq(pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.pwned VALUES (current_user, 'pgqueuer_status = pgqueuer_status');
	RETURN $1::text OPERATOR(pg_catalog.=) $2::text;
END
$$;
CREATE OPERATOR pgqueuer.= (LEFTARG = pgqueuer.pgqueuer_status,
	RIGHTARG = pgqueuer.pgqueuer_status, FUNCTION = pgqueuer.status_eq);
};

query('postgres', 'CREATE ROLE mallory LOGIN');

# a database where mallory may create schemas, with her table of evidence
sub attacker_db
{
	my ($db) = @_;
	query('postgres', "CREATE DATABASE $db");
	query('postgres', "GRANT CREATE ON DATABASE $db TO mallory");
	query($db,
		'CREATE TABLE public.pwned (who text, what text); GRANT SELECT, INSERT ON public.pwned TO PUBLIC'
	);
}

# ===========================================================================
# 1. Restore into a database with a prepared schema
query('postgres', 'CREATE DATABASE src');
query('src', q{
	CREATE EXTENSION pgqueuer;
	SELECT pgqueuer.enqueue('restored_job');
	SELECT pgqueuer.schedule('restored_cron', '@hourly');
});
my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump -Fc of a database using pgqueuer');

attacker_db('dst');
query('dst', "CREATE SCHEMA pgqueuer;\n$plant_cat", 'mallory');
# control: the operator is live wherever pgqueuer is on search_path
query('dst', "SET search_path = pg_catalog, pgqueuer; SELECT 'x' || 1;", 'mallory');
is(query('dst', 'SELECT count(*) FROM public.pwned'), '1',
	'control: the planted operator runs where pgqueuer is on search_path');
query('dst', 'DELETE FROM public.pwned');

my ($stdout, $stderr) = ('', '');
IPC::Run::run([ 'pg_restore', '-d', $node->connstr('dst'), $dump ],
	'>', \$stdout, '2>', \$stderr);
like($stderr, qr/schema "pgqueuer" already exists and cannot be trusted/,
	'restore: CREATE EXTENSION refuses the prepared schema');
like($stderr, qr/accepted only when it is empty, owned by a superuser and grants CREATE to no other role/,
	'restore: the hint says what is accepted');
is(query('dst', "SELECT count(*) FROM pg_extension WHERE extname = 'pgqueuer'"),
	'0', 'restore: the extension is not installed');
is(query('dst', 'SELECT count(*) FROM public.pwned'),
	'0', 'restore: the planted operator never ran');

# A plain SQL dump run with psql takes the same path.
my $plain = $node->basedir . '/src.sql';
$node->command_ok([ 'pg_dump', '-Fp', '-f', $plain, '-d', $node->connstr('src') ],
	'pg_dump -Fp of a database using pgqueuer');
attacker_db('dst_plain');
query('dst_plain', "CREATE SCHEMA pgqueuer;\n$plant_cat", 'mallory');
($stdout, $stderr) = ('', '');
IPC::Run::run([ 'psql', '-X', '-d', $node->connstr('dst_plain'), '-f', $plain ],
	'>', \$stdout, '2>', \$stderr);
like($stderr, qr/schema "pgqueuer" already exists and cannot be trusted/,
	'plain restore: CREATE EXTENSION refuses the prepared schema');
is(query('dst_plain', "SELECT count(*) FROM pg_extension WHERE extname = 'pgqueuer'"),
	'0', 'plain restore: the extension is not installed');
is(query('dst_plain', 'SELECT count(*) FROM public.pwned'),
	'0', 'plain restore: the planted operator never ran');

# The same dump restores into a database where nobody prepared anything.
query('postgres', 'CREATE DATABASE dst_clean');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_clean'), $dump ],
	'restore into a clean database succeeds');
is(query('dst_clean', 'SELECT count(*) FROM pgqueuer.verify()'),
	'0', 'the clean restore verifies');

# ===========================================================================
# 2. The background worker and objects planted after the install
attacker_db('wdb');
query('wdb', q{
	CREATE EXTENSION pgqueuer;
	SELECT pgqueuer.enqueue('w_job');
	SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['w_job'], '00000000-0000-0000-0000-000000000001');
});
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'wdb'"
) or die 'no worker for wdb';

my $offset = -s $node->logfile;
query('wdb', 'GRANT ALL ON SCHEMA pgqueuer TO mallory');
query('wdb', $plant_cat . $plant_eq, 'mallory');
$node->wait_for_log(
	qr/maintenance of database "wdb" is suspended while schema "pgqueuer" holds objects that the extension does not own/,
	$offset);
my $log = slurp_file($node->logfile, $offset);
like($log,
	qr/WARNING:  pgqueuer worker: object in schema pgqueuer not created by the extension: operator pgqueuer\.\|\|\(text,integer\) \(owner mallory\)/,
	'worker: the planted || is logged with its owner');
like($log,
	qr/WARNING:  pgqueuer worker: object in schema pgqueuer not created by the extension: operator pgqueuer\.=\(pgqueuer\.pgqueuer_status,pgqueuer\.pgqueuer_status\)/,
	'worker: the planted = is logged');
like($log,
	qr/WARNING:  pgqueuer worker: schema pgqueuer grants CREATE to mallory, which is not a superuser/,
	'worker: the CREATE grant is logged');

# While suspended: an expired lease and a due schedule wait.  Wait for two
# more passes of the worker (each starts with a check of the schema, which
# shows in pg_stat_activity), then look.
query('wdb', q{
	UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour';
	SELECT pgqueuer.schedule('w_cron', '* * * * *');
	UPDATE pgqueuer.pgqueuer_schedules SET next_run = now() - interval '1 minute';
});
my $pass_sql =
  "SELECT query_start FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'wdb'";
for my $pass (1 .. 2)
{
	my $seen = query('postgres', $pass_sql);
	$node->poll_query_until('postgres',
		"SELECT query_start > '$seen' FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'wdb'"
	) or die 'the worker makes no passes';
}
is(query('wdb', "SELECT status FROM pgqueuer.pgqueuer WHERE entrypoint = 'w_job'"),
	'picked', 'suspended: the expired lease is not touched');
is(query('wdb', "SELECT count(*) FROM pgqueuer.pgqueuer WHERE entrypoint = 'w_cron'"),
	'0', 'suspended: the due schedule does not fire');
is(query('wdb', "SELECT count(*) FROM pgqueuer.verify() WHERE verify LIKE 'object in schema pgqueuer%'"),
	'4', 'verify() lists the two operators and their two functions');

# Dropped, the worker resumes and catches up.
$offset = -s $node->logfile;
query('wdb', q{
	DROP OPERATOR pgqueuer.|| (text, integer);
	DROP OPERATOR pgqueuer.= (pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status);
	DROP FUNCTION pgqueuer.cat(text, integer),
		pgqueuer.status_eq(pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status);
});
$node->wait_for_log(qr/maintenance of database "wdb" resumes/, $offset);
ok( $node->poll_query_until('wdb',
		"SELECT status = 'queued' FROM pgqueuer.pgqueuer WHERE entrypoint = 'w_job'"),
	'resumed: the expired lease is rescued');
ok( $node->poll_query_until('wdb',
		"SELECT count(*) = 1 FROM pgqueuer.pgqueuer WHERE entrypoint = 'w_cron'"),
	'resumed: the schedule fired');
is(query('wdb', 'SELECT count(*) FROM public.pwned'),
	'0', 'the planted code never ran, in the worker or anywhere');

# ===========================================================================
# 3. The worker's sweep skips a row written directly with a value the
#    extension never writes, with one WARNING, and rescues its neighbour.
query('wdb', 'REVOKE ALL ON SCHEMA pgqueuer FROM mallory');
query('wdb', "SELECT pgqueuer.grant_pgqueuer_client_access('mallory')");
$offset = -s $node->logfile;
my $bad = query('wdb', q{
	INSERT INTO pgqueuer.pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat)
	VALUES (0, 'picked', 'w_bad', NULL, now() - interval '1 hour'),
	       (0, 'picked', 'w_good', '00000000-0000-0000-0000-000000000002', now() - interval '1 hour')
	RETURNING id}, 'mallory');
my ($bad_id) = split /\n/, $bad;
$node->wait_for_log(
	qr/WARNING:  pgqueuer: skipped row $bad_id of pgqueuer\.pgqueuer: it is picked but has no queue_manager_id/,
	$offset);
ok( $node->poll_query_until('wdb',
		"SELECT status = 'queued' FROM pgqueuer.pgqueuer WHERE entrypoint = 'w_good'"),
	'sweep: the valid neighbour is rescued');
is(query('wdb', "SELECT status FROM pgqueuer.pgqueuer WHERE id = $bad_id"),
	'picked', 'sweep: the invalid row is left as it is');
# later passes do not repeat the warning
for my $pass (1 .. 2)
{
	my $seen = query('postgres', $pass_sql);
	$node->poll_query_until('postgres',
		"SELECT query_start > '$seen' FROM pg_stat_activity WHERE backend_type = 'pgqueuer worker' AND datname = 'wdb'"
	) or die 'the worker makes no passes';
}
my @warnings = (slurp_file($node->logfile, $offset) =~ /skipped row $bad_id of pgqueuer\.pgqueuer/g);
is(scalar(@warnings), 1, 'sweep: the row is reported once, not on every pass');

$node->stop;
done_testing();
