
# Copyright (c) pgqueuer contributors
#
# 002_pgqueuer_compat.pl
#	An unmodified PgQueuer client (db_schema = pgqueuer) must keep working
#	against the extension's schema.  The statements below are the SQL its
#	Python client issues, as described by the behaviour reference (sections
#	1 to 3), schema-qualified as the client does when db_schema is set, and
#	run as prepared statements with bound parameters, like asyncpg and
#	psycopg do.  Then jobs cross over between PgQueuer's SQL and the
#	extension's functions in both directions, and a role given the opt-in
#	pgqueuer.grant_pgqueuer_client_access() runs PgQueuer's SQL with the
#	table privileges it grants (pgqueuer_worker alone has none since 1.1).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('compat');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pgqueuer'");
$node->append_conf('postgresql.conf', "pgqueuer.enabled = off");
# No lease of this test may expire behind its back (the stale-job check
# below ages a heartbeat by one hour, which PgQueuer's 30 s timeout sees).
$node->append_conf('postgresql.conf', "pgqueuer.lease_timeout = '7d'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pgqueuer');

# ---------------------------------------------------------------------------
# PgQueuer's client SQL, schema-qualified.  Each psql session below starts
# with these PREPAREs and then EXECUTEs them.
my $pgqueuer_sql = <<'SQL';
-- Queries.enqueue (on_conflict = 'raise'): one nextval per input row in
-- input order, rows inserted queued with execute_after = NOW() + offset,
-- one queued log row per job; returns the ids in input order.
PREPARE pgq_enqueue(integer[], text[], bytea[], interval[], text[], jsonb[]) AS
WITH params AS (
    SELECT nextval('pgqueuer.pgqueuer_id_seq'::regclass) AS id, t.*
    FROM UNNEST($1::integer[], $2::text[], $3::bytea[], $4::interval[], $5::text[], $6::jsonb[])
        WITH ORDINALITY AS t(priority, entrypoint, payload, execute_after, dedupe_key, headers, ord)
), inserted AS (
    INSERT INTO pgqueuer.pgqueuer
        (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
    SELECT id, priority, entrypoint, payload, NOW() + execute_after, dedupe_key, headers, 'queued'
    FROM params
    ORDER BY ord
    RETURNING id, entrypoint, status, priority
), logged AS (
    INSERT INTO pgqueuer.pgqueuer_log (job_id, status, entrypoint, priority)
    SELECT id, 'queued', entrypoint, priority FROM inserted
)
SELECT inserted.id, params.ord
FROM inserted JOIN params ON params.id = inserted.id
ORDER BY params.ord;

-- Queries.enqueue (on_conflict = 'skip'): the same, with the partial unique
-- index on dedupe_key as arbiter; one slot per input row, NULL if skipped.
PREPARE pgq_enqueue_skip(integer[], text[], bytea[], interval[], text[], jsonb[]) AS
WITH params AS (
    SELECT nextval('pgqueuer.pgqueuer_id_seq'::regclass) AS id, t.*
    FROM UNNEST($1::integer[], $2::text[], $3::bytea[], $4::interval[], $5::text[], $6::jsonb[])
        WITH ORDINALITY AS t(priority, entrypoint, payload, execute_after, dedupe_key, headers, ord)
), inserted AS (
    INSERT INTO pgqueuer.pgqueuer
        (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
    SELECT id, priority, entrypoint, payload, NOW() + execute_after, dedupe_key, headers, 'queued'
    FROM params
    ORDER BY ord
    ON CONFLICT (dedupe_key) WHERE ((status IN ('queued', 'picked')) AND dedupe_key IS NOT NULL)
    DO NOTHING
    RETURNING id, entrypoint, status, priority
), logged AS (
    INSERT INTO pgqueuer.pgqueuer_log (job_id, status, entrypoint, priority)
    SELECT id, 'queued', entrypoint, priority FROM inserted
)
SELECT params.ord, inserted.id
FROM params LEFT JOIN inserted ON inserted.id = params.id
ORDER BY params.ord;

-- Queries.dequeue(batch_size $1, entrypoints $2 with concurrency limits $3,
-- queue_manager_id $4, global_concurrency_limit $5, heartbeat_timeout $6)
PREPARE pgq_dequeue(integer, text[], bigint[], uuid, bigint, interval) AS
WITH entrypoint_params AS (
    SELECT t.entrypoint, t.concurrency_limit
    FROM UNNEST($2::text[], $3::bigint[]) AS t(entrypoint, concurrency_limit)
), global_load AS (
    SELECT q.entrypoint, COUNT(*) AS cnt
    FROM pgqueuer.pgqueuer q
    WHERE q.queue_manager_id IS NOT NULL AND q.entrypoint = ANY($2)
    GROUP BY q.entrypoint
), worker_load AS (
    SELECT COUNT(*) AS cnt
    FROM pgqueuer.pgqueuer q
    WHERE q.queue_manager_id = $4 AND q.entrypoint = ANY($2)
), available AS (
    SELECT p.entrypoint,
           CASE WHEN p.concurrency_limit <= 0 THEN $1::bigint
                ELSE LEAST($1::bigint, p.concurrency_limit - COALESCE(g.cnt, 0)) END AS remaining
    FROM entrypoint_params p
    LEFT JOIN global_load g ON g.entrypoint = p.entrypoint
    WHERE p.concurrency_limit <= 0 OR COALESCE(g.cnt, 0) < p.concurrency_limit
), fresh AS (
    SELECT c.id, c.priority
    FROM available a
    CROSS JOIN LATERAL (
        SELECT q.id, q.priority
        FROM pgqueuer.pgqueuer q
        WHERE q.entrypoint = a.entrypoint
          AND q.status = 'queued'
          AND q.execute_after < NOW()
          AND ($5::bigint IS NULL OR (SELECT cnt FROM worker_load) < $5)
        ORDER BY q.priority DESC, q.id ASC
        LIMIT a.remaining
        FOR UPDATE SKIP LOCKED
    ) c
), stale AS (
    SELECT q.id, q.priority
    FROM pgqueuer.pgqueuer q
    WHERE q.entrypoint = ANY($2)
      AND q.status = 'picked'
      AND q.heartbeat < NOW() - $6::interval
      AND q.execute_after < NOW()
      AND ($5::bigint IS NULL OR (SELECT cnt FROM worker_load) < $5)
    ORDER BY q.priority DESC, q.id ASC
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), eligible AS (
    SELECT u.id
    FROM (SELECT id, priority FROM fresh UNION ALL SELECT id, priority FROM stale) u
    ORDER BY u.priority DESC, u.id ASC
    LIMIT CASE WHEN $5::bigint IS NULL THEN $1::bigint
               ELSE GREATEST(0, LEAST($1::bigint, $5::bigint - (SELECT cnt FROM worker_load))) END
), updated AS (
    UPDATE pgqueuer.pgqueuer q
    SET status = 'picked', updated = NOW(), heartbeat = NOW(), queue_manager_id = $4
    WHERE q.id IN (SELECT id FROM eligible)
    RETURNING q.*
), logged AS (
    INSERT INTO pgqueuer.pgqueuer_log (job_id, status, entrypoint, priority)
    SELECT id, status, entrypoint, priority FROM updated
)
SELECT * FROM updated ORDER BY priority DESC, id ASC;

-- Queries.log_jobs: failed holds the row, every other status deletes it;
-- one log row per row actually deleted or held.
PREPARE pgq_log_jobs(bigint[], pgqueuer.pgqueuer_status[], jsonb[]) AS
WITH job_status AS (
    SELECT t.id, t.status, t.traceback
    FROM UNNEST($1::bigint[], $2::pgqueuer.pgqueuer_status[], $3::jsonb[]) AS t(id, status, traceback)
), deleted AS (
    DELETE FROM pgqueuer.pgqueuer q
    USING job_status js
    WHERE q.id = js.id AND js.status <> 'failed'
    RETURNING q.id, q.entrypoint, q.priority
), held AS (
    UPDATE pgqueuer.pgqueuer q
    SET status = 'failed', updated = NOW(), queue_manager_id = NULL
    FROM job_status js
    WHERE q.id = js.id AND js.status = 'failed'
    RETURNING q.id, q.entrypoint, q.priority
), merged AS (
    SELECT js.id, js.status, js.traceback, d.entrypoint, d.priority
    FROM job_status js JOIN deleted d ON d.id = js.id
    UNION ALL
    SELECT js.id, js.status, js.traceback, h.entrypoint, h.priority
    FROM job_status js JOIN held h ON h.id = js.id
)
INSERT INTO pgqueuer.pgqueuer_log (job_id, status, entrypoint, priority, traceback)
SELECT id, status, entrypoint, priority, traceback FROM merged;

-- Queries.retry_job(job, delay, traceback)
PREPARE pgq_retry_job(bigint, interval, jsonb) AS
WITH retried AS (
    UPDATE pgqueuer.pgqueuer
    SET status = 'queued', execute_after = NOW() + $2, attempts = attempts + 1,
        updated = NOW(), queue_manager_id = NULL
    WHERE id = $1
    RETURNING id, entrypoint, priority
)
INSERT INTO pgqueuer.pgqueuer_log (job_id, status, entrypoint, priority, traceback)
SELECT id, 'queued', entrypoint, priority, $3 FROM retried;

-- Queries.update_heartbeat(ids)
PREPARE pgq_update_heartbeat(bigint[]) AS
UPDATE pgqueuer.pgqueuer SET heartbeat = NOW() WHERE id = ANY($1::bigint[]);

-- Queries.requeue_jobs(ids)
PREPARE pgq_requeue_jobs(bigint[]) AS
WITH requeued AS (
    UPDATE pgqueuer.pgqueuer
    SET status = 'queued', execute_after = NOW(), updated = NOW(), attempts = 0,
        queue_manager_id = NULL
    WHERE id = ANY($1::bigint[]) AND status = 'failed'
    RETURNING id, entrypoint, priority
)
INSERT INTO pgqueuer.pgqueuer_log (job_id, status, entrypoint, priority)
SELECT id, 'queued', entrypoint, priority FROM requeued;

-- Queries.aggregate_logs: single writer by advisory lock, fold every
-- unaggregated log row into its per-second bucket.
PREPARE pgq_aggregate_logs AS
WITH advisory_lock AS (
    SELECT pg_try_advisory_xact_lock(hashtext('pgqueuer.pgqueuer_statistics')) AS acquired
), log_aggregation AS (
    SELECT entrypoint, priority, status, COUNT(*) AS count,
           date_trunc('sec', created) AS created
    FROM pgqueuer.pgqueuer_log
    WHERE NOT aggregated AND (SELECT acquired FROM advisory_lock)
    GROUP BY entrypoint, priority, status, date_trunc('sec', created)
), updated_logs AS (
    UPDATE pgqueuer.pgqueuer_log
    SET aggregated = TRUE
    WHERE NOT aggregated AND (SELECT acquired FROM advisory_lock)
    RETURNING id
)
INSERT INTO pgqueuer.pgqueuer_statistics (count, created, entrypoint, priority, status)
SELECT count, created, entrypoint, priority, status FROM log_aggregation
ON CONFLICT (priority, date_trunc('sec', created at time zone 'UTC'), status, entrypoint)
DO UPDATE SET count = pgqueuer.pgqueuer_statistics.count + EXCLUDED.count;

-- Queries.insert_schedule({(entrypoint, expression): delay})
PREPARE pgq_insert_schedule(text[], text[], interval[]) AS
WITH params AS (
    SELECT t.expression, t.entrypoint, t.delay
    FROM UNNEST($1::text[], $2::text[], $3::interval[]) AS t(expression, entrypoint, delay)
)
INSERT INTO pgqueuer.pgqueuer_schedules (expression, next_run, entrypoint)
SELECT expression, date_trunc('seconds', NOW() + delay), entrypoint FROM params
ON CONFLICT (expression, entrypoint) DO NOTHING;

-- Queries.fetch_schedule (the claim)
PREPARE pgq_fetch_schedule(text[], text[], interval[]) AS
WITH params AS (
    SELECT t.expression, t.entrypoint, t.delay
    FROM UNNEST($1::text[], $2::text[], $3::interval[]) AS t(expression, entrypoint, delay)
), picked_jobs AS (
    SELECT s.id
    FROM pgqueuer.pgqueuer_schedules s
    WHERE (s.entrypoint, s.expression) IN (SELECT entrypoint, expression FROM params)
      AND (   (s.status = 'queued' AND s.next_run <= NOW())
           OR (s.status = 'picked' AND NOW() - s.heartbeat > interval '30 seconds'))
    FOR UPDATE SKIP LOCKED
)
UPDATE pgqueuer.pgqueuer_schedules s
SET status = 'picked', updated = NOW(), heartbeat = NOW(),
    next_run = date_trunc('seconds', NOW() + p.delay)
FROM params p
WHERE s.id IN (SELECT id FROM picked_jobs)
  AND p.entrypoint = s.entrypoint AND p.expression = s.expression
RETURNING s.*;

-- Queries.set_schedule_queued(ids)
PREPARE pgq_set_schedule_queued(bigint[]) AS
UPDATE pgqueuer.pgqueuer_schedules SET status = 'queued', last_run = NOW(), updated = NOW()
WHERE id = ANY($1::bigint[]);

-- Queries.update_schedule_heartbeat(ids)
PREPARE pgq_update_schedule_heartbeat(bigint[]) AS
UPDATE pgqueuer.pgqueuer_schedules SET heartbeat = NOW(), updated = NOW()
WHERE id = ANY($1::bigint[]);

-- structure probes (QueueManager.run's startup check, db_schema = pgqueuer)
PREPARE pgq_has_table(text) AS
SELECT EXISTS (SELECT FROM information_schema.columns
               WHERE table_schema = 'pgqueuer' AND table_name = $1);
PREPARE pgq_table_has_column(text, text) AS
SELECT EXISTS (SELECT FROM information_schema.columns
               WHERE table_schema = 'pgqueuer' AND table_name = $1 AND column_name = $2);
PREPARE pgq_table_has_index(text, text) AS
SELECT EXISTS (SELECT 1 FROM pg_indexes
               WHERE tablename = $1 AND indexname = $2 AND schemaname = 'pgqueuer');
PREPARE pgq_has_user_defined_enum(text, text) AS
SELECT EXISTS (SELECT 1 FROM pg_enum
               JOIN pg_type ON pg_enum.enumtypid = pg_type.oid
               JOIN pg_namespace ON pg_namespace.oid = pg_type.typnamespace
               WHERE enumlabel = $1 AND typname = $2 AND nspname = 'pgqueuer');
PREPARE pgq_has_function(text) AS
SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON p.pronamespace = n.oid
               WHERE n.nspname = 'pgqueuer' AND p.proname = $1);
PREPARE pgq_has_trigger(text) AS
SELECT EXISTS (SELECT 1 FROM pg_trigger t
               JOIN pg_class c ON t.tgrelid = c.oid
               JOIN pg_namespace n ON c.relnamespace = n.oid
               WHERE n.nspname = 'pgqueuer' AND t.tgname = $1);
SQL

# pgq(SQL [, role => ROLE])
#	Run SQL after PgQueuer's PREPAREs (as ROLE if given); return stdout.
sub pgq
{
	my ($sql, %opt) = @_;
	my $role = $opt{role} ? "SET ROLE $opt{role};\n" : '';
	return $node->safe_psql('postgres', $role . $pgqueuer_sql . $sql);
}

# rows(SQL [, role => ROLE])
#	Like pgq(), for a script whose only output is one result set: returns
#	it as a list of hashes keyed by column name.
sub rows
{
	my ($sql, %opt) = @_;
	my $out = pgq("\\pset tuples_only off\n\\pset footer off\n" . $sql, %opt);
	my @lines = split /\n/, $out;
	my @cols = split /\|/, (shift(@lines) // ''), -1;
	my @result;
	foreach my $line (@lines)
	{
		my %row;
		@row{@cols} = split /\|/, $line, -1;
		push @result, \%row;
	}
	return @result;
}

# q1(SQL): one value (or lines) of a plain query, without the PREPAREs
sub q1
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# log_of(ID): the statuses logged for a job, in log order
sub log_of
{
	my ($id) = @_;
	return join(',',
		split /\n/,
		q1( "SELECT status FROM pgqueuer.pgqueuer_log WHERE job_id = $id ORDER BY id"
		));
}

my $qm1 = '11111111-1111-1111-1111-111111111111';
my $qm2 = '22222222-2222-2222-2222-222222222222';
my $qm3 = '33333333-3333-3333-3333-333333333333';
my $qm4 = '44444444-4444-4444-4444-444444444444';

# EXECUTE pgq_dequeue for ENTRYPOINTS (with LIMITS), worker QM, cap G
sub dequeue_sql
{
	my ($batch, $eps, $limits, $qm, $g) = @_;
	my $ep = join(', ', map { "'$_'" } @$eps);
	my $lim = join(', ', @$limits);
	$g //= 'NULL';
	return
	  "EXECUTE pgq_dequeue($batch, ARRAY[$ep]::text[], ARRAY[$lim]::bigint[], '$qm', $g, '30 seconds');";
}

# ===========================================================================
# 1. Structure probes (QueueManager's startup check)
foreach my $t (
	'pgqueuer', 'pgqueuer_log',
	'pgqueuer_statistics', 'pgqueuer_schedules')
{
	is(pgq("EXECUTE pgq_has_table('$t');"), 't', "probe: table $t exists");
}
is(pgq("EXECUTE pgq_has_table('pgqueuer_nonexistent');"),
	'f', 'probe: a missing table is reported missing');
foreach my $c (
	'updated', 'heartbeat', 'queue_manager_id', 'execute_after',
	'headers', 'attempts', 'dedupe_key')
{
	is(pgq("EXECUTE pgq_table_has_column('pgqueuer', '$c');"),
		't', "probe: queue column $c exists");
}
is(pgq("EXECUTE pgq_table_has_column('pgqueuer_log', 'traceback');"),
	't', 'probe: log column traceback exists');
is(pgq("EXECUTE pgq_table_has_column('pgqueuer', 'no_such_column');"),
	'f', 'probe: a missing column is reported missing');
foreach my $label ('canceled', 'failed')
{
	is(pgq("EXECUTE pgq_has_user_defined_enum('$label', 'pgqueuer_status');"),
		't', "probe: enum label $label exists");
}
is(pgq("EXECUTE pgq_has_user_defined_enum('cancelled', 'pgqueuer_status');"),
	'f', 'probe: the two-L spelling is not a label');
is( q1(
		"SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum JOIN pg_type ON pg_enum.enumtypid = pg_type.oid WHERE typname = 'pgqueuer_status'"
	),
	'queued,picked,successful,exception,canceled,deleted,failed',
	'probe: the seven labels in PgQueuer\'s order');
is( pgq(
		"EXECUTE pgq_table_has_index('pgqueuer_log', 'pgqueuer_log_job_id_status');"),
	't',
	'probe: index pgqueuer_log_job_id_status exists');
is(pgq("EXECUTE pgq_has_function('fn_pgqueuer_changed');"),
	't', 'probe: function fn_pgqueuer_changed exists');
is(pgq("EXECUTE pgq_has_trigger('tg_pgqueuer_changed');"),
	't', 'probe: trigger tg_pgqueuer_changed exists');
is( q1(
		"SELECT tgtype FROM pg_trigger WHERE tgname = 'tg_pgqueuer_changed' AND tgrelid = 'pgqueuer.pgqueuer'::regclass"
	),
	'60',
	'probe: the trigger is AFTER INSERT/UPDATE/DELETE/TRUNCATE FOR EACH STATEMENT');
is(q1("SELECT pg_get_serial_sequence('pgqueuer.pgqueuer', 'id')"),
	'pgqueuer.pgqueuer_id_seq', 'probe: the queue id sequence is owned by id');

# ===========================================================================
# 2. Enqueue (raise mode)
my @e = rows(
	q{EXECUTE pgq_enqueue(ARRAY[0, 5, 0], ARRAY['pq_a', 'pq_a', 'pq_b'], ARRAY[NULL, '\x01', NULL]::bytea[], ARRAY['0', '0', '1 hour']::interval[], ARRAY[NULL, NULL, NULL]::text[], ARRAY['null', '{"k": "v"}', NULL]::jsonb[]);}
);
is(scalar(@e), 3, 'enqueue: three ids returned');
is(join(',', map { $_->{ord} } @e), '1,2,3', 'enqueue: in input order');
ok($e[0]{id} < $e[1]{id} && $e[1]{id} < $e[2]{id},
	'enqueue: ids ascending in input order');
my ($id1, $id2, $id3) = map { $_->{id} } @e;
is( q1(
		"SELECT string_agg(concat_ws(':', id, status, priority, entrypoint, attempts, queue_manager_id IS NULL, payload, headers), ' ' ORDER BY id) FROM pgqueuer.pgqueuer WHERE id IN ($id1, $id2, $id3)"
	),
	"$id1:queued:0:pq_a:0:t:null $id2:queued:5:pq_a:0:t:\\x01:{\"k\": \"v\"} $id3:queued:0:pq_b:0:t",
	'enqueue: rows queued with their priority, payload and headers');
is( q1(
		"SELECT execute_after > now() + interval '50 minutes' FROM pgqueuer.pgqueuer WHERE id = $id3"
	),
	't',
	'enqueue: execute_after = NOW() + offset');
is(log_of($id1) . ' ' . log_of($id2) . ' ' . log_of($id3),
	'queued queued queued', 'enqueue: one queued log row per job');

# dedupe, raise: the whole batch fails on an active duplicate
my ($kid) = map { $_->{id} } rows(
	q{EXECUTE pgq_enqueue(ARRAY[0], ARRAY['pq_k'], ARRAY[NULL]::bytea[], ARRAY['0']::interval[], ARRAY['k1'], ARRAY[NULL]::jsonb[]);}
);
like($kid // '', qr/^\d+$/, 'enqueue raise: first job with key k1');
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	$pgqueuer_sql
	  . q{EXECUTE pgq_enqueue(ARRAY[0, 0], ARRAY['pq_k', 'pq_k'], ARRAY[NULL, NULL]::bytea[], ARRAY['0', '0']::interval[], ARRAY['k2', 'k1'], ARRAY[NULL, NULL]::jsonb[]);}
);
isnt($ret, 0, 'enqueue raise: a duplicate active key fails the statement');
like(
	$stderr,
	qr/duplicate key value violates unique constraint "pgqueuer_unique_dedupe_key"/,
	'enqueue raise: unique violation on pgqueuer_unique_dedupe_key');
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer WHERE dedupe_key = 'k2'"),
	'0', 'enqueue raise: all or nothing (k2 not inserted)');

# dedupe, skip: ON CONFLICT on the partial index; first occurrence wins
my @s = rows(
	q{EXECUTE pgq_enqueue_skip(ARRAY[0, 0, 0, 0], ARRAY['pq_k', 'pq_k', 'pq_k', 'pq_k'], ARRAY[NULL, NULL, NULL, NULL]::bytea[], ARRAY['0', '0', '0', '0']::interval[], ARRAY['k1', 'k3', 'k3', 'k4'], ARRAY[NULL, NULL, NULL, NULL]::jsonb[]);}
);
is(join(',', map { $_->{ord} } @s), '1,2,3,4', 'enqueue skip: one slot per input');
is(join(',', map { $_->{id} eq '' ? 'NULL' : 'id' } @s),
	'NULL,id,NULL,id', 'enqueue skip: active key and in-batch duplicate skipped');
is( q1(
		"SELECT string_agg(dedupe_key || '=' || id, ',' ORDER BY dedupe_key) FROM pgqueuer.pgqueuer WHERE dedupe_key IN ('k1', 'k3', 'k4')"
	),
	"k1=$kid,k3=$s[1]{id},k4=$s[3]{id}",
	'enqueue skip: one active job per key, the first occurrence for k3');
is( q1(
		"SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE job_id IN ($s[1]{id}, $s[3]{id}) AND status = 'queued'"
	),
	'2',
	'enqueue skip: queued log rows for the inserted jobs only');

# ===========================================================================
# 3. Dequeue
my @d = rows(dequeue_sql(10, [ 'pq_a', 'pq_b' ], [ 0, 0 ], $qm1));
is(join(',', map { $_->{id} } @d),
	"$id2,$id1", 'dequeue: priority DESC, id ASC; deferred job not returned');
is(join(',', map { "$_->{status}/$_->{queue_manager_id}" } @d),
	"picked/$qm1,picked/$qm1", 'dequeue: returned rows are picked by the worker');
is($d[0]{payload}, '\x01', 'dequeue: RETURNING the whole row (payload)');
is( q1(
		"SELECT string_agg(status || '/' || queue_manager_id, ',' ORDER BY id) FROM pgqueuer.pgqueuer WHERE id IN ($id1, $id2)"
	),
	"picked/$qm1,picked/$qm1",
	'dequeue: rows picked in the table');
is(log_of($id2), 'queued,picked', 'dequeue: picked log row');
is(scalar(rows(dequeue_sql(10, [ 'pq_a', 'pq_b' ], [ 0, 0 ], $qm1))),
	0, 'dequeue: nothing left that is due');

# concurrency limit
rows(
	q{EXECUTE pgq_enqueue(ARRAY[0, 0, 0], ARRAY['pq_lim', 'pq_lim', 'pq_lim'], ARRAY[NULL, NULL, NULL]::bytea[], ARRAY['0', '0', '0']::interval[], ARRAY[NULL, NULL, NULL]::text[], ARRAY[NULL, NULL, NULL]::jsonb[]);}
);
my @l1 = rows(dequeue_sql(10, ['pq_lim'], [2], $qm1));
is(scalar(@l1), 2, 'dequeue limit 2: two jobs');
is(scalar(rows(dequeue_sql(10, ['pq_lim'], [2], $qm2))),
	0, 'dequeue limit 2: saturated for another worker');
pgq(
	"EXECUTE pgq_log_jobs(ARRAY[$l1[0]{id}]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[], ARRAY[NULL]::jsonb[]);"
);
my @l2 = rows(dequeue_sql(10, ['pq_lim'], [2], $qm2));
is(scalar(@l2), 1, 'dequeue limit 2: a freed slot is taken again');

# per-worker cap
rows(
	q{EXECUTE pgq_enqueue(ARRAY[0, 0, 0], ARRAY['pq_g', 'pq_g', 'pq_g'], ARRAY[NULL, NULL, NULL]::bytea[], ARRAY['0', '0', '0']::interval[], ARRAY[NULL, NULL, NULL]::text[], ARRAY[NULL, NULL, NULL]::jsonb[]);}
);
my @g1 = rows(dequeue_sql(10, ['pq_g'], [0], $qm3, 2));
is(scalar(@g1), 2, 'dequeue cap 2: two jobs');
is(scalar(rows(dequeue_sql(10, ['pq_g'], [0], $qm3, 2))),
	0, 'dequeue cap 2: the worker is full');

# a stale picked job (heartbeat older than the timeout) is re-picked
q1( "UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour' WHERE id = $g1[0]{id}"
);
my $gq = q1(
	"SELECT id FROM pgqueuer.pgqueuer WHERE entrypoint = 'pq_g' AND status = 'queued'"
);
like($gq, qr/^\d+$/, 'dequeue: one pq_g job is still queued');
my @g2 = rows(dequeue_sql(10, ['pq_g'], [0], $qm4));
is( join(',', sort { $a <=> $b } map { $_->{id} } @g2),
	join(',', sort { $a <=> $b } $g1[0]{id}, $gq),
	'dequeue: the stale job and the queued one are picked');
is( q1(
		"SELECT queue_manager_id || '/' || attempts FROM pgqueuer.pgqueuer WHERE id = $g1[0]{id}"
	),
	"$qm4/0",
	'dequeue: the stale job changes owner, attempts unchanged');
is(log_of($g1[0]{id}), 'queued,picked,picked', 'dequeue: re-pick logged');

# ===========================================================================
# 4. log_jobs: completion and hold
my $tb =
  '{"job_id": 1, "timestamp": "2026-01-01T00:00:00Z", "exception_type": "ValueError", "exception_message": "boom", "traceback": "Traceback ...", "additional_context": null}';
pgq(
	"EXECUTE pgq_log_jobs(ARRAY[$id2, $id1, 999999999]::bigint[], ARRAY['successful', 'exception', 'successful']::pgqueuer.pgqueuer_status[], ARRAY[NULL, '$tb', NULL]::jsonb[]);"
);
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer WHERE id IN ($id1, $id2)"),
	'0', 'log_jobs: completed rows deleted');
is(log_of($id2), 'queued,picked,successful', 'log_jobs: successful logged');
is(log_of($id1), 'queued,picked,exception', 'log_jobs: exception logged');
is( q1(
		"SELECT traceback->>'exception_type' FROM pgqueuer.pgqueuer_log WHERE job_id = $id1 AND status = 'exception'"
	),
	'ValueError',
	'log_jobs: traceback stored');
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE job_id = 999999999"),
	'0', 'log_jobs: unknown id writes nothing');

# hold (failed), then the key is free again, then requeue
my ($hid) = map { $_->{id} } rows(dequeue_sql(10, ['pq_k'], [0], $qm1, 1));
is($hid, $kid, 'hold: the k1 job is picked');
pgq(
	"EXECUTE pgq_log_jobs(ARRAY[$hid]::bigint[], ARRAY['failed']::pgqueuer.pgqueuer_status[], ARRAY['$tb']::jsonb[]);"
);
is( q1(
		"SELECT status || '/' || (queue_manager_id IS NULL) FROM pgqueuer.pgqueuer WHERE id = $hid"
	),
	'failed/true',
	'hold: row kept as failed, owner cleared');
is(log_of($hid), 'queued,picked,failed', 'hold: failed logged');
my @s2 = rows(
	q{EXECUTE pgq_enqueue_skip(ARRAY[0], ARRAY['pq_k2'], ARRAY[NULL]::bytea[], ARRAY['0']::interval[], ARRAY['k1'], ARRAY[NULL]::jsonb[]);}
);
like($s2[0]{id}, qr/^\d+$/,
	'hold: the key of a held job is free for a new job');

# ===========================================================================
# 5. retry_job and heartbeat
my ($rid) = map { $_->{id} } rows(dequeue_sql(1, ['pq_k'], [0], $qm2));
ok(defined $rid, 'retry: a job picked');
pgq("EXECUTE pgq_retry_job($rid, '10 minutes', '$tb');");
is( q1(
		"SELECT status || '/' || attempts || '/' || (queue_manager_id IS NULL) || '/' || (execute_after > now() + interval '9 minutes') FROM pgqueuer.pgqueuer WHERE id = $rid"
	),
	'queued/1/true/true',
	'retry: queued again, attempts + 1, owner cleared, deferred by the delay');
is(log_of($rid), 'queued,picked,queued', 'retry: queued log row');
is( q1(
		"SELECT traceback->>'exception_message' FROM pgqueuer.pgqueuer_log WHERE job_id = $rid ORDER BY id DESC LIMIT 1"
	),
	'boom',
	'retry: the log row carries the traceback');

q1( "UPDATE pgqueuer.pgqueuer SET heartbeat = now() - interval '1 hour' WHERE id = $l2[0]{id}"
);
pgq("EXECUTE pgq_update_heartbeat(ARRAY[$l2[0]{id}]::bigint[]);");
is( q1(
		"SELECT heartbeat > now() - interval '1 minute' FROM pgqueuer.pgqueuer WHERE id = $l2[0]{id}"
	),
	't',
	'heartbeat: heartbeat moved to now');

# ===========================================================================
# 6. aggregate_logs
my $expect = q1(
	"SELECT string_agg(status || '=' || n, ',' ORDER BY status) FROM (SELECT status, count(*) AS n FROM pgqueuer.pgqueuer_log WHERE NOT aggregated GROUP BY status) s"
);
like($expect, qr/queued=\d+/, 'aggregate: there are log rows to fold');
pgq("EXECUTE pgq_aggregate_logs;");
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE NOT aggregated"),
	'0', 'aggregate: every log row marked aggregated');
