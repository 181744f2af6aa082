/*
 * worker.test.js -- the Node.js client against a real server: producer,
 * the worker's handler outcomes, heartbeats, cancellation, forged
 * notifications, concurrency and reconnection.  Workers run in this
 * process as role node_worker (pgqueuer_worker), jobs are queued as
 * node_producer, cancelled as node_admin; the tests read the server's
 * log as the superuser.  Every wait is for an effect.
 */
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert');

const { Producer, Worker, RetryRequested, HoldRequested, JobCancelled } = require('../lib');
const { startServer, waitFor, waitForEvent } = require('./server');

let srv;
let producer;
let admin;
const workers = [];

before(async () => {
	srv = await startServer();
	producer = new Producer(await srv.client('node_producer'));
	admin = new Producer(await srv.client('node_admin'));
});

after(async () => {
	/* a failed test may leave handlers waiting: let them all return */
	for (const g of gates)
		g.open();
	for (const { worker, done } of workers) {
		worker.stop();
		await done.catch(() => {});
	}
	if (srv)
		await srv.stop();
});

/** a worker as node_worker with the given entrypoints, running */
function startWorker(entrypoints, options = {}) {
	const worker = new Worker({
		connection: srv.config('node_worker'), handleSignals: false, logLevel: 'error', ...options,
	});
	for (const [name, opts, handler] of entrypoints)
		worker.entrypoint(name, opts, handler);
	const done = worker.run();
	workers.push({ worker, done });
	return { worker, done };
}

/** the log rows of a job: [{status, traceback}] in order */
async function logOf(id) {
	const res = await srv.query(
		'SELECT status::text, traceback FROM pgqueuer.pgqueuer_log WHERE job_id = $1 ORDER BY id', [id]);
	return res.rows;
}

/** wait until the job's latest logged status is `status` */
function waitStatus(id, status) {
	return waitFor(async () => (await admin.jobStatus([id])).get(id) === status,
		`job ${id} to be ${status}`);
}

const gates = [];

/** a promise and its resolve function; every gate opens at the end */
function gate() {
	let open;
	const promise = new Promise((resolve) => { open = resolve; });
	const g = { promise, open };
	gates.push(g);
	return g;
}

test('core cycle: enqueue, the handler runs, successful in the log', async () => {
	const seen = [];
	const { worker } = startWorker([['core', {}, async (job, ctx) => {
		assert.ok(ctx.signal instanceof AbortSignal);
		seen.push(job);
	}]]);
	const id = await producer.enqueue('core', 'hello', { priority: 3, headers: { trace: 'abc' } });
	assert.strictEqual(typeof id, 'number');
	await waitStatus(id, 'successful');
	assert.strictEqual(seen.length, 1);
	const job = seen[0];
	assert.strictEqual(job.id, id);
	assert.strictEqual(job.entrypoint, 'core');
	assert.strictEqual(job.payload.toString('utf8'), 'hello');
	assert.strictEqual(job.priority, 3);
	assert.deepStrictEqual(job.headers, { trace: 'abc' });
	assert.strictEqual(job.attempts, 0);
	assert.deepStrictEqual((await logOf(id)).map((r) => r.status), ['queued', 'picked', 'successful']);
	assert.strictEqual((await srv.query('SELECT count(*)::int AS n FROM pgqueuer.pgqueuer WHERE id = $1', [id])).rows[0].n, 0);
	/* the worker's connection is named so that pgqueuer.workers() finds it */
	const row = (await srv.query('SELECT picked, pid FROM pgqueuer.workers() WHERE queue_manager_id = $1',
		[worker.queueManagerId])).rows[0];
	assert.ok(row && row.pid !== null, 'pgqueuer.workers() lists the connected worker');
});

