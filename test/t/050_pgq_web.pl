
# Copyright (c) pgqueuer contributors
#
# 050_pgq_web.pl
#	pgq web: the HTTP rules (security headers, 404/400/403/405, request
#	limits, tokens), /metrics in Prometheus's format checked by the Python
#	client library's parser, pgqueuer.metrics() in SQL, the reconnect after
#	a lost database, and the pages in headless Chromium (test/web/
#	browser_check.py): counts in the DOM, a requeue and a pause done through
#	the page, hostile entrypoints/payloads/headers shown as text and never
#	run, a live update, and the error banner.
#
# The browser part needs Debian's chromium, chromium-driver and
# python3-selenium; without them it is skipped (CI installs them).  Nothing
# sleeps a guessed time: every wait polls for its effect with the suite's
# timeout as the bound.

use strict;
use warnings;

use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $pgq = $ENV{PGQ_BIN};
plan skip_all => 'PGQ_BIN is not set' unless defined $pgq && $pgq ne '';
my $top = $ENV{PGQ_TOP} // '.';
my $python = '/usr/bin/python3';

my $node = PostgreSQL::Test::Cluster->new('pgq_web');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');

# --- jobs in every state ------------------------------------------------------
my $worker = '6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b';
my $xss_ep = '<script>window.pwned=1</script>';
my $xss_payload = '<img src=x onerror="window.pwned=1">';
my $xss_headers = q[{"h": "<img src=x onerror=\\"document.title='pwned'\\">"}];
(my $xss_ep_sql = $xss_ep) =~ s/'/''/g;
(my $xss_payload_sql = $xss_payload) =~ s/'/''/g;
(my $xss_headers_sql = $xss_headers) =~ s/'/''/g;
$node->safe_psql('postgres', qq{
	SELECT pgqueuer.register_entrypoint('held');
	SELECT pgqueuer.enqueue('held') FROM generate_series(1, 3);
	SELECT pgqueuer.enqueue('email') FROM generate_series(1, 5);
	SELECT pgqueuer.enqueue('email', NULL, execute_after => '1 hour');
	SELECT pgqueuer.enqueue('slow');
	SELECT pgqueuer.enqueue('$xss_ep_sql', convert_to('$xss_payload_sql', 'UTF8'),
		headers => '$xss_headers_sql');
	SELECT pgqueuer.schedule('nightly', '0 3 * * *');
});
# three held failures, three successes, one job picked by the worker
$node->safe_psql('postgres', qq{
	SELECT pgqueuer.complete(array_agg(id), array_fill('failed'::pgqueuer.pgqueuer_status, ARRAY[count(*)::int]))
	  FROM pgqueuer.dequeue(10, ARRAY['held'], gen_random_uuid());
});
$node->safe_psql('postgres', qq{
	SELECT pgqueuer.complete(array_agg(id), array_fill('successful'::pgqueuer.pgqueuer_status, ARRAY[count(*)::int]))
	  FROM pgqueuer.dequeue(3, ARRAY['email'], gen_random_uuid());
});
$node->safe_psql('postgres', "SELECT count(*) FROM pgqueuer.dequeue(1, ARRAY['slow'], '$worker')");
my @failed_ids = split /\n/, $node->safe_psql('postgres',
	"SELECT id FROM pgqueuer.pgqueuer WHERE status = 'failed' ORDER BY id");
is(scalar @failed_ids, 3, 'three held failures to show');
my $xss_job = $node->safe_psql('postgres',
	"SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = '$xss_ep_sql'");

# --- metrics() in SQL -----------------------------------------------------------
is($node->safe_psql('postgres', qq{
	SELECT value FROM pgqueuer.metrics()
	 WHERE name = 'pgqueuer_jobs' AND labels = '{"entrypoint": "held", "status": "failed"}'}),
	'3', 'metrics(): held failures of an entrypoint');
is($node->safe_psql('postgres', qq{
	SELECT value FROM pgqueuer.metrics()
	 WHERE name = 'pgqueuer_jobs_finished_total' AND labels = '{"entrypoint": "email", "status": "successful"}'}),
	'', 'metrics(): nothing finished before the statistics fold');
$node->safe_psql('postgres', 'SELECT count(*) FROM pgqueuer.log_statistics()');
is($node->safe_psql('postgres', qq{
	SELECT value FROM pgqueuer.metrics()
	 WHERE name = 'pgqueuer_jobs_finished_total' AND labels = '{"entrypoint": "email", "status": "successful"}'}),
	'3', 'metrics(): successes counted once folded');
is($node->safe_psql('postgres',
	"SELECT value FROM pgqueuer.metrics() WHERE name = 'pgqueuer_workers'"),
	'1', 'metrics(): one worker holds jobs');
$node->safe_psql('postgres', 'CREATE ROLE mon LOGIN IN ROLE pg_monitor; CREATE ROLE nobody LOGIN');
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM pgqueuer.metrics()',
	extra_params => [ '-U', 'mon' ]), 't', 'metrics(): pg_monitor may read it');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM pgqueuer.metrics()',
	extra_params => [ '-U', 'nobody' ]);
