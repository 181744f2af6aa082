/*
 * connection.js -- the worker's connection: opening it, telling a lost
 * connection from a transient and from a fatal error, and the back-off
 * between reconnection attempts.
 */
'use strict';

const pg = require('pg');

/*
 * SQLSTATE classes and codes that mean the session is gone: connection
 * exceptions (08), and the server shutting down or terminating the
 * backend (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now).
 */
const LOST_CODES = new Set(['57P01', '57P02', '57P03']);

/*
 * Worth retrying on the same session: transaction rollback (40: deadlock,
 * serialization failure), insufficient resources (53), lock not available
 * (55P03), query canceled (57014, statement_timeout).
 */
const TRANSIENT_CODES = new Set(['55P03', '57014']);

/**
 * What an error from pg means for the worker.
 * @param {Error & {code?: string, severity?: string}} err
 * @returns {'lost'|'transient'|'fatal'} lost: the connection is unusable
 *   (anything that is not an error reported by the server: network errors
 *   carry no SQLSTATE, or a Node error code such as ECONNREFUSED or EPIPE);
 *   transient: try again after a short pause; fatal: retrying cannot help
 *   (missing privilege, bad argument, ..., or a TypeError, RangeError,
 *   ReferenceError or SyntaxError: a bug, not the connection).
 */
function classify(err) {
	/* the server's errors (pg's DatabaseError) carry a severity and a SQLSTATE */
	const fromServer = err && typeof err.severity === 'string' && typeof err.code === 'string';
	const code = fromServer ? err.code : '';

	/* a bug in the client or a handler's value, not the connection */
	if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError ||
		err instanceof SyntaxError)
		return 'fatal';
	if (!fromServer || code.startsWith('08') || LOST_CODES.has(code))
		return 'lost';
	if (code.startsWith('40') || code.startsWith('53') || TRANSIENT_CODES.has(code))
		return 'transient';
	return 'fatal';
}

/**
 * The pause before reconnection attempt number `attempt`: initial * 2^attempt
 * capped at max, with up to 25% random jitter so that many workers cut off
 * together do not come back in lockstep.
 * @param {number} attempt 0 for the first retry.
 * @param {number} initial seconds.
 * @param {number} max seconds.
 * @returns {number} milliseconds.
 */
function backoffMs(attempt, initial, max) {
	const base = Math.min(max, initial * Math.pow(2, Math.min(attempt, 30)));
	return Math.round(base * 1000 * (1 - Math.random() * 0.25));
}

/**
 * Open a pg client.
 * @param {string|object|undefined} connection a connection string, a
 *   pg.ClientConfig, or undefined for libpq's PG* environment variables.
 * @param {string} applicationName shown in pg_stat_activity, unless the
 *   connection names another.
 * @returns {Promise<pg.Client>} a connected client.
 * @throws {Error} pg's connection error.
 */
async function openClient(connection, applicationName) {
	let config;

	if (typeof connection === 'string')
		config = { connectionString: connection };
	else
		config = { ...(connection || {}) };
	if (config.application_name === undefined)
		config.application_name = applicationName;
	if (config.keepAlive === undefined)
		config.keepAlive = true;
	const client = new pg.Client(config);
	/* until the caller installs its own: a lost connection must not crash */
	client.on('error', () => {});
	try {
		await client.connect();
	} catch (err) {
		client.end().catch(() => {});
		throw err;
	}
	return client;
}

module.exports = { classify, backoffMs, openClient };