test('batch enqueue: priority order, dedupe keys, headers, execute_after', async () => {
	const order = [];
	const startedAt = new Map();
	const start = gate();
	startWorker([['batch', {}, async (job) => {
		startedAt.set(job.id, Date.now());
		await start.promise;
		order.push(job);
	}]], { maxConcurrentTasks: 1, batchSize: 1 });

	/* a job that holds the only slot, so the batch is queued before any runs */
	const first = await producer.enqueue('batch', 'first', { priority: 100 });
	await waitStatus(first, 'picked');
	const ids = await producer.enqueueBatch([
		{ entrypoint: 'batch', payload: 'low', priority: 1, dedupeKey: 'k1' },
		{ entrypoint: 'batch', payload: Buffer.from([0, 255, 1]), priority: 5, headers: { n: 2 } },
		{ entrypoint: 'batch', payload: 'dup', priority: 9, dedupeKey: 'k1' },
		{ entrypoint: 'batch', payload: null, priority: 3, executeAfter: 1.5 },
	], { onConflict: 'skip' });
	assert.strictEqual(ids.length, 4);
	assert.strictEqual(ids[2], null, 'the second job with key k1 is skipped');
	assert.ok(ids[0] < ids[1] && ids[1] < ids[3], 'ids ascend in input order');
	await assert.rejects(producer.enqueue('batch', 'again', { dedupeKey: 'k1' }), (err) => err.code === '23505');

	start.open();
	await waitStatus(ids[3], 'successful');
	/* one slot: the due jobs ran by priority, the deferred one when due */
	assert.deepStrictEqual(order.map((j) => j.id).filter((i) => i !== ids[3]), [first, ids[1], ids[0]]);
	const byId = new Map(order.map((j) => [j.id, j]));
	assert.deepStrictEqual([...byId.get(ids[1]).payload], [0, 255, 1]);
	assert.deepStrictEqual(byId.get(ids[1]).headers, { n: 2 });
	const deferred = byId.get(ids[3]);
	assert.strictEqual(deferred.payload, null);
	const delay = deferred.executeAfter - deferred.created;
	assert.ok(delay >= 1499 && delay <= 1501, `execute_after is 1.5 s after created (${delay} ms)`);
	assert.ok(startedAt.get(ids[3]) >= deferred.executeAfter.getTime() - 1, 'the deferred job ran when due');
});

test('producer refuses arguments of the wrong type', async () => {
	await assert.rejects(producer.enqueue('core', { not: 'bytes' }), TypeError);
	await assert.rejects(producer.enqueue(42, null), TypeError);
	await assert.rejects(producer.enqueue('core', null, { priority: 1.5 }), TypeError);
	await assert.rejects(producer.enqueue('core', null, { headers: [1, 2] }), TypeError);
	await assert.rejects(producer.enqueue('core', null, { onConflict: 'ignore' }), TypeError);
	await assert.rejects(producer.enqueue('', null), (err) => err.code === '22023');
	await assert.rejects(producer.enqueueBatch('core'), TypeError);
	assert.deepStrictEqual(await producer.enqueueBatch([]), []);
	await assert.rejects(producer.cancel([1]), (err) => err.code === '42501', 'cancel needs pgqueuer_admin');
	assert.throws(() => new Worker({ batchSize: 0 }), RangeError);
	assert.throws(() => new Worker().entrypoint('x', { onFailure: 'keep' }, () => {}), RangeError);
	await assert.rejects(new Worker({ handleSignals: false }).run(), /no entrypoints/);
});

test('an exception is logged with a traceback in PgQueuer\'s shape', async () => {
	startWorker([['boom', {}, async () => {
		throw new TypeError('it went wrong');
	}]]);
	const id = await producer.enqueue('boom', 'x');
	await waitStatus(id, 'exception');
	const rows = await logOf(id);
	assert.deepStrictEqual(rows.map((r) => r.status), ['queued', 'picked', 'exception']);
	const tb = rows[2].traceback;
	assert.strictEqual(tb.job_id, id);
	assert.strictEqual(tb.exception_type, 'TypeError');
	assert.strictEqual(tb.exception_message, 'it went wrong');
	assert.match(tb.traceback, /TypeError: it went wrong\n\s+at .*worker\.test\.js/);
	assert.ok(!Number.isNaN(Date.parse(tb.timestamp)));
	assert.strictEqual(tb.additional_context.entrypoint, 'boom');
	assert.match(tb.additional_context.queue_manager_id, /^[0-9a-f-]{36}$/);
});

