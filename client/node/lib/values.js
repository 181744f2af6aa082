/*
 * values.js -- conversions between JavaScript values and the SQL
 * functions' arguments and rows: job ids, payloads, headers, durations,
 * and the Job object a handler receives.
 */
'use strict';

/**
 * A job id from what pg returns for a bigint (a string by default, or a
 * number or BigInt when the application changed pg's type parsers).
 * @param {string|number|bigint} value
 * @returns {number} the id.
 * @throws {RangeError} when the id is beyond Number.MAX_SAFE_INTEGER (ids
 *   come from a sequence starting at 1; 2^53 of them are not expected).
 */
function toId(value) {
	const id = Number(value);
	if (!Number.isSafeInteger(id))
		throw new RangeError(`job id ${String(value)} is not a safe JavaScript integer`);
	return id;
}

/**
 * Job ids given by the caller, checked.
 * @param {Iterable<number|string|bigint>} ids
 * @returns {string[]} the ids as decimal text for a bigint[] parameter.
 * @throws {TypeError} when ids is not iterable or an id is not an integer.
 */
function idList(ids) {
	if (ids === null || ids === undefined || typeof ids[Symbol.iterator] !== 'function')
		throw new TypeError('job ids must be an array (or another iterable) of integers');
	return Array.from(ids, (v) => {
		if (typeof v === 'bigint')
			return v.toString();
		if (typeof v === 'number' && Number.isSafeInteger(v))
			return String(v);
		if (typeof v === 'string' && /^-?[0-9]+$/.test(v))
			return v;
		throw new TypeError(`job id ${String(v)} is not an integer`);
	});
}

/**
 * A payload for a bytea parameter.
 * @param {Buffer|Uint8Array|string|null|undefined} payload bytes, or a
 *   string sent as its UTF-8 bytes, or nothing (SQL NULL).
 * @returns {Buffer|null}
 * @throws {TypeError} for any other type (an object must be serialised by
 *   the caller, e.g. Buffer.from(JSON.stringify(obj))).
 */
function toPayload(payload) {
	if (payload === null || payload === undefined)
		return null;
	if (Buffer.isBuffer(payload))
		return payload;
	if (payload instanceof Uint8Array)
		return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
	if (typeof payload === 'string')
		return Buffer.from(payload, 'utf8');
	throw new TypeError('payload must be a Buffer, a Uint8Array, a string or null');
}

/**
 * Headers for a jsonb parameter.
 * @param {object|null|undefined} headers a plain JSON object, or nothing.
 * @returns {string|null} JSON text.
 * @throws {TypeError} when headers is not a plain object (arrays and
 *   scalars are refused, as PgQueuer's headers are a mapping).
 */
function toHeaders(headers) {
	if (headers === null || headers === undefined)
		return null;
	if (typeof headers !== 'object' || Array.isArray(headers))
		throw new TypeError('headers must be a plain object or null');
	return JSON.stringify(headers);
}

/**
 * A duration in seconds for a float8 parameter.
 * @param {number|null|undefined} seconds
 * @param {string} what the argument's name, for the error.
 * @param {number|null} fallback returned for null or undefined.
 * @returns {number|null}
 * @throws {TypeError} when seconds is not a finite number.
 */
function toSeconds(seconds, what, fallback) {
	if (seconds === null || seconds === undefined)
		return fallback;
	if (typeof seconds !== 'number' || !Number.isFinite(seconds))
		throw new TypeError(`${what} must be a finite number of seconds`);
	return seconds;
}

/**
 * An integer argument.
 * @param {number|null|undefined} value
 * @param {string} what the argument's name, for the error.
 * @param {number|null} fallback returned for null or undefined.
 * @returns {number|null}
 * @throws {TypeError} when value is not an integer.
 */
function toInteger(value, what, fallback) {
	if (value === null || value === undefined)
		return fallback;
	if (!Number.isInteger(value))
		throw new TypeError(`${what} must be an integer`);
	return value;
}

/**
 * @typedef {object} Job
 * A claimed job, PgQueuer's Job with camelCase names.
 * @property {number} id
 * @property {number} priority higher runs first.
 * @property {string} entrypoint
 * @property {Buffer|null} payload the bytes as enqueued.
 * @property {object|null} headers
 * @property {number} attempts retries and lease expiries so far (0 at first).
 * @property {string|null} dedupeKey
 * @property {string} queueManagerId the worker holding it (uuid).
 * @property {string} status 'picked'.
 * @property {Date} created
 * @property {Date} updated
 * @property {Date} heartbeat
 * @property {Date} executeAfter
 */

/**
 * The Job of a dequeue() row.
 * @param {object} row a row of sql.DEQUEUE.
 * @returns {Job}
 */
function jobFromRow(row) {
	let headers = row.headers;

	/* pg parses jsonb; text only when the application turned that off */
	if (typeof headers === 'string')
		headers = JSON.parse(headers);
	return Object.freeze({
		id: toId(row.id),
		priority: row.priority,
		entrypoint: row.entrypoint,
		payload: row.payload,
		headers: headers ?? null,
		attempts: row.attempts,
		dedupeKey: row.dedupe_key,
		queueManagerId: row.queue_manager_id,
		status: row.status,
		created: row.created,
		updated: row.updated,
		heartbeat: row.heartbeat,
		executeAfter: row.execute_after,
	});
}

module.exports = { toId, idList, toPayload, toHeaders, toSeconds, toInteger, jobFromRow };
