#!/usr/bin/env node
/*
 * producer.js -- an example pgqueuer producer in Node.js: queues the jobs
 * that examples/worker.js serves and prints their ids, one per line.
 *
 *   PGHOST=/var/run/postgresql PGDATABASE=app PGUSER=app node examples/producer.js
 *
 * The connection comes from $PGQUEUER_DSN, else libpq's PG* variables; the
 * role needs pgqueuer_producer.
 */
'use strict';

const pg = require('pg');
const { Producer } = require('../lib');

async function main() {
	const client = new pg.Client(process.env.PGQUEUER_DSN || undefined);
	await client.connect();
	try {
		const producer = new Producer(client);

		/* one job; the dedupe key keeps a second "welcome" for a@ out while this one waits */
		const welcome = await producer.enqueue('send_email',
			JSON.stringify({ to: 'a@example.com', subject: 'Welcome' }),
			{ priority: 10, dedupeKey: 'welcome:a@example.com', headers: { source: 'signup' } });

		/* many in one statement; the last is due in two seconds */
		const batch = await producer.enqueueBatch([
			{ entrypoint: 'send_email', payload: JSON.stringify({ to: 'b@example.com', subject: 'News' }) },
			{ entrypoint: 'send_email', payload: JSON.stringify({ to: 'c@example.com', subject: 'News' }) },
			{ entrypoint: 'send_email', payload: 'not json' },
			{ entrypoint: 'report', payload: 'monthly', priority: 5, executeAfter: 2 },
		]);
		for (const id of [welcome, ...batch])
			console.log(id);
	} finally {
		await client.end();
	}
}

main().catch((err) => {
	console.error(`producer failed: ${err.message}${err.code ? ` (SQLSTATE ${err.code})` : ''}`);
	process.exitCode = 1;
});
