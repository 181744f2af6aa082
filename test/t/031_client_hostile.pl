
# Copyright (c) pgqueuer contributors
#
# 031_client_hostile.pl
#	The clients under attack by an unprivileged role (issue 12, items 2 and
#	4), run as that role would:
#
#	- Client SQL: role mallory (a producer with CREATE on schema public)
#	  plants look-alike operators, functions, aggregates and types in
#	  public, each of which writes a row to a trap table before doing what
#	  the original does.  The victim, superuser alice, has search_path =
#	  public, pg_catalog, so any unqualified name or operator in what pgq
#	  and libpgqueuer send would run mallory's code with alice's rights.
#	  A control query shows the traps work; then every pgq command (pgq web
#	  included) and a
#	  pgq run worker (registration, leases, dequeue, heartbeats, outcomes,
#	  retries, cancellation, the queued-work probe, the listener health
#	  check, drain mode) run as alice, and the trap table stays empty.
#	- Notifications: any role that can connect may NOTIFY ch_pgqueuer.  A
#	  cancellation_event forged by mallory for a running job is ignored
#	  (the worker asks the server first) while pgqueuer.cancel() still
#	  stops it; notification text with newlines and terminal escapes is
#	  logged escaped by the worker and printed escaped by pgq listen.
#
# Workers run as child processes whose output goes to a file; every wait
# polls for an effect (a log line, a row, an exit) with a deadline.

use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use POSIX ':sys_wait_h';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $pgq = $ENV{PGQ_BIN};
my $factory_so = $ENV{PGQ_FACTORY};
plan skip_all => 'PGQ_BIN and PGQ_FACTORY must name the pgq binary and libmyjobs.so'
  unless $pgq && -x $pgq && $factory_so && -f $factory_so;
my $factory = "$factory_so:setup";

my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
$node->start;

my $dsn = $node->connstr('postgres');
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $deadline_s = $PostgreSQL::Test::Utils::timeout_default;
my $nlog = 0;

# sql(SQL [, USER]): safe_psql as the test superuser or as USER
sub sql
{
	my ($query, $user) = @_;
	return $node->safe_psql('postgres', $query,
		$user ? (extra_params => [ '-U', $user ]) : ());
}

# pgq_as_alice(STDIN, ARGS...): run pgq as alice; (exit code, stdout, stderr)
sub pgq_as_alice
{
	my ($stdin, @args) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGUSER} = 'alice';
	IPC::Run::run([ $pgq, '--pg-dsn', $dsn, @args ], '<', \$stdin, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# ok_pgq(ARGS...): pgq as alice must exit 0; returns stdout
sub ok_pgq
{
	my ($rc, $out, $err) = pgq_as_alice(undef, @_);
	is($rc, 0, "pgq @_ as alice: exit 0") or diag("stdout: $out\nstderr: $err");
	return $out;
}

# spawn(ENV, ARGS...): start "pgq ARGS" as alice, output to a file;
# returns (pid, log file)
sub spawn
{
	my ($env, @args) = @_;
	my $log = "$tmp/spawn" . ++$nlog . ".log";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		$ENV{$_} = $env->{$_} for keys %$env;
		$ENV{PGUSER} = 'alice';
		open(STDIN, '<', '/dev/null') or die;
		open(STDOUT, '>', $log) or die;
		open(STDERR, '>&', \*STDOUT) or die;
		exec($pgq, '--pg-dsn', $dsn, @args) or POSIX::_exit(127);
	}
	return ($pid, $log);
}

# wait_exit(PID): the exit status, or undef (after SIGKILL) when the
# process did not end in time
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

# wait_log(FILE, REGEX): poll FILE until REGEX matches; true if it did
sub wait_log
{
	my ($file, $re) = @_;
	my $end = time() + $deadline_s;
	while (time() < $end)
	{
		return 1 if -f $file && slurp_file($file) =~ $re;
		usleep(20_000);
	}
	diag("timed out waiting for $re in $file:\n" . (-f $file ? slurp_file($file) : ''));
	return 0;
}

