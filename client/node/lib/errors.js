/*
 * errors.js -- what a handler throws to choose its job's outcome, the
 * reason of a cancelled job's AbortSignal, and the traceback record the
 * server logs for a failed job.
 *
 * A handler that returns reports "successful".  One that throws:
 *   RetryRequested  -> pgqueuer.retry(): queued again after its delay,
 *                      attempts + 1 (PgQueuer's RetryRequested);
 *   HoldRequested   -> complete(..., 'failed'): kept as a held job for
 *                      pgqueuer.requeue() or an operator;
 *   anything else   -> complete(..., 'exception') with the traceback;
 *                      the server retries it with backoff when the
 *                      entrypoint is registered with attempts left.
 */
'use strict';

/**
 * Thrown by a handler to put its job back into the queue, due after a
 * delay, with attempts + 1 (PgQueuer's `RetryRequested`).
 */
class RetryRequested extends Error {
	/**
	 * @param {object} [options]
	 * @param {number} [options.delay=0] seconds before the job is due again
	 *   (finite, >= 0; fractions allowed, microsecond resolution).
	 * @param {string} [options.reason] why, recorded in the traceback's
	 *   exception_message and additional_context.reason.
	 * @throws {RangeError} when delay is negative or not a finite number.
	 */
	constructor({ delay = 0, reason } = {}) {
		if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0)
			throw new RangeError(`retry delay must be a finite number of seconds >= 0, not ${String(delay)}`);
		super(reason === undefined ? 'Retry requested' : String(reason));
		this.name = 'RetryRequested';
		/** seconds before the job is due again */
		this.delay = delay;
		/** the reason given, or undefined */
		this.reason = reason === undefined ? undefined : String(reason);
	}
}

/**
 * Thrown by a handler to keep its job as a held (`failed`) job instead of
 * deleting it: it stays in the queue table until `pgqueuer.requeue()`.
 */
class HoldRequested extends Error {
	/**
	 * @param {string} [message] why, recorded in the traceback.
	 */
	constructor(message = 'the handler asked to hold the job') {
		super(message);
		this.name = 'HoldRequested';
	}
}

/**
 * The reason of a handler's AbortSignal when its job was cancelled by
 * `pgqueuer.cancel()` (confirmed by the server, never on a notification
 * alone).  The job's outcome is not reported: cancel() already logged it.
 */
class JobCancelled extends Error {
	/**
	 * @param {number} jobId the cancelled job.
	 */
	constructor(jobId) {
		super(`job ${jobId} was cancelled`);
		this.name = 'JobCancelled';
		/** the cancelled job's id */
		this.jobId = jobId;
	}
}

/**
 * A duration as Python's str(timedelta), as PgQueuer writes retry_delay:
 * "0:00:30", "0:00:01.500000", "2 days, 1:00:00".
 * @param {number} seconds a finite duration >= 0.
 * @returns {string}
 */
function timedelta(seconds) {
	const us = Math.round(seconds * 1e6);
	const dayUs = 86400 * 1e6;
	const days = Math.floor(us / dayUs);
	const rest = us - days * dayUs;
	const secs = Math.floor(rest / 1e6);
	const frac = rest - secs * 1e6;
	const two = (n) => String(n).padStart(2, '0');
	let out = days > 0 ? `${days} day${days === 1 ? '' : 's'}, ` : '';
	out += `${Math.floor(secs / 3600)}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}`;
	if (frac)
		out += `.${String(frac).padStart(6, '0')}`;
	return out;
}

/**
 * The name of what was thrown: an Error's `name` (or its constructor's),
 * else the JavaScript type.
 * @param {*} thrown
 * @returns {string}
 */
function thrownType(thrown) {
	if (thrown instanceof Error)
		return thrown.name || (thrown.constructor && thrown.constructor.name) || 'Error';
	if (thrown === null)
		return 'null';
	return typeof thrown === 'object' && thrown.constructor ? thrown.constructor.name : typeof thrown;
}

/**
 * The message of what was thrown.
 * @param {*} thrown
 * @returns {string}
 */
function thrownMessage(thrown) {
	if (thrown instanceof Error)
		return String(thrown.message);
	try {
		return typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown);
	} catch {
		return String(thrown);
	}
}

/**
 * PgQueuer's TracebackRecord for a job that failed, was held or asked for
 * a retry: the JSON object the server stores in pgqueuer_log.traceback.
 * Same keys and shape as the C client (client/lib/worker_outcomes.c).
 *
 * @param {object} job the job (its id, entrypoint, attempts).
 * @param {string} queueManagerId this worker's id (uuid text).
 * @param {*} thrown what the handler threw.
 * @returns {{job_id: number, timestamp: string, exception_type: string,
 *   exception_message: string, traceback: string,
 *   additional_context: object}}
 */
function tracebackRecord(job, queueManagerId, thrown) {
	const context = { entrypoint: job.entrypoint, queue_manager_id: queueManagerId };

	if (thrown instanceof RetryRequested) {
		context.attempt = job.attempts;
		context.retry_delay = timedelta(thrown.delay);
		context.reason = thrown.reason === undefined ? null : thrown.reason;
	}
	return {
		job_id: job.id,
		timestamp: new Date().toISOString(),
		exception_type: thrownType(thrown),
		exception_message: thrownMessage(thrown),
		traceback: thrown instanceof Error && typeof thrown.stack === 'string' ? thrown.stack : '',
		additional_context: context,
	};
}

module.exports = { RetryRequested, HoldRequested, JobCancelled, tracebackRecord, timedelta };