is( q1(
		"SELECT string_agg(status || '=' || n, ',' ORDER BY status) FROM (SELECT status, sum(count) AS n FROM pgqueuer.pgqueuer_statistics GROUP BY status) s"
	),
	$expect,
	'aggregate: statistics counts equal the log rows per status');

# the upsert: rows of an existing bucket add to its count
my $t0 = q1("SELECT date_trunc('sec', now()) - interval '1 hour'");
my $logrow = sub {
	my ($frac) = @_;
	return
	  "INSERT INTO pgqueuer.pgqueuer_log (created, job_id, status, priority, entrypoint) VALUES (timestamptz '$t0' + interval '$frac sec', 1, 'successful', 7, 'pq_stats');";
};
q1($logrow->('0.25') . $logrow->('0.75'));
pgq("EXECUTE pgq_aggregate_logs;");
is( q1(
		"SELECT string_agg(count::text, ',') FROM pgqueuer.pgqueuer_statistics WHERE entrypoint = 'pq_stats'"
	),
	'2',
	'aggregate: two log rows of one second make one bucket of 2');
q1($logrow->('0.5'));
pgq("EXECUTE pgq_aggregate_logs;");
is( q1(
		"SELECT string_agg(count::text, ',') FROM pgqueuer.pgqueuer_statistics WHERE entrypoint = 'pq_stats'"
	),
	'3',
	'aggregate: ON CONFLICT adds to the existing bucket');