# wait_sql(SQL, WHAT): poll until SQL returns true, as one test
sub wait_sql
{
	my ($query, $what) = @_;
	ok($node->poll_query_until('postgres', $query), $what);
}

# the traps that fired since the last call, one "what" per line, and forget them
sub traps_fired
{
	my $fired = sql("SELECT coalesce(string_agg(what, ', ' ORDER BY at), '') FROM public.trap_log");
	sql('TRUNCATE public.trap_log');
	return $fired;
}

# --- the roles and the traps --------------------------------------------------

# the test's own queries resolve nothing in public; alice's role setting
# (public first) overrides the database's
sql('ALTER DATABASE postgres SET search_path = pg_catalog');
sql('CREATE EXTENSION pgqueuer');
sql(q{CREATE ROLE alice SUPERUSER LOGIN;
	  ALTER ROLE alice SET search_path = public, pg_catalog;
	  CREATE ROLE mallory LOGIN IN ROLE pgqueuer_producer;
	  GRANT CREATE ON SCHEMA public TO mallory;});

# mallory's traps: each records itself, then does what the original does,
# so that a client using one goes on working and the record is committed
my $traps = <<'EOSQL';
CREATE TABLE public.trap_log (what pg_catalog.text, at pg_catalog.timestamptz DEFAULT pg_catalog.clock_timestamp());
GRANT INSERT ON public.trap_log TO PUBLIC;
CREATE FUNCTION public.trap(what pg_catalog.text) RETURNS pg_catalog.bool
	LANGUAGE plpgsql AS $$ BEGIN INSERT INTO public.trap_log (what) VALUES (what); RETURN true; END $$;

-- operators: same signatures as pg_catalog's (public comes first for
-- alice) and more exact ones than the polymorphic originals
CREATE FUNCTION public.t_eq_text(pg_catalog.text, pg_catalog.text) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(text,text)') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pg_catalog.text, RIGHTARG = pg_catalog.text, FUNCTION = public.t_eq_text);
CREATE FUNCTION public.t_eq_name(pg_catalog.name, pg_catalog.name) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(name,name)') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pg_catalog.name, RIGHTARG = pg_catalog.name, FUNCTION = public.t_eq_name);
CREATE FUNCTION public.t_eq_int8(pg_catalog.int8, pg_catalog.int8) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(bigint,bigint)') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pg_catalog.int8, RIGHTARG = pg_catalog.int8, FUNCTION = public.t_eq_int8);
CREATE FUNCTION public.t_eq_oid(pg_catalog.oid, pg_catalog.oid) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(oid,oid)') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pg_catalog.oid, RIGHTARG = pg_catalog.oid, FUNCTION = public.t_eq_oid);
CREATE FUNCTION public.t_eq_uuid(pg_catalog.uuid, pg_catalog.uuid) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(uuid,uuid)') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pg_catalog.uuid, RIGHTARG = pg_catalog.uuid, FUNCTION = public.t_eq_uuid);
CREATE FUNCTION public.t_eq_status(pgqueuer.pgqueuer_status, pg_catalog.text) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(pgqueuer_status,text)') AND $1::pg_catalog.text OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pgqueuer.pgqueuer_status, RIGHTARG = pg_catalog.text, FUNCTION = public.t_eq_status);
CREATE FUNCTION public.t_eq_status2(pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('=(pgqueuer_status,pgqueuer_status)') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = pgqueuer.pgqueuer_status, RIGHTARG = pgqueuer.pgqueuer_status, FUNCTION = public.t_eq_status2);
CREATE FUNCTION public.t_ne_status(pgqueuer.pgqueuer_status, pgqueuer.pgqueuer_status) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('<>(pgqueuer_status,pgqueuer_status)') AND $1 OPERATOR(pg_catalog.<>) $2 $$;
CREATE OPERATOR public.<> (LEFTARG = pgqueuer.pgqueuer_status, RIGHTARG = pgqueuer.pgqueuer_status, FUNCTION = public.t_ne_status);
CREATE FUNCTION public.t_ne_text(pg_catalog.text, pg_catalog.text) RETURNS pg_catalog.bool
	LANGUAGE sql AS $$ SELECT public.trap('<>(text,text)') AND $1 OPERATOR(pg_catalog.<>) $2 $$;
