/*
 * session.js -- the worker's connection: opening it with back-off, the
 * session's setup (extension check, entrypoint registration, lease,
 * LISTEN), losing it, and the notifications it brings.
 *
 * Every function takes the Worker (worker.js) and works on its state:
 * w._client (the connected pg client, null while there is none),
 * w._wantDequeue, w._checks (jobs.js), w._heartbeatMs, w._ratePollMs.
 */
'use strict';

const sql = require('./sql');
const { classify, backoffMs, openClient } = require('./connection');
const { quote } = require('./jobs');

/* tries to reach the server for pending outcomes after the last handler
 * returned during a shutdown, before giving up on them */
const SHUTDOWN_CONNECT_ATTEMPTS = 3;

/*
 * Open the connection and get ready: check the extension, register the
 * entrypoints, learn the lease, LISTEN.  Retries lost connections with
 * back-off; a fatal error is thrown at the first start and stops the
 * worker later.  False when giving up (stopping).
 */
async function connect(w, first) {
	for (let attempt = 0; ; attempt++) {
		let client = null;
		try {
			/* the name pgqueuer.workers() looks for (as libpgqueuer's) */
			client = await openClient(w.options.connection, `pgqueuer worker ${w.queueManagerId}`);
			await setup(w, client);
			w._client = client;
			w._log.info(attempt > 0 || !first ? `connected after ${attempt + 1} attempt(s)` : 'connected');
			w.emit('connected');
			return true;
		} catch (err) {
			if (client)
				client.end().catch(() => {});
			if (classify(err) === 'fatal' || err.pgqFatal) {
				if (first)
					throw err;
				w._fatal = w._fatal || err;
				w._log.error(`could not set the connection up: ${err.message}`);
				return false;
			}
			if (w._stopRequested && w._running.size === 0 &&
				(first || attempt + 1 >= SHUTDOWN_CONNECT_ATTEMPTS))
				return false;
			const retryAt = Date.now() + backoffMs(attempt, w.options.reconnectDelay,
				w.options.reconnectMaxDelay);
			w._log.warn(`could not connect (attempt ${attempt + 1}): ${err.message}; ` +
				`next attempt in ${((retryAt - Date.now()) / 1000).toFixed(1)} s`);
			while (Date.now() < retryAt && !(w._stopRequested && w._running.size === 0)) {
				w._wakeFlag = false;
				await w._wait(retryAt);
			}
		}
	}
}

/* the session's setup on a fresh client */
async function setup(w, client) {
	const probe = (await client.query(sql.SETUP_PROBE)).rows[0];
	if (probe.version === null) {
		const err = new Error('the pgqueuer extension is not installed in this database ' +
			'(CREATE EXTENSION pgqueuer, or pgq install)');
		err.pgqFatal = true;
		throw err;
	}
	let lease = Number(probe.lease_seconds) > 0 ? Number(probe.lease_seconds) : 30;
	let ratePoll = 0;
	for (const e of w._entries.values()) {
		const o = e.opts;
		if (!o.register)
			continue;
		await client.query(sql.REGISTER_ENTRYPOINT, [e.name, o.concurrencyLimit, o.leaseTimeout,
			o.maxAttempts, o.requestsPerSecond, o.retryBackoffBase, o.retryBackoffMax, o.onFailure]);
		if (o.leaseTimeout !== null)
			lease = Math.min(lease, o.leaseTimeout);
		if (o.requestsPerSecond > 0)
			ratePoll = Math.min(ratePoll || 1, Math.max(0.1, 1 / o.requestsPerSecond));
	}
	w._heartbeatMs = 1000 * (w.options.heartbeatInterval ?? Math.max(0.05, lease / 2));
	/* capacity of rate-limited entrypoints frees silently: poll for it */
	w._ratePollMs = ratePoll * 1000;
	client.on('notification', (msg) => onNotification(w, msg));
	client.on('error', (err) => lost(w, client, err));
	client.on('end', () => lost(w, client, new Error('connection closed')));
	await client.query(sql.LISTEN);
}

/* the connection broke: forget it, the loop reconnects */
function lost(w, client, err) {
	if (w._client !== client)
		return;
	w._log.warn(`connection to the server lost: ${err.message}`);
	w._client = null;
	client.end().catch(() => {});
	w.emit('disconnected', err);
	w._wake();
}

/* close the connection (at the end, or after a query saw it broken) */
async function disconnect(w, err) {
	const client = w._client;
	if (!client)
		return;
	if (err) {
		lost(w, client, err);
		return;
	}
	w._client = null;
	await client.end().catch(() => {});
}

/*
 * A notification is only a hint: a table change may mean work (unless
 * it names entrypoints, none of them ours), a cancellation_event puts
 * the named jobs we hold in doubt until the server confirms.
 */
function onNotification(w, msg) {
	if (msg.channel !== sql.CHANNEL)
		return;
	let ev;
	try {
		ev = JSON.parse(msg.payload);
	} catch {
		ev = null;
	}
	if (ev === null || typeof ev !== 'object') {
		w._log.warn(`unreadable notification on ${sql.CHANNEL}: ${quote(msg.payload)}`);
		w._wantDequeue = true;
	} else if (ev.type === 'cancellation_event') {
		for (const id of Array.isArray(ev.ids) ? ev.ids : [])
			if (w._running.has(id) && !w._checks.has(id))
				w._checks.set(id, 'notification');
	} else if (ev.type === 'health_check_event')
		return;
	else if (!Array.isArray(ev.entrypoints) || ev.entrypoints.some((e) => w._entries.has(e))) {
		w._log.debug(`wake-up on ${sql.CHANNEL}: ${quote(ev.type)}` +
			(Array.isArray(ev.entrypoints) ? ` for ${quote(ev.entrypoints.join(', '))}` : ''));
		w._wantDequeue = true;
	}
	w._wake();
}

module.exports = { connect, disconnect };