is( q1(
		"SELECT created = timestamptz '$t0' FROM pgqueuer.pgqueuer_statistics WHERE entrypoint = 'pq_stats'"
	),
	't',
	'aggregate: bucket at the second');

# the advisory lock: while somebody else holds it, nothing is folded
my $bg = $node->background_psql('postgres');
$bg->query_safe(
	"BEGIN; SELECT pg_advisory_xact_lock(hashtext('pgqueuer.pgqueuer_statistics'));"
);
q1($logrow->('0.6'));
pgq("EXECUTE pgq_aggregate_logs;");
is( q1(
		"SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE NOT aggregated AND entrypoint = 'pq_stats'"
	),
	'1',
	'aggregate: the loser of the advisory lock folds nothing');
$bg->query_safe('COMMIT;');
$bg->quit;
pgq("EXECUTE pgq_aggregate_logs;");
is( q1(
		"SELECT string_agg(count::text, ',') FROM pgqueuer.pgqueuer_statistics WHERE entrypoint = 'pq_stats'"
	),
	'4',
	'aggregate: folded once the lock is free');

# ===========================================================================
# 7. Schedules
pgq(
	"EXECUTE pgq_insert_schedule(ARRAY['* * * * *', '*/5 * * * *'], ARRAY['pq_sched', 'pq_sched'], ARRAY['0', '5 minutes']::interval[]);"
);
is( q1(
		"SELECT string_agg(concat_ws('/', expression, status, last_run IS NULL, server_fired, priority, payload IS NULL), ',' ORDER BY expression) FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'pq_sched'"
	),
	'* * * * */queued/t/f/0/t,*/5 * * * */queued/t/f/0/t',
	'schedules: inserted queued, extension columns at their defaults');
