/*
 * process.test.js -- worker processes: a worker killed with SIGKILL while
 * its handler runs (the server's lease expiry gives the job to another
 * worker), SIGTERM during a job (graceful shutdown), and the example
 * producer and worker.  Every wait is for an effect: a line from the
 * process, a status in the server's log, an exit.
 */
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

const { Producer } = require('../lib');
const { startServer, waitFor } = require('./server');

let srv;
let producer;
const children = [];

before(async () => {
	srv = await startServer();
	producer = new Producer(await srv.client('node_admin'));
});

after(async () => {
	for (const c of children)
		if (c.proc.exitCode === null && c.proc.signalCode === null)
			c.proc.kill('SIGKILL');
	if (srv)
		await srv.stop();
});

/**
 * Start a node script as role `user`; its output lines are collected.
 * @returns {{proc, out: string[], err: string[], exited: Promise<{code, signal}>}}
 */
function spawnNode(script, env, user = 'node_worker') {
	const proc = spawn(process.execPath, [script], {
		env: {
			...process.env, ...env, PGHOST: srv.socketDir, PGPORT: String(srv.port),
			PGUSER: user, PGDATABASE: 'postgres',
		},
		stdio: ['pipe', 'pipe', 'pipe'],
	});
	const child = { proc, out: [], err: [] };
	readline.createInterface({ input: proc.stdout }).on('line', (l) => child.out.push(l));
	readline.createInterface({ input: proc.stderr }).on('line', (l) => child.err.push(l));
	child.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
	children.push(child);
	return child;
}

/** the JSON events a fixture worker printed */
function events(child) {
	return child.out.map((l) => JSON.parse(l));
}

/** the log statuses of a job, in order */
async function logStatuses(id) {
	const res = await srv.query('SELECT status::text FROM pgqueuer.pgqueuer_log WHERE job_id = $1 ORDER BY id', [id]);
	return res.rows.map((r) => r.status);
}

function waitStatus(id, status) {
	return waitFor(async () => (await producer.jobStatus([id])).get(id) === status, `job ${id} to be ${status}`);
}

const FIXTURE = path.join(__dirname, 'fixtures', 'held_worker.js');

test('SIGKILL of a worker: the lease expires and another worker runs the job', async () => {
	const id = await producer.enqueue('rescue', 'x');
	const a = spawnNode(FIXTURE, { ENTRYPOINT: 'rescue', LEASE: '1', HOLD: '1' });
	await waitFor(() => events(a).some((e) => e.event === 'started' && e.id === id), 'worker A to start the job');
	a.proc.kill('SIGKILL');
	assert.deepStrictEqual(await a.exited, { code: null, signal: 'SIGKILL' });
	assert.strictEqual((await producer.jobStatus([id])).get(id), 'picked', 'the dead worker still holds it');

	const b = spawnNode(FIXTURE, { ENTRYPOINT: 'rescue', LEASE: '1' });
	const started = await waitFor(() => events(b).find((e) => e.event === 'started' && e.id === id),
		'worker B to start the rescued job');
	assert.strictEqual(started.attempts, 1, 'the expired lease counted as an attempt');
	await waitStatus(id, 'successful');
	assert.deepStrictEqual(await logStatuses(id), ['queued', 'picked', 'queued', 'picked', 'successful']);
	b.proc.kill('SIGTERM');
	assert.strictEqual((await b.exited).code, 0);
});

test('SIGTERM: no new jobs, the running one finishes and is reported, exit 0', async () => {
	const c = spawnNode(FIXTURE, { ENTRYPOINT: 'graceful', HOLD: '1', LOG_LEVEL: 'debug' });
	const first = await producer.enqueue('graceful', '1');
	await waitFor(() => events(c).some((e) => e.event === 'started' && e.id === first), 'the job to start');
	c.proc.kill('SIGTERM');
	await waitFor(() => c.err.some((l) => l.includes('stopping: waiting for 1 job(s) to finish')),
		'the worker to stop dequeuing');
	/* announced by a notification while stopping: must not be taken */
	const wakeups = c.err.filter((l) => l.includes('wake-up')).length;
	const second = await producer.enqueue('graceful', '2');
	await waitFor(() => c.err.filter((l) => l.includes('wake-up')).length > wakeups,
		'the worker to receive the notification');
	assert.strictEqual(c.proc.exitCode, null, 'the worker waits for its job');
	c.proc.stdin.write('go\n');
	const { code } = await c.exited;
	assert.strictEqual(code, 0, c.err.join('\n'));
	const stopped = events(c).find((e) => e.event === 'stopped');
	assert.strictEqual(stopped.stats.successful, 1);
	assert.strictEqual(stopped.stats.dequeued, 1);
	assert.ok(!events(c).some((e) => e.event === 'started' && e.id === second));
	const status = await producer.jobStatus([first, second]);
	assert.strictEqual(status.get(first), 'successful');
	assert.strictEqual(status.get(second), 'queued');
	await producer.cancel([second]);
});

test('the example producer and worker', async () => {
	const worker = spawnNode(path.join(__dirname, '..', 'examples', 'worker.js'), {});
	const prod = spawnNode(path.join(__dirname, '..', 'examples', 'producer.js'), {}, 'node_producer');
	assert.strictEqual((await prod.exited).code, 0, prod.err.join('\n'));
	const ids = prod.out.map(Number);
	assert.strictEqual(ids.length, 5);
	const [welcome, news1, news2, bad, report] = ids;
	await waitFor(async () => {
		const s = await producer.jobStatus(ids);
		return [welcome, news1, news2, report].every((i) => s.get(i) === 'successful') &&
			s.get(bad) === 'exception';
	}, 'every example job to end');
	/* the bad payload was retried by the server (maxAttempts 2), then logged with its traceback */
	assert.deepStrictEqual(await logStatuses(bad),
		['queued', 'picked', 'queued', 'picked', 'queued', 'picked', 'exception']);
	const tb = (await srv.query("SELECT traceback FROM pgqueuer.pgqueuer_log WHERE job_id = $1 AND status = 'exception'",
		[bad])).rows[0].traceback;
	assert.strictEqual(tb.exception_type, 'SyntaxError');
	assert.match(tb.traceback, /JSON/);
	assert.deepStrictEqual(await logStatuses(report), ['queued', 'picked', 'queued', 'picked', 'successful']);
	assert.ok(worker.out.some((l) => l === `sent "Welcome" to a@example.com (job ${welcome})`), worker.out.join('\n'));
	worker.proc.kill('SIGINT');
	assert.strictEqual((await worker.exited).code, 0, worker.err.join('\n'));
	assert.match(worker.out[worker.out.length - 1], /^worker stopped: \{"dequeued":/);
});