CREATE OPERATOR public.<> (LEFTARG = pg_catalog.text, RIGHTARG = pg_catalog.text, FUNCTION = public.t_ne_text);
CREATE FUNCTION public.t_cat(pg_catalog.text, pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('||(text,text)') THEN $1 OPERATOR(pg_catalog.||) $2 END $$;
CREATE OPERATOR public.|| (LEFTARG = pg_catalog.text, RIGHTARG = pg_catalog.text, FUNCTION = public.t_cat);
CREATE FUNCTION public.t_plus(pg_catalog.int4, pg_catalog.int8) RETURNS pg_catalog.int8
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('+(integer,bigint)') THEN $1 OPERATOR(pg_catalog.+) $2 END $$;
CREATE OPERATOR public.+ (LEFTARG = pg_catalog.int4, RIGHTARG = pg_catalog.int8, FUNCTION = public.t_plus);
CREATE FUNCTION public.t_minus(pg_catalog.timestamptz, pg_catalog.timestamptz) RETURNS pg_catalog.interval
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('-(timestamptz,timestamptz)') THEN $1 OPERATOR(pg_catalog.-) $2 END $$;
CREATE OPERATOR public.- (LEFTARG = pg_catalog.timestamptz, RIGHTARG = pg_catalog.timestamptz, FUNCTION = public.t_minus);

-- functions, with the originals' signatures or more exact ones
CREATE FUNCTION public.now() RETURNS pg_catalog.timestamptz
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('now()') THEN pg_catalog.now() END $$;
CREATE FUNCTION public.make_interval(secs pg_catalog.float8) RETURNS pg_catalog.interval
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('make_interval(secs)') THEN pg_catalog.make_interval(secs => secs) END $$;
CREATE FUNCTION public.to_char(pg_catalog.timestamptz, pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('to_char(timestamptz,text)') THEN pg_catalog.to_char($1, $2) END $$;
CREATE FUNCTION public.to_char(pg_catalog.timestamp, pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('to_char(timestamp,text)') THEN pg_catalog.to_char($1, $2) END $$;
CREATE FUNCTION public.octet_length(pg_catalog.bytea) RETURNS pg_catalog.int4
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('octet_length(bytea)') THEN pg_catalog.octet_length($1) END $$;
CREATE FUNCTION public.unnest(pg_catalog.text[]) RETURNS SETOF pg_catalog.text
	LANGUAGE sql AS $$ SELECT pg_catalog.unnest($1) FROM (SELECT public.trap('unnest(text[])')) AS t $$;
CREATE FUNCTION public.current_setting(pg_catalog.text, pg_catalog.bool) RETURNS pg_catalog.text
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('current_setting') THEN pg_catalog.current_setting($1, $2) END $$;
CREATE FUNCTION public.current_database() RETURNS pg_catalog.name
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('current_database()') THEN pg_catalog.current_database() END $$;
CREATE FUNCTION public.pg_notify(pg_catalog.text, pg_catalog.text) RETURNS void
	LANGUAGE sql AS $$ SELECT public.trap('pg_notify'); SELECT pg_catalog.pg_notify($1, $2) $$;
CREATE FUNCTION public.to_regclass(pg_catalog.text) RETURNS pg_catalog.regclass
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('to_regclass') THEN pg_catalog.to_regclass($1) END $$;
CREATE FUNCTION public.to_regproc(pg_catalog.text) RETURNS pg_catalog.regproc
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('to_regproc') THEN pg_catalog.to_regproc($1) END $$;
CREATE FUNCTION public.array_to_string(pg_catalog.text[], pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('array_to_string') THEN pg_catalog.array_to_string($1, $2) END $$;
CREATE FUNCTION public.t_count_step(pg_catalog.int8) RETURNS pg_catalog.int8
	LANGUAGE sql AS $$ SELECT CASE WHEN public.trap('count(*)') THEN $1 OPERATOR(pg_catalog.+) 1 END $$;
CREATE AGGREGATE public.count(*) (SFUNC = public.t_count_step, STYPE = pg_catalog.int8, INITCOND = '0');

-- types: domains named like the built-in types whose names are not SQL
-- keywords; a cast to one runs the CHECK
CREATE DOMAIN public.text AS pg_catalog.text CHECK (public.trap('type text'));
CREATE DOMAIN public.bytea AS pg_catalog.bytea CHECK (public.trap('type bytea'));
CREATE DOMAIN public.uuid AS pg_catalog.uuid CHECK (public.trap('type uuid'));
CREATE DOMAIN public.jsonb AS pg_catalog.jsonb CHECK (public.trap('type jsonb'));
CREATE DOMAIN public.float8 AS pg_catalog.float8 CHECK (public.trap('type float8'));
CREATE DOMAIN public.int8 AS pg_catalog.int8 CHECK (public.trap('type int8'));
CREATE DOMAIN public.int4 AS pg_catalog.int4 CHECK (public.trap('type int4'));
CREATE DOMAIN public.bool AS pg_catalog.bool CHECK (public.trap('type bool'));
EOSQL
sql($traps, 'mallory');
sql('GRANT SELECT, DELETE, TRUNCATE ON public.trap_log TO alice');

# the control: alice's unqualified SQL (the shape of the old clients' SQL) trips them
sql(q{SELECT pgqueuer.enqueue('x')});
sql(q{SELECT count(*) FROM pgqueuer.pgqueuer WHERE status = 'queued'}, 'alice');
my $fired = traps_fired();
ok($fired =~ /=\(pgqueuer_status,\w+\)/ && $fired =~ /count\(\*\)/,
	'control: an unqualified operator and count(*) in alice\'s session run mallory\'s code')
  or diag("fired: $fired");
sql(q{SELECT '1'::text, now(), pg_catalog.now() - pg_catalog.now()}, 'alice');
$fired = traps_fired();
ok($fired =~ /type text/ && $fired =~ /now\(\)/ && $fired =~ /-\(timestamptz,timestamptz\)/,
	'control: an unqualified type, function and operator run mallory\'s code')
  or diag("fired: $fired");
sql(q{DELETE FROM pgqueuer.pgqueuer});

# --- every pgq command as alice ---------------------------------------------

# (install and uninstall from scratch come last: the traps on
# pgqueuer_status depend on the extension)
ok_pgq('install', '--durability', 'balanced');
ok_pgq('upgrade');
ok_pgq('verify');
my ($rc) = pgq_as_alice(undef, 'verify', '--expect', 'absent');
is($rc, 1, 'verify --expect absent after install reports the objects');
ok_pgq('durability', 'volatile', '--dry-run');
ok_pgq('durability', 'durable');
ok_pgq('autovac');
ok_pgq('autovac', '--rollback', '--dry-run');
is(traps_fired(), '', 'schema commands trip no trap');

like(ok_pgq('queue', 'noop', 'payload', '--priority', '3', '--delay', '0.5',
		'--dedupe-key', 'k1'), qr/^Enqueued job \d+\.$/m, 'queue with every option');
like(ok_pgq('queue', 'noop', '--dedupe-key', 'k1', '--on-conflict', 'skip'),
	qr/^Skipped: duplicate dedupe_key 'k1'\.$/m, 'queue: duplicate key skipped');
{
	my ($qrc, $qout) = pgq_as_alice("bytes\x00from stdin", 'queue', 'noop', '--payload-file', '-');
	is($qrc, 0, 'queue --payload-file - as alice: exit 0');
	my ($qid) = $qout =~ /Enqueued job (\d+)/;
	is(sql("SELECT encode(payload, 'escape') FROM pgqueuer.pgqueuer WHERE id = $qid"),
		'bytes\000from stdin', '... the payload is the bytes of standard input');
}
my $held = sql(q{SELECT pgqueuer.enqueue('held')});
sql(qq{SELECT pgqueuer.dequeue(1, ARRAY['held'], gen_random_uuid());
	   SELECT pgqueuer.complete(ARRAY[$held]::bigint[], '{failed}')});
like(ok_pgq('failed'), qr/\b$held\b.*\bheld\b/, 'failed lists the held job');
like(ok_pgq('jobs', '--status', 'queued', '--status', 'failed', '--entrypoint', 'noop',
		'--entrypoint', 'held', '-n', '10'), qr/\bheld\b.*\bfailed\b/, 'jobs with filters');
ok_pgq('workers');
like(ok_pgq('requeue', $held), qr/Re-queued 1 job\(s\)\./, 'requeue');
# a server notice quoting mallory's dedupe key reaches alice's terminal escaped
{
	my $k1 = sql(q{SELECT pgqueuer.enqueue('held2', dedupe_key => E'key\x1b[2J\nforged')}, 'mallory');
	sql(qq{SELECT pgqueuer.dequeue(1, ARRAY['held2'], gen_random_uuid());
		   SELECT pgqueuer.complete(ARRAY[$k1]::bigint[], '{failed}')});
	sql(q{SELECT pgqueuer.enqueue('held2', dedupe_key => E'key\x1b[2J\nforged')}, 'mallory');
	my ($krc, $kout, $kerr) = pgq_as_alice(undef, 'requeue', $k1);
	is($krc, 0, 'requeue of a job whose key is in use: exit 0');
	like($kerr, qr/^pgq requeue: notice: job $k1 was not requeued: its dedupe_key "key\\x1b\[2J\\nforged" is in use/m,
		'... the server\'s notice quoting mallory\'s key is printed with its control characters escaped');
	unlike($kerr, qr/\x1b|^forged/m, '... no escape character, no forged line');
}
sql(q{SELECT pgqueuer.schedule('nightly', '0 3 * * *'), pgqueuer.schedule('hourly', '@hourly'),
			 pgqueuer.schedule('hourly', '30 * * * *')});
my $sched = sql(q{SELECT min(id) FROM pgqueuer.list_schedules()});
ok_pgq('schedules', '--remove', $sched, '--remove', 'hourly');
is(sql(q{SELECT count(*) FROM pgqueuer.list_schedules()}), '0',
	'schedules --remove by id and by entrypoint removed all three');
ok_pgq('dashboard', '--tail', '5');
is(traps_fired(), '', 'job commands trip no trap');

# pgq listen: LISTEN, a notification, SIGTERM
{
	my ($pid, $log) = spawn({}, 'listen');
	ok(wait_log($log, qr/Listening on channel "ch_pgqueuer"/), 'listen as alice is listening');
	sql(q{SELECT pg_notify('ch_pgqueuer', E'{"type": "hostile\x1b[2J\nline"}')}, 'mallory');
	ok(wait_log($log, qr/^ch_pgqueuer \{"type": "hostile\\x1b\[2J\\x0aline"\}$/m),
		'listen prints a notification with its control characters escaped');
	unlike(slurp_file($log), qr/\x1b/, '... no escape character reaches the output');
	kill 'TERM', $pid;
	is(wait_exit($pid), 0, 'listen stops on SIGTERM with exit 0');
}
is(traps_fired(), '', 'listen trips no trap');

# pgq web: every read endpoint and the actions, as alice
{
	my $tdir = PostgreSQL::Test::Utils::tempdir();
	my $token = 'hostile-test-token-0123456789abcdef';
	open(my $tf, '>', "$tdir/token") or die;
	print $tf "$token\n";
	close($tf);
	chmod 0600, "$tdir/token";
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my ($pid, $log) = spawn({}, 'web', '--bind', "127.0.0.1:$port", '--token-file', "$tdir/token");
	ok(wait_log($log, qr/serving http/), 'pgq web as alice is serving');
	my $http = HTTP::Tiny->new(timeout => 30);
	my $base = "http://127.0.0.1:$port";
	my $auth = { headers => { Authorization => "Bearer $token" } };
	my $one = sql(q{SELECT min(id) FROM pgqueuer.list_jobs(max_rows => 10000)});
	my $sid = sql(q{SELECT pgqueuer.schedule('web_cron', '@daily')});
	for my $path ('/api/overview', '/api/entrypoints', '/api/schedules',
		'/api/jobs?entrypoint=noop&status=queued&limit=5', "/api/jobs?id=$one",
		"/api/job?id=$one", '/metrics')
	{
		is($http->get("$base$path")->{status}, 200, "pgq web GET $path");
	}
	is($http->post("$base/api/pause?entrypoint=noop", $auth)->{status}, 200, 'pgq web pause');
	is($http->post("$base/api/resume?entrypoint=noop", $auth)->{status}, 200, 'pgq web resume');
	kill 'TERM', $pid;
	wait_exit($pid);
	sql(qq{SELECT pgqueuer.unschedule(${sid}::bigint)});
}
is(traps_fired(), '', 'pgq web trips no trap');

# --- a worker as alice ------------------------------------------------------

my ($wpid, $wlog) = spawn({ MYJOBS_LEASE => '2' }, 'run', '--log-level', 'DEBUG',
	'--dequeue-timeout', '1', '--shutdown-on-listener-failure', $factory);
ok(wait_log($wlog, qr/worker \S+ started/), 'a pgq run worker started as alice');
my $noop = sql(q{SELECT pgqueuer.enqueue('noop', 'x')});
my $fail = sql(q{SELECT pgqueuer.enqueue('fail')});
my $later = sql(q{SELECT pgqueuer.enqueue('later')});
my $flaky = sql(q{SELECT pgqueuer.enqueue('flaky')});
wait_sql(qq{SELECT count(*) = 4 FROM pgqueuer.pgqueuer_log
			 WHERE (job_id, status) IN (($noop, 'successful'), ($fail, 'exception'),
										 ($later, 'successful'), ($flaky, 'successful'))},
	'the worker runs jobs: success, exception, client retry, server retry');

# a long job: heartbeats; a forged cancellation is ignored, a real one is not
my $sleep = sql(q{SELECT pgqueuer.enqueue('sleep', '600000')});
wait_sql("SELECT status = 'picked' FROM pgqueuer.pgqueuer WHERE id = $sleep",
	'a long job is running');
my $qm = sql("SELECT queue_manager_id FROM pgqueuer.pgqueuer WHERE id = $sleep");
ok(wait_log($wlog, qr/heartbeat: 1 jobs/), 'the worker heartbeats the running job');

my ($mallory_pid) = sql(qq{SELECT pg_notify('ch_pgqueuer',
		'{"channel": "ch_pgqueuer", "type": "cancellation_event", "ids": [$sleep], "queue_manager_id": "$qm"}');
	SELECT pg_backend_pid()},
	'mallory') =~ /(\d+)\s*\z/;
ok(wait_log($wlog, qr/WARNING: ignored a cancellation_event for job $sleep \(sleep\) sent by backend PID $mallory_pid: the server says this worker still holds it/),
	'a cancellation_event forged by mallory is checked with the server and ignored, naming the sender\'s backend');
unlike(slurp_file($wlog), qr/job $sleep \(sleep\) cancelled|sleep: job $sleep cancelled/,
	'... the running job was not cancelled');
is(sql("SELECT status || ' ' || queue_manager_id FROM pgqueuer.pgqueuer WHERE id = $sleep"),
	"picked $qm", '... and is still picked by the worker');

# hostile notification text: newlines and terminal escapes, and a long one
sql(q{SELECT pg_notify('ch_pgqueuer', E'not json\n2030-01-01 00:00:00.000+0000 [pgqueuer] ERROR: forged line\x1b[31m"quoted"\\\\')},
	'mallory');
ok(wait_log($wlog, qr/WARNING: unparseable notification on ch_pgqueuer: "not json\\n2030-01-01 00:00:00\.000\+0000 \[pgqueuer\] ERROR: forged line\\x1b\[31m\\"quoted\\"\\\\"$/m),
	'notification text is logged on one line, quoted, with newline, escape, quote and backslash escaped');
unlike(slurp_file($wlog), qr/^2030-01-01 00:00:00\.000\+0000 \[pgqueuer\] ERROR: forged line/m,
	'... so it forges no log line');
unlike(slurp_file($wlog), qr/\x1b/, '... and no escape character reaches the log');
sql(q{SELECT pg_notify('ch_pgqueuer', repeat('z', 5000))}, 'mallory');
ok(wait_log($wlog, qr/unparseable notification on ch_pgqueuer: "z{512}\.\.\." \(5000 bytes\)$/m),
	'a long notification is cut short in the log, with its length');

# the real cancellation still reaches the job
is(sql("SELECT pgqueuer.cancel(ARRAY[$sleep])"), $sleep, 'pgqueuer.cancel() on the running job');
ok(wait_log($wlog, qr/INFO: job $sleep \(sleep\) cancelled/), 'the real cancellation reaches the worker');
ok(wait_log($wlog, qr/myjobs: sleep: job $sleep cancelled after \d+ ms/), '... and the handler');

# the listener health check (every 10 s, with --shutdown-on-listener-failure)
# calls pg_notify
ok(wait_log($wlog, qr/listener health check: answered/), 'the listener health check ran');
kill 'TERM', $wpid;
is(wait_exit($wpid), 0, 'the worker stops on SIGTERM with exit 0');

# drain mode waits for a deferred job (the queued-work probe), then exits
sql(q{SELECT pgqueuer.enqueue('noop', NULL, execute_after => '1 second')});
my ($dpid, $dlog) = spawn({}, 'run', '--mode', 'drain', $factory);
is(wait_exit($dpid), 0, 'a drain-mode worker exits 0 once the deferred job ran');
like(slurp_file($dlog), qr/finished \(drained\): dequeued 1, successful 1/, '... after running it');

is(traps_fired(), '', 'the worker trips no trap');

# --- uninstall, install ------------------------------------------------------

# the traps on pgqueuer_status go (they would keep the extension), the others stay
sql(q{DROP FUNCTION public.t_eq_status, public.t_eq_status2, public.t_ne_status CASCADE}, 'mallory');
ok_pgq('uninstall');
ok_pgq('verify', '--expect', 'absent');
($rc) = pgq_as_alice(undef, 'verify');
is($rc, 1, 'verify without the extension reports what is missing');
ok_pgq('install', '--durability', 'volatile');
ok_pgq('verify');
is(traps_fired(), '', 'uninstall, install and verify trip no trap');

# --- against an extension that was not upgraded (1.0) -----------------------

# the 1.1 clients call functions 1.0 does not have: they say what to do
sql('CREATE DATABASE old10');
$node->safe_psql('old10', q{CREATE EXTENSION pgqueuer VERSION '1.0'});
{
	my $old_dsn = $node->connstr('old10');
	my ($o, $e) = ('', '');
	IPC::Run::run([ $pgq, '--pg-dsn', $old_dsn, 'run', '--mode', 'drain', '--exec', 'x=true' ],
		'<', \undef, '>', \$o, '2>', \$e);
	is($? >> 8, 1, 'a worker against extension 1.0: exit 1');
	like($e, qr/the pgqueuer extension in database "old10" is version 1\.0, this worker needs 1\.1 or later \(run ALTER EXTENSION pgqueuer UPDATE, or pgq upgrade\)/,
		'... saying what to do');
	IPC::Run::run([ $pgq, '--pg-dsn', $old_dsn, 'failed' ], '<', \undef, '>', \$o, '2>', \$e);
	is($? >> 8, 1, 'pgq failed against extension 1.0: exit 1');
	like($e, qr/\(SQLSTATE 42883\)\nHint: The pgqueuer extension in this database may be older than pgq 1\.1: run "pgq upgrade"/,
		'... with a hint to upgrade');
	IPC::Run::run([ $pgq, '--pg-dsn', $old_dsn, 'upgrade' ], '<', \undef, '>', \$o, '2>', \$e);
	is($? >> 8, 0, 'pgq upgrade brings it to 1.1');
	IPC::Run::run([ $pgq, '--pg-dsn', $old_dsn, 'failed' ], '<', \undef, '>', \$o, '2>', \$e);
	is($o, "No failed jobs.\n", '... after which pgq failed works');
}

done_testing();