my $nr = q1(
	"SELECT next_run FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'pq_sched' AND expression = '* * * * *'"
);
pgq(
	"EXECUTE pgq_insert_schedule(ARRAY['* * * * *'], ARRAY['pq_sched'], ARRAY['1 hour']::interval[]);"
);
is( q1(
		"SELECT count(*) || '/' || bool_and(next_run = timestamptz '$nr' OR expression <> '* * * * *') FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = 'pq_sched'"
	),
	'2/true',
	'schedules: re-insert of an existing pair does nothing');

my $claim =
  "EXECUTE pgq_fetch_schedule(ARRAY['* * * * *', '*/5 * * * *'], ARRAY['pq_sched', 'pq_sched'], ARRAY['1 minute', '5 minutes']::interval[]);";
my @c1 = rows($claim);
is(scalar(@c1), 1, 'schedules: one due schedule claimed');
is($c1[0]{expression}, '* * * * *', 'schedules: the due one');
is($c1[0]{status}, 'picked', 'schedules: claimed row is picked');
is( q1(
		"SELECT next_run > now() + interval '50 seconds' FROM pgqueuer.pgqueuer_schedules WHERE id = $c1[0]{id}"
	),
	't',
	'schedules: next_run advanced by the delay');
is(scalar(rows($claim)), 0, 'schedules: a claimed schedule is not claimed twice');
q1( "UPDATE pgqueuer.pgqueuer_schedules SET heartbeat = now() - interval '1 minute' WHERE id = $c1[0]{id}"
);
my @c2 = rows($claim);
is(join(',', map { $_->{id} } @c2),
	$c1[0]{id}, 'schedules: a stale claim is claimed again');
