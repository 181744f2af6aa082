#!/usr/bin/env node
/*
 * worker.js -- an example pgqueuer worker in Node.js.
 *
 *   PGHOST=/var/run/postgresql PGDATABASE=app PGUSER=app node examples/worker.js
 *
 * The connection comes from $PGQUEUER_DSN when set, else from libpq's PG*
 * variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD), which pg
 * reads itself.  The role needs pgqueuer_worker.  Ctrl-C (SIGINT) or
 * SIGTERM stops it gracefully: no new jobs, running ones finish and are
 * reported; a second signal exits at once.
 *
 * Entrypoints:
 *   send_email  payload: JSON {"to": ..., "subject": ...}; at most two at
 *               once across every worker (a server-enforced limit), two
 *               retries with backoff (1 s, 2 s) when it throws.  A payload that is
 *               not such JSON throws, and the job is logged as an
 *               exception with its traceback.
 *   report      asks for a retry half a second later on its first attempt
 *               (the data "is not ready yet"), then succeeds.
 */
'use strict';

const { setTimeout: sleep } = require('timers/promises');
const { Worker, RetryRequested } = require('../lib');

const worker = new Worker({
	connection: process.env.PGQUEUER_DSN || undefined,
	batchSize: 10,
	maxConcurrentTasks: 4,
});

worker.entrypoint('send_email', { concurrencyLimit: 2, maxAttempts: 2, retryBackoffBase: 1 },
	async (job, { signal }) => {
		const { to, subject } = JSON.parse(job.payload.toString('utf8'));
		if (typeof to !== 'string')
			throw new TypeError('payload.to must be an address');
		/* the real work would go here; cancellation aborts the wait */
		await sleep(20, undefined, { signal });
		console.log(`sent ${JSON.stringify(subject)} to ${to} (job ${job.id})`);
	});

worker.entrypoint('report', async (job) => {
	if (job.attempts === 0)
		throw new RetryRequested({ delay: 0.5, reason: 'the data is not ready yet' });
	console.log(`report ${job.id} done after ${job.attempts} retry`);
});

worker.run().then(
	(stats) => console.log(`worker stopped: ${JSON.stringify(stats)}`),
	(err) => {
		console.error(`worker failed: ${err.message}`);
		process.exitCode = 1;
	});
