/*
 * producer.js -- enqueueing jobs and asking about them, on any pg client
 * or pool, through pgqueuer's SQL functions only.
 *
 * Follows PgQueuer's Queries.enqueue(): entrypoint, payload, priority,
 * execute_after, dedupe_key, headers; the server does the rest (the job
 * row, its log row, one notification per call).
 */
'use strict';

const sql = require('./sql');
const { toId, idList, toPayload, toHeaders, toSeconds, toInteger } = require('./values');

const ON_CONFLICT = new Set(['raise', 'skip']);

/**
 * @typedef {object} EnqueueOptions
 * @property {number} [priority=0] integer; higher runs first.
 * @property {number} [executeAfter=0] seconds from now until the job is due
 *   (fractions allowed; 0 or negative: due now).
 * @property {string|null} [dedupeKey] at most one queued or picked job per key.
 * @property {object|null} [headers] a plain JSON object stored with the job.
 */

/**
 * @typedef {object} JobSpec
 * One job of enqueueBatch(): EnqueueOptions plus these.
 * @property {string} entrypoint the handler's name.
 * @property {Buffer|Uint8Array|string|null} [payload] bytes (a string is
 *   sent as UTF-8).
 */

/** on_conflict, checked */
function conflictMode(onConflict) {
	if (!ON_CONFLICT.has(onConflict))
		throw new TypeError(`onConflict must be 'raise' or 'skip', not ${String(onConflict)}`);
	return onConflict;
}

/** the options of one job, checked and converted */
function jobArgs(options) {
	if (options === null || typeof options !== 'object')
		throw new TypeError('job options must be an object');
	return {
		priority: toInteger(options.priority, 'priority', 0),
		executeAfter: toSeconds(options.executeAfter, 'executeAfter', 0),
		dedupeKey: options.dedupeKey === undefined || options.dedupeKey === null ?
			null : String(options.dedupeKey),
		headers: toHeaders(options.headers),
	};
}

/** an entrypoint name, checked for type (the server refuses empty names) */
function entrypointName(entrypoint) {
	if (typeof entrypoint !== 'string')
		throw new TypeError('entrypoint must be a string');
	return entrypoint;
}

/**
 * Producer side of the queue.  Holds no connection of its own: give it a
 * pg.Client or pg.Pool (anything with pg's query(text, values) method).
 * Calls run in whatever transaction the client is in, so a job can be
 * enqueued atomically with the application's own writes.
 *
 * Roles: enqueue, enqueueBatch, jobStatus and queueSize need
 * pgqueuer_producer (or pgqueuer_worker); cancel needs pgqueuer_admin.
 */
class Producer {
	/**
	 * @param {{query: Function}} db a pg.Client, pg.PoolClient or pg.Pool.
	 * @throws {TypeError} when db has no query method.
	 */
	constructor(db) {
		if (db === null || typeof db !== 'object' || typeof db.query !== 'function')
			throw new TypeError('Producer needs a pg Client or Pool');
		this.db = db;
	}

	/**
	 * Queue one job (pgqueuer.enqueue).
	 *
	 * @param {string} entrypoint the handler's name (not empty).
	 * @param {Buffer|Uint8Array|string|null} [payload] the job's bytes.
	 * @param {EnqueueOptions & {onConflict?: 'raise'|'skip'}} [options]
	 *   onConflict: what an active job with the same dedupeKey does:
	 *   'raise' (default) rejects, 'skip' resolves to null.
	 * @returns {Promise<number|null>} the new job's id; null when skipped.
	 * @throws {TypeError} synchronously-checked arguments of the wrong type
	 *   (the promise rejects).
	 * @throws {Error} pg's DatabaseError with the server's SQLSTATE in
	 *   `code`: 23505 for a duplicate dedupeKey under 'raise', 22023 for an
	 *   empty entrypoint, 22003 for a priority outside int4, 42501 without
	 *   the privilege.
	 */
	async enqueue(entrypoint, payload = null, options = {}) {
		const a = jobArgs(options);
		const onConflict = conflictMode(options.onConflict ?? 'raise');
		const res = await this.db.query(sql.ENQUEUE, [
			entrypointName(entrypoint), toPayload(payload), a.priority, a.executeAfter,
			a.dedupeKey, a.headers, onConflict,
		]);
		const id = res.rows[0].id;
		return id === null ? null : toId(id);
	}