pgq("EXECUTE pgq_update_schedule_heartbeat(ARRAY[$c1[0]{id}]::bigint[]);");
pgq("EXECUTE pgq_set_schedule_queued(ARRAY[$c1[0]{id}]::bigint[]);");
is( q1(
		"SELECT status || '/' || (last_run IS NOT NULL) || '/' || (heartbeat > now() - interval '10 seconds') FROM pgqueuer.pgqueuer_schedules WHERE id = $c1[0]{id}"
	),
	'queued/true/true',
	'schedules: heartbeat and set back to queued with last_run');
is(scalar(rows($claim)), 0, 'schedules: not due again before next_run');

# ===========================================================================
# 8. Crossing over between PgQueuer's SQL and the extension's functions

# enqueued by PgQueuer, dequeued and completed by the extension
my ($xa) = map { $_->{id} } rows(
	q{EXECUTE pgq_enqueue(ARRAY[3], ARRAY['mix_a'], ARRAY['\x0a0b']::bytea[], ARRAY['0']::interval[], ARRAY['mix-a-key'], ARRAY['{"h": 1}']::jsonb[]);}
);
is( q1(
		"SELECT id || '/' || status || '/' || payload || '/' || headers FROM pgqueuer.dequeue(10, ARRAY['mix_a'], '$qm1')"
	),
	"$xa/picked/\\x0a0b/{\"h\": 1}",
	'cross: PgQueuer job dequeued by pgqueuer.dequeue()');