test('a registered entrypoint\'s exception is retried by the server with backoff', async () => {
	const attempts = [];
	startWorker([['flaky', { maxAttempts: 2, retryBackoffBase: 0.1, retryBackoffMax: 0.2 }, async (job) => {
		attempts.push(job.attempts);
		if (job.attempts === 0)
			throw new Error('first attempt fails');
	}]]);
	const id = await producer.enqueue('flaky');
	await waitStatus(id, 'successful');
	assert.deepStrictEqual(attempts, [0, 1]);
	assert.deepStrictEqual((await logOf(id)).map((r) => r.status),
		['queued', 'picked', 'queued', 'picked', 'successful']);
});

test('RetryRequested puts the job back after its delay; HoldRequested holds it', async () => {
	const seen = [];
	startWorker([
		['later', {}, async (job) => {
			seen.push({ attempts: job.attempts, at: Date.now() });
			if (job.attempts === 0)
				throw new RetryRequested({ delay: 0.3, reason: 'not yet' });
		}],
		['hold', {}, async () => {
			throw new HoldRequested('needs a human');
		}],
	]);
	const id = await producer.enqueue('later');
	await waitStatus(id, 'successful');
	assert.deepStrictEqual(seen.map((s) => s.attempts), [0, 1]);
	assert.ok(seen[1].at - seen[0].at >= 300, 'the retry came after its delay');
	const rows = await logOf(id);
	assert.deepStrictEqual(rows.map((r) => r.status), ['queued', 'picked', 'queued', 'picked', 'successful']);
	assert.strictEqual(rows[2].traceback.exception_type, 'RetryRequested');
	assert.strictEqual(rows[2].traceback.exception_message, 'not yet');
	assert.strictEqual(rows[2].traceback.additional_context.retry_delay, '0:00:00.300000');
	assert.strictEqual(rows[2].traceback.additional_context.attempt, 0);

	const held = await producer.enqueue('hold');
	await waitStatus(held, 'failed');
	const row = (await srv.query('SELECT status::text FROM pgqueuer.pgqueuer WHERE id = $1', [held])).rows[0];
	assert.strictEqual(row.status, 'failed', 'a held job stays in the queue table');
	assert.strictEqual((await logOf(held))[2].traceback.exception_type, 'HoldRequested');
});

test('pgqueuer.cancel() aborts the running handler; nothing else is logged', async () => {
	const started = gate();
	const teardown = gate();
	let reason = null;
	const { worker } = startWorker([['cancel_me', {}, (job, { signal }) => new Promise((resolve) => {
		started.open(job.id);
		signal.addEventListener('abort', () => {
			reason = signal.reason;
			resolve();
		});
		teardown.promise.then(resolve);
	})]]);
	const id = await producer.enqueue('cancel_me');
	assert.strictEqual(await started.promise, id);
	const cancelledEvent = waitForEvent(worker, 'cancelled', (job) => job.id === id);
	assert.deepStrictEqual(await admin.cancel([id]), [id]);
	await cancelledEvent;
	await waitFor(() => reason !== null, 'the handler to see the abort');
	assert.ok(reason instanceof JobCancelled);
	assert.strictEqual(reason.jobId, id);
	await waitFor(() => worker._running.size === 0, 'the worker to let go of the job');
	assert.deepStrictEqual((await logOf(id)).map((r) => r.status), ['queued', 'picked', 'canceled']);
	assert.strictEqual(worker.stats.cancelled, 1);
});

test('a forged cancellation_event does not abort a running handler', async () => {
	const started = gate();
	const release = gate();
	let aborted = false;
	const { worker } = startWorker([['forged', {}, async (job, { signal }) => {
		signal.addEventListener('abort', () => { aborted = true; });
		started.open(job.id);
		await release.promise;
	}]]);
	const id = await producer.enqueue('forged');
	await started.promise;
	const verdict = Promise.race([
		waitForEvent(worker, 'cancellationIgnored', (jobId) => jobId === id).then(([, st]) => `ignored (${st})`),
		waitForEvent(worker, 'cancelled', (job) => job.id === id).then(() => 'cancelled'),
	]);
	/* any role that can connect may NOTIFY: here one with no pgqueuer role */
	const intruder = await srv.client('node_intruder');
	const payload = JSON.stringify({
		channel: 'ch_pgqueuer', type: 'cancellation_event', sent_at: new Date().toISOString(),
		queue_manager_id: worker.queueManagerId, ids: [id],
	});
	await intruder.query("SELECT pg_catalog.pg_notify('ch_pgqueuer', $1)", [payload]);
	assert.strictEqual(await verdict, 'ignored (picked)');
	assert.strictEqual(aborted, false);
	release.open();
	await waitStatus(id, 'successful');
	assert.strictEqual(aborted, false);
});