	/**
	 * Queue many jobs in one statement (pgqueuer.enqueue_batch): one round
	 * trip, one notification.  Under 'raise' the batch is all-or-nothing.
	 *
	 * @param {JobSpec[]} jobs the jobs, in order; an empty array queues
	 *   nothing and sends nothing.
	 * @param {{onConflict?: 'raise'|'skip'}} [options] onConflict as in
	 *   enqueue(); under 'skip' the first job with a key wins.
	 * @returns {Promise<Array<number|null>>} one id per job, in input order
	 *   (null where skipped).
	 * @throws {TypeError} for a job of the wrong shape.
	 * @throws {Error} pg's DatabaseError as for enqueue().
	 */
	async enqueueBatch(jobs, { onConflict = 'raise' } = {}) {
		if (!Array.isArray(jobs))
			throw new TypeError('jobs must be an array of job objects');
		const mode = conflictMode(onConflict);
		if (jobs.length === 0)
			return [];
		const cols = { ep: [], payload: [], priority: [], delay: [], key: [], headers: [] };
		for (const job of jobs) {
			const a = jobArgs(job);
			cols.ep.push(entrypointName(job.entrypoint));
			cols.payload.push(toPayload(job.payload));
			cols.priority.push(a.priority);
			cols.delay.push(a.executeAfter);
			cols.key.push(a.dedupeKey);
			cols.headers.push(a.headers);
		}
		const res = await this.db.query(sql.ENQUEUE_BATCH, [
			cols.ep, cols.payload, cols.priority, cols.delay, cols.key, cols.headers, mode,
		]);
		return res.rows.map((r) => (r.id === null ? null : toId(r.id)));
	}

	/**
	 * Cancel jobs (pgqueuer.cancel): queued and held jobs are removed, and
	 * the workers running picked ones are told to abort them.
	 * @param {Iterable<number|string|bigint>} ids job ids.
	 * @returns {Promise<number[]>} the ids canceled (unknown ids left out).
	 * @throws {TypeError} for an id that is not an integer.
	 * @throws {Error} pg's DatabaseError: 42501 without pgqueuer_admin.
	 */
	async cancel(ids) {
		const res = await this.db.query(sql.CANCEL, [idList(ids)]);
		return res.rows.map((r) => toId(r.id));
	}

	/**
	 * The latest logged status of jobs (pgqueuer.job_status).
	 * @param {Iterable<number|string|bigint>} ids job ids.
	 * @returns {Promise<Map<number, string>>} id -> status ('queued',
	 *   'picked', 'successful', 'exception', 'canceled', 'deleted',
	 *   'failed'); ids never logged are absent.
	 * @throws {TypeError} for an id that is not an integer.
	 */
	async jobStatus(ids) {
		const res = await this.db.query(sql.JOB_STATUS, [idList(ids)]);
		return new Map(res.rows.map((r) => [toId(r.job_id), r.status]));
	}

	/**
	 * Jobs in the queue by priority, entrypoint and status
	 * (pgqueuer.queue_size, PgQueuer's QueueStatistics).
	 * @returns {Promise<Array<{count: number, priority: number,
	 *   entrypoint: string, status: string}>>}
	 */
	async queueSize() {
		const res = await this.db.query(sql.QUEUE_SIZE);
		return res.rows.map((r) => ({
			count: Number(r.count), priority: r.priority, entrypoint: r.entrypoint, status: r.status,
		}));
	}
}

module.exports = { Producer };