is( q1(
		"SELECT * FROM pgqueuer.complete(ARRAY[$xa]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[], NULL, '$qm1')"
	),
	$xa,
	'cross: and completed by pgqueuer.complete()');
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer WHERE id = $xa"),
	'0', 'cross: the row is gone');
is(log_of($xa), 'queued,picked,successful', 'cross: full log trail');
is(q1("SELECT status FROM pgqueuer.job_status(ARRAY[$xa]::bigint[])"),
	'successful', 'cross: job_status() sees the outcome');

# enqueued by the extension, dequeued and completed by PgQueuer's SQL
my $xb = q1(
	"SELECT pgqueuer.enqueue('mix_b', '\\x0c'::bytea, 4, dedupe_key => 'mix-b-key', headers => '{\"x\": 2}')"
);
my @xd = rows(dequeue_sql(10, ['mix_b'], [0], $qm2));
is(join(',', map { $_->{id} } @xd), $xb,
	'cross: extension job dequeued by PgQueuer\'s SQL');
is( "$xd[0]{status}/$xd[0]{queue_manager_id}/$xd[0]{priority}/$xd[0]{payload}/$xd[0]{dedupe_key}/$xd[0]{headers}",
	"picked/$qm2/4/\\x0c/mix-b-key/{\"x\": 2}",
	'cross: with its priority, payload, key and headers');