like($err, qr/permission denied/, 'metrics(): refused to a role without the grant');

# --- start pgq web ----------------------------------------------------------------
my $dir = tempdir(CLEANUP => 1);
my $token = 'web-test-token-0123456789abcdef';
open my $tf, '>', "$dir/token" or die;
print $tf "$token\n";
close $tf;
chmod 0600, "$dir/token";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $base = "http://127.0.0.1:$port";
my ($web_out, $web_err) = ('', '');
my $web = IPC::Run::start(
	[ $pgq, '--pg-dsn', $node->connstr('postgres'), 'web', '--bind', "127.0.0.1:$port",
	  '--token-file', "$dir/token" ],
	'<', \undef, '>', \$web_out, '2>', \$web_err);

# wait_for(WHAT, CODE): poll CODE until true or the suite's timeout passes
sub wait_for
{
	my ($what, $code) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $deadline)
	{
		$web->pump_nb if $web->pumpable;
		return 1 if $code->();
		usleep(50_000);
	}
	diag("timed out waiting for $what");
	return 0;
}
ok(wait_for('pgq web to listen', sub { $web_out =~ /serving/ }), 'pgq web started')
  or diag($web_err);
like($web_out, qr{serving http://127\.0\.0\.1:$port/ \(actions enabled}, 'says where it serves');

my $http = HTTP::Tiny->new(timeout => 30);
my $r = $http->get("$base/");
is($r->{status}, 200, 'GET / serves the page');
like($r->{headers}{'content-security-policy'}, qr/default-src 'none'; script-src 'self'/,
	'strict Content-Security-Policy');
is($r->{headers}{'x-frame-options'}, 'DENY', 'no framing');
is($r->{headers}{'x-content-type-options'}, 'nosniff', 'no sniffing');
unlike($r->{content}, qr/<script>[^<]/, 'the page has no inline script');
is($http->get("$base/static/app.js")->{status}, 200, 'the script is served by pgq');
is($http->get("$base/nope")->{status}, 404, 'unknown path: 404');
is($http->get("$base/api/nope")->{status}, 404, 'unknown endpoint: 404');
is($http->get("$base/api/jobs?id=abc")->{status}, 400, 'malformed id: 400');
is($http->get("$base/api/job?id=1%27")->{status}, 400, 'malformed job id: 400');
is($http->get("$base/api/jobs?limit=0")->{status}, 400, 'out-of-range limit: 400 from the server');
is($http->get("$base/api/jobs?x=" . ('a' x 3000))->{status}, 400, 'oversized request line: 400');
is($http->request('PUT', "$base/")->{status}, 405, 'PUT: 405');
is($http->post("$base/api/pause?entrypoint=email")->{status}, 403, 'action without token: 403');
is($http->post("$base/api/pause?entrypoint=email",
	{ headers => { Authorization => 'Bearer wrong-token-wrong-token' } })->{status},
	403, 'action with a wrong token: 403');
is($http->post("$base/api/pause?entrypoint=email",
	{ headers => { Authorization => "Bearer $token" }, content => 'x' x 5000 })->{status},
	400, 'oversized body: 400');
is($http->post("$base/api/login", { content => 'token=wrong' })->{status}, 401, 'wrong login: 401');
$r = $http->post("$base/api/login", { content => "token=$token",
	headers => { 'Content-Type' => 'application/x-www-form-urlencoded' } });
is($r->{status}, 200, 'login with the token');
like($r->{headers}{'set-cookie'}, qr/HttpOnly; SameSite=Strict/, 'session cookie is HttpOnly, SameSite=Strict');
my ($cookie) = $r->{headers}{'set-cookie'} =~ /^(pgq_session=[0-9a-f]+)/;
my $csrf = decode_json($r->{content})->{csrf};
is($http->post("$base/api/pause?entrypoint=email", { headers => { Cookie => $cookie } })->{status},
	403, 'session without its CSRF token: 403');
is($http->post("$base/api/pause?entrypoint=email",
	{ headers => { Cookie => $cookie, 'X-CSRF-Token' => $csrf } })->{status},
	200, 'session with its CSRF token acts');
is($node->safe_psql('postgres', "SELECT paused FROM pgqueuer.pgqueuer_entrypoints WHERE entrypoint = 'email'"),
	't', 'the pause reached the database');
is($http->post("$base/api/resume?entrypoint=email",
	{ headers => { Authorization => "Bearer $token" } })->{status}, 200, 'bearer token acts');
is($node->safe_psql('postgres', "SELECT paused FROM pgqueuer.pgqueuer_entrypoints WHERE entrypoint = 'email'"),
	'f', 'the resume reached the database');
# a slow client (a request never finished) does not stall the others
my @slow = map {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp')
	  or die "connect: $!";
	print $s "GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	$s;
} 1 .. 8;
is($http->get("$base/api/overview")->{status}, 200, 'served while eight slow clients hang mid-request');
close $_ for @slow;
$r = $http->get("$base/api/jobs?status=failed");
is(scalar @{ decode_json($r->{content})->{jobs} }, 3, 'GET /api/jobs filters by status');

# --- /metrics, parsed by the Prometheus client library ----------------------------
$r = $http->get("$base/metrics");
is($r->{status}, 200, 'GET /metrics');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'text exposition format');
my $parse = q{
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out[s.name + json.dumps(s.labels, sort_keys=True)] = [fam.type, s.value]
print(json.dumps(out))
};
my ($pout, $perr) = ('', '');
my $parsed = IPC::Run::run([ $python, '-c', $parse ], '<', \$r->{content}, '>', \$pout, '2>', \$perr);
ok($parsed, 'the Prometheus parser accepts /metrics') or diag($perr);
my $m = $parsed ? decode_json($pout) : {};
is_deeply($m->{'pgqueuer_jobs{"entrypoint": "held", "status": "failed"}'}, [ 'gauge', 3 ],
	'held failures as a gauge');
is_deeply($m->{'pgqueuer_jobs_finished_total{"entrypoint": "email", "status": "successful"}'},
	[ 'counter', 3 ], 'successes as a counter');
is_deeply($m->{'pgqueuer_jobs{"entrypoint": "' . $xss_ep . '", "status": "queued"}'},
	[ 'gauge', 1 ], 'a label value with quotes and angle brackets survives escaping');
is_deeply($m->{'pgqueuer_workers{}'}, [ 'gauge', 1 ], 'workers gauge');

# --- a lost database: 503, then reconnect ---------------------------------------------
$node->stop('fast');
$r = $http->get("$base/api/overview");
is($r->{status}, 503, 'database down: 503');
like(decode_json($r->{content})->{error}, qr/./, 'with the reason');
$node->start;
ok(wait_for('reconnect', sub { $http->get("$base/api/overview")->{status} == 200 }),
	'serves again once the database is back');

# --- the pages in headless Chromium -------------------------------------------------
SKIP:
{
	my $have_browser = -x '/usr/bin/chromium' && -x '/usr/bin/chromedriver'
	  && system($python, '-c', 'import selenium') == 0;
	skip 'chromium, chromium-driver or python3-selenium missing', 1 unless $have_browser;

	my $shots = $ENV{PGQ_WEB_SCREENSHOTS} || "$dir/shots";
	mkdir $shots;
	unlink glob("$shots/ready-for-* $shots/banner-seen");
	my %expected = (
		totals => { queued => 3, deferred => 1, picked => 1, failed => 3 },
		failed_ids => [ map { $_ + 0 } @failed_ids ],
		pause_entrypoint => 'slow',
		xss_entrypoint => $xss_ep,
		xss_job => $xss_job + 0,
		xss_payload => $xss_payload,
		worker => $worker);
	open my $ef, '>', "$dir/expected.json" or die;
	print $ef encode_json(\%expected);
	close $ef;
	my ($bout, $berr) = ('', '');
	local $ENV{HOME} = $dir;
	my $browser = IPC::Run::start([ $python, "$top/test/web/browser_check.py", $base, $token, $shots,
		"$dir/expected.json" ], '<', \undef, '>', \$bout, '2>', \$berr);
	my $step = sub {
		my ($file, $what) = @_;
		# the browser's own waits (up to 60 s each) come first
		my $deadline = time + 3 * $PostgreSQL::Test::Utils::timeout_default;
		while (time < $deadline)
		{
			$browser->pump_nb if $browser->pumpable;
			return 1 if -e "$shots/$file";
			return 0 unless $browser->pumpable;
			usleep(50_000);
		}
		return 0;
	};
	ok($step->('ready-for-enqueue'), 'browser reached the live-update step') or diag($berr);
	$node->safe_psql('postgres', "SELECT pgqueuer.enqueue('email')");
	ok($step->('ready-for-stop'), 'browser reached the lost-database step') or diag($berr);
	$node->stop('fast');
	ok($step->('banner-seen'), 'browser saw the banner') or diag($berr);
	$node->start;
	$browser->finish;
	my $result = eval { decode_json($bout) } // {};
	ok(ref $result->{checks} eq 'ARRAY', 'browser check ran') or diag("$bout\n$berr");
	for my $c (@{ $result->{checks} // [] })
	{
		ok($c->[1], "browser: $c->[0]") or diag($c->[2]);
	}
	is($node->safe_psql('postgres', "SELECT status FROM pgqueuer.pgqueuer WHERE id = $failed_ids[0]"),
		'queued', 'the requeue done in the page reached the database');
	is($node->safe_psql('postgres', "SELECT paused FROM pgqueuer.pgqueuer_entrypoints WHERE entrypoint = 'slow'"),
		't', 'the pause done in the page reached the database');
	ok(-s "$shots/overview.png" && -s "$shots/failed.png", 'screenshots written');
}

# --- stop ----------------------------------------------------------------------------
$web->signal('TERM');
ok($web->finish, 'pgq web exits 0 on SIGTERM');
like($web_out, qr/stopped/, 'and says so');

done_testing();