test('heartbeats keep a job longer than its lease', async () => {
	const started = gate();
	const release = gate();
	const { worker } = startWorker([['long', { leaseTimeout: 1 }, async (job) => {
		started.open(job.id);
		await release.promise;
	}]]);
	const id = await producer.enqueue('long');
	await started.promise;
	/* five heartbeats at half the lease: more than two leases have passed */
	for (let beats = 0; beats < 5; beats++)
		await waitForEvent(worker, 'heartbeat', ({ extended }) => extended === 1);
	assert.strictEqual((await admin.jobStatus([id])).get(id), 'picked');
	release.open();
	await waitStatus(id, 'successful');
	assert.deepStrictEqual((await logOf(id)).map((r) => r.status), ['queued', 'picked', 'successful'],
		'the lease never expired');
});

test('maxConcurrentTasks caps the handlers running at once', async () => {
	const release = gate();
	let running = 0;
	let most = 0;
	const startedIds = [];
	startWorker([['capped', {}, async (job) => {
		startedIds.push(job.id);
		most = Math.max(most, ++running);
		await release.promise;
		running--;
	}]], { maxConcurrentTasks: 2, batchSize: 10 });
	const ids = await producer.enqueueBatch(Array.from({ length: 5 }, () => ({ entrypoint: 'capped' })));
	await waitFor(() => startedIds.length === 2, 'two handlers to start');
	const status = await admin.jobStatus(ids);
	assert.strictEqual([...status.values()].filter((s) => s === 'picked').length, 2);
	assert.strictEqual([...status.values()].filter((s) => s === 'queued').length, 3);
	release.open();
	await waitFor(async () => [...(await admin.jobStatus(ids)).values()].every((s) => s === 'successful'),
		'all five jobs to succeed');
	assert.strictEqual(most, 2);
});

test('without maxConcurrentTasks more than a batch runs at once (PgQueuer: None)', async () => {
	const release = gate();
	let running = 0;
	let most = 0;
	startWorker([['uncapped', {}, async () => {
		most = Math.max(most, ++running);
		await release.promise;
		running--;
	}]], { batchSize: 2 });
	const ids = await producer.enqueueBatch(Array.from({ length: 7 }, () => ({ entrypoint: 'uncapped' })));
	// every handler blocks until released: all seven can only start at once
	await waitFor(() => running === 7, 'seven handlers to run at once with batches of two');
	const status = await admin.jobStatus(ids);
	assert.strictEqual([...status.values()].filter((s) => s === 'picked').length, 7);
	release.open();
	await waitFor(async () => [...(await admin.jobStatus(ids)).values()].every((s) => s === 'successful'),
		'all seven jobs to succeed');
	assert.strictEqual(most, 7);
});

test('a lost connection is reopened; a handler running meanwhile is reported', async () => {
	const seen = [];
	const started = gate();
	const release = gate();
	const { worker } = startWorker([['reconnect', {}, async (job) => {
		seen.push(job.id);
		started.open(job.id);
		await release.promise;
	}]], {
		reconnectDelay: 0.05, connection: { ...srv.config('node_worker'), application_name: 'node reconnect test' },
	});
	const first = await producer.enqueue('reconnect');
	await started.promise;
	const reconnected = waitForEvent(worker, 'connected');
	const killed = await srv.query('SELECT pg_catalog.pg_terminate_backend(pid) AS ok' +
		" FROM pg_catalog.pg_stat_activity WHERE application_name = 'node reconnect test'");
	assert.deepStrictEqual(killed.rows, [{ ok: true }]);
	await reconnected;
	release.open();
	await waitStatus(first, 'successful');
	const second = await producer.enqueue('reconnect');
	await waitStatus(second, 'successful');
	assert.deepStrictEqual(seen, [first, second]);
	assert.strictEqual(worker.stats.successful, 2);
});