pgq(
	"EXECUTE pgq_log_jobs(ARRAY[$xb]::bigint[], ARRAY['successful']::pgqueuer.pgqueuer_status[], ARRAY[NULL]::jsonb[]);"
);
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer WHERE id = $xb"),
	'0', 'cross: completed by PgQueuer\'s log_jobs');
is(log_of($xb), 'queued,picked,successful', 'cross: full log trail');

# held by PgQueuer, requeued by the extension, picked by PgQueuer again
my $xc = q1("SELECT pgqueuer.enqueue('mix_c')");
is(join(',', map { $_->{id} } rows(dequeue_sql(10, ['mix_c'], [0], $qm3))),
	$xc, 'cross: picked by PgQueuer');
pgq(
	"EXECUTE pgq_log_jobs(ARRAY[$xc]::bigint[], ARRAY['failed']::pgqueuer.pgqueuer_status[], ARRAY[NULL]::jsonb[]);"
);
is(q1("SELECT * FROM pgqueuer.requeue(ARRAY[$xc]::bigint[])"),
	$xc, 'cross: PgQueuer\'s held job requeued by pgqueuer.requeue()');
is(join(',', map { $_->{id} } rows(dequeue_sql(10, ['mix_c'], [0], $qm3))),
	$xc, 'cross: and picked by PgQueuer again');
is(log_of($xc), 'queued,picked,failed,queued,picked',
	'cross: full log trail');

# PgQueuer's requeue_jobs on a job held by the extension's complete()
my $xd = q1("SELECT pgqueuer.enqueue('mix_d')");
q1("SELECT id FROM pgqueuer.dequeue(1, ARRAY['mix_d'], '$qm4')");
is( q1(
		"SELECT * FROM pgqueuer.complete(ARRAY[$xd]::bigint[], ARRAY['failed']::pgqueuer.pgqueuer_status[])"
	),
	$xd,
	'cross: held by pgqueuer.complete()');
pgq("EXECUTE pgq_requeue_jobs(ARRAY[$xd]::bigint[]);");
is( q1(
		"SELECT status || '/' || attempts FROM pgqueuer.pgqueuer WHERE id = $xd"),
	'queued/0',
	'cross: requeued by PgQueuer\'s requeue_jobs');

# ===========================================================================
# 9. A role given the opt-in runs PgQueuer's SQL.  pgqueuer_worker alone has
#    no table writes since 1.1 (SECURITY.md, section 3); an admin grants
#    them to the role PgQueuer's Python workers log in as with
#    pgqueuer.grant_pgqueuer_client_access().
q1("CREATE ROLE pq_client LOGIN IN ROLE pgqueuer_worker");
q1("CREATE ROLE pq_admin LOGIN IN ROLE pgqueuer_admin");
my $pq_enqueue_one =
  q{EXECUTE pgq_enqueue(ARRAY[0], ARRAY['pq_role'], ARRAY[NULL]::bytea[], ARRAY['0']::interval[], ARRAY[NULL]::text[], ARRAY[NULL]::jsonb[]);};
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET ROLE pq_client;\n" . $pgqueuer_sql . $pq_enqueue_one);
isnt($ret, 0, 'worker role without the opt-in: PgQueuer\'s enqueue is refused');
like($stderr, qr/permission denied for (table|sequence)/,
	'worker role without the opt-in: permission denied');
q1("SET ROLE pq_admin; SELECT pgqueuer.grant_pgqueuer_client_access('pq_client')");
is(pgq('SELECT current_user;', role => 'pq_client'),
	'pq_client', 'opt-in role: SET ROLE works');
my ($wid) = map { $_->{id} } rows(
	q{EXECUTE pgq_enqueue(ARRAY[0], ARRAY['pq_role'], ARRAY[NULL]::bytea[], ARRAY['0']::interval[], ARRAY[NULL]::text[], ARRAY[NULL]::jsonb[]);},
	role => 'pq_client');
like($wid // '', qr/^\d+$/, 'opt-in role: enqueue');
my @skipw = rows(
	q{EXECUTE pgq_enqueue_skip(ARRAY[0], ARRAY['pq_role'], ARRAY[NULL]::bytea[], ARRAY['0']::interval[], ARRAY['role-key'], ARRAY[NULL]::jsonb[]);},
	role => 'pq_client');
like($skipw[0]{id} // '', qr/^\d+$/, 'opt-in role: skip-mode enqueue');
is( join(',',
		map { $_->{id} }
		  rows(dequeue_sql(1, ['pq_role'], [0], $qm1), role => 'pq_client')),
	$wid,
	'opt-in role: dequeue');
pgq(
	"EXECUTE pgq_update_heartbeat(ARRAY[$wid]::bigint[]);\nEXECUTE pgq_retry_job($wid, '0', NULL);",
	role => 'pq_client');
is(q1("SELECT attempts FROM pgqueuer.pgqueuer WHERE id = $wid"),
	'1', 'opt-in role: heartbeat and retry_job');
pgq(
	"EXECUTE pgq_log_jobs(ARRAY[$wid, $skipw[0]{id}]::bigint[], ARRAY['successful', 'failed']::pgqueuer.pgqueuer_status[], ARRAY[NULL, NULL]::jsonb[]);",
	role => 'pq_client');
is( q1(
		"SELECT string_agg(id || '/' || status, ',') FROM pgqueuer.pgqueuer WHERE entrypoint = 'pq_role'"
	),
	"$skipw[0]{id}/failed",
	'opt-in role: log_jobs completes and holds');
pgq("EXECUTE pgq_requeue_jobs(ARRAY[$skipw[0]{id}]::bigint[]);",
	role => 'pq_client');
is(q1("SELECT status FROM pgqueuer.pgqueuer WHERE id = $skipw[0]{id}"),
	'queued', 'opt-in role: requeue_jobs');
pgq("EXECUTE pgq_aggregate_logs;", role => 'pq_client');
is(q1("SELECT count(*) FROM pgqueuer.pgqueuer_log WHERE NOT aggregated"),
	'0', 'opt-in role: aggregate_logs');
pgq(
	"EXECUTE pgq_insert_schedule(ARRAY['0 * * * *'], ARRAY['pq_role'], ARRAY['0']::interval[]);",
	role => 'pq_client');
is( scalar(
		rows(
			"EXECUTE pgq_fetch_schedule(ARRAY['0 * * * *'], ARRAY['pq_role'], ARRAY['1 hour']::interval[]);",
			role => 'pq_client')),
	1,
	'opt-in role: schedules insert and claim');
is( pgq(
		"EXECUTE pgq_has_table('pgqueuer');\nEXECUTE pgq_has_user_defined_enum('failed', 'pgqueuer_status');\nEXECUTE pgq_table_has_index('pgqueuer_log', 'pgqueuer_log_job_id_status');",
		role => 'pq_client'),
	"t\nt\nt",
	'opt-in role: structure probes');

# revoked again, the same role cannot
q1("SET ROLE pq_admin; SELECT pgqueuer.revoke_pgqueuer_client_access('pq_client')");
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET ROLE pq_client;\n" . $pgqueuer_sql . $pq_enqueue_one);
isnt($ret, 0, 'opt-in revoked: PgQueuer\'s enqueue is refused');
like($stderr, qr/permission denied for (table|sequence)/,
	'opt-in revoked: permission denied');
is(pgq("EXECUTE pgq_has_table('pgqueuer');", role => 'pq_client'),
	't', 'opt-in revoked: a pgqueuer_worker member still reads');

# control: a role without the table privileges cannot
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET ROLE pgqueuer_producer;\n"
	  . $pgqueuer_sql
	  . q{EXECUTE pgq_enqueue(ARRAY[0], ARRAY['pq_role'], ARRAY[NULL]::bytea[], ARRAY['0']::interval[], ARRAY[NULL]::text[], ARRAY[NULL]::jsonb[]);}
);
isnt($ret, 0, 'producer role: PgQueuer\'s enqueue is refused');
like($stderr, qr/permission denied for (table|sequence)/, 'producer role: permission denied');

$node->stop;
done_testing();