test('run() rejects without the extension or without the privilege', async () => {
	await srv.query('CREATE DATABASE node_noext');
	const noext = new Worker({ connection: { ...srv.config('node_worker'), database: 'node_noext' },
		handleSignals: false, logLevel: 'silent' });
	noext.entrypoint('x', () => {});
	await assert.rejects(noext.run(), /the pgqueuer extension is not installed/);

	/* a role without pgqueuer_worker: dequeue() is refused, the worker stops */
	const intruder = new Worker({ connection: srv.config('node_intruder'), handleSignals: false, logLevel: 'silent' });
	intruder.entrypoint('core', () => {});
	await assert.rejects(intruder.run(), (err) => err.code === '42501');
	const registering = new Worker({ connection: srv.config('node_intruder'), handleSignals: false, logLevel: 'silent' });
	registering.entrypoint('core', { concurrencyLimit: 1 }, () => {});
	await assert.rejects(registering.run(), (err) => err.code === '42501');
});

test('objects planted in a schema on search_path are never reached', async () => {
	/* what a role with CREATE on public could plant: types, functions, operators that raise */
	await srv.query(`
		CREATE FUNCTION public.trap() RETURNS boolean LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'planted object reached'; END$$;
		CREATE FUNCTION public.trap_name(name, pg_catalog.text) RETURNS boolean LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'planted operator reached'; END$$;
		CREATE FUNCTION public.trap_int8(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'planted operator reached'; END$$;
		CREATE FUNCTION public.trap_text(text) RETURNS boolean LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'planted domain reached'; END$$;
		CREATE DOMAIN public.text AS pg_catalog.varchar CHECK (public.trap_text(VALUE::pg_catalog.text));
		CREATE DOMAIN public.int4 AS pg_catalog.int4 CHECK (public.trap());
		CREATE DOMAIN public.int8 AS pg_catalog.int8 CHECK (public.trap());
		CREATE DOMAIN public.float8 AS pg_catalog.float8 CHECK (public.trap());
		CREATE DOMAIN public.uuid AS pg_catalog.uuid CHECK (public.trap());
		CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = pg_catalog.text, FUNCTION = public.trap_name);
		CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.trap_int8);
		CREATE FUNCTION public.make_interval(secs double precision) RETURNS interval LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'planted function reached'; END$$;
		CREATE FUNCTION public.unnest(double precision[]) RETURNS SETOF double precision LANGUAGE plpgsql AS
			$$BEGIN RAISE EXCEPTION 'planted function reached'; END$$;
		GRANT USAGE ON SCHEMA public TO PUBLIC;`);
	const trapped = (user) => ({ ...srv.config(user), options: '-c search_path=public,pg_catalog' });
	const pg = require('pg');
	const client = new pg.Client(trapped('node_admin'));
	await client.connect();
	try {
		const planted = new Producer(client);
		const seen = [];
		startWorker([['planted', { concurrencyLimit: 5, leaseTimeout: 10 }, async (job, { signal, worker }) => {
			seen.push(job.id);
			if (job.attempts === 0)
				throw new RetryRequested({ delay: 0 });
			/* a heartbeat goes out under the trap too */
			await waitForEvent(worker, 'heartbeat', ({ extended }) => extended > 0);
			assert.ok(!signal.aborted);
		}]], { connection: trapped('node_worker'), heartbeatInterval: 0.05 });
		const one = await planted.enqueue('planted', 'x', { priority: 1, executeAfter: 0, headers: { a: 1 } });
		const many = await planted.enqueueBatch([
			{ entrypoint: 'planted', executeAfter: 0.1 }, { entrypoint: 'planted', dedupeKey: 'p' },
		]);
		for (const id of [one, ...many])
			await waitStatus(id, 'successful');
		assert.strictEqual(seen.length, 6, 'each job failed once, was retried and succeeded');
		const status = await planted.jobStatus([one]);
		assert.strictEqual(status.get(one), 'successful');
		const gone = await planted.enqueue('planted_nobody');
		assert.deepStrictEqual(await planted.cancel([gone]), [gone]);
		assert.ok(Array.isArray(await planted.queueSize()));
	} finally {
		await client.end();
	}
});
