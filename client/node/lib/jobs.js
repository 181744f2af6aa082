/*
 * jobs.js -- the worker's jobs between dequeue() and their report: running
 * handlers, collecting their outcomes, reporting them, heartbeats, and
 * confirming cancellations with the server.
 *
 * Every function takes the Worker (worker.js) and works on its state:
 *   w._running  Map id -> slot, every job this worker holds: handler still
 *               running, or finished with its outcome waiting for the
 *               next report.  Its size is what counts against
 *               maxConcurrentTasks, so a failed report never makes the
 *               worker claim more than it can run.
 *   w._pending  slots whose handler finished, in order, to report.
 *   w._checks   Map id -> why, jobs whose status to ask the server about
 *               ('notification': a cancellation_event named it;
 *               'heartbeat': a heartbeat did not extend every lease;
 *               'reconnect': notifications may have been missed).
 *
 * Outcomes are reported the way the C client does (worker_outcomes.c): all
 * successful, exception and held jobs in ONE pgqueuer.complete() call with
 * this worker's queue_manager_id (fencing), then one pgqueuer.retry() per
 * retry request.  A cancelled job is not reported: cancel() logged it.
 */
'use strict';

const sql = require('./sql');
const { classify } = require('./connection');
const { RetryRequested, HoldRequested, JobCancelled, tracebackRecord } = require('./errors');
const { jobFromRow, toId } = require('./values');

/* reports that failed transiently this many times in a row are dropped */
const MAX_REPORT_ATTEMPTS = 5;

/** safe text of untrusted origin for a log line: quoted, escaped, cut */
function quote(text, max = 200) {
	const s = String(text);
	return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

/**
 * A job's handler finished (or failed, or its job was cancelled): decide
 * the outcome and wake the loop to report it.
 * @param {object} w the worker.
 * @param {object} slot the job's slot.
 * @param {boolean} ok whether the handler returned (else it threw).
 * @param {*} thrown what it threw.
 */
function finish(w, slot, ok, thrown) {
	const { job } = slot;

	slot.finished = true;
	if (slot.cancelled) {
		w._running.delete(job.id);
		w.emit('finished', job, 'canceled');
		w._wake();
		return;
	}
	if (ok)
		slot.outcome = { status: 'successful', traceback: null };
	else {
		const status = thrown instanceof RetryRequested ? 'retry' :
			thrown instanceof HoldRequested ? 'failed' : 'exception';
		slot.outcome = {
			status,
			traceback: JSON.stringify(tracebackRecord(job, w.queueManagerId, thrown)),
			delay: status === 'retry' ? thrown.delay : 0,
		};
		if (status === 'exception')
			w._log.warn(`job ${job.id} (${job.entrypoint}) failed: ${quote(
				thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : thrown)}`);
	}
	w._pending.push(slot);
	w.emit('finished', job, slot.outcome.status);
	w._wake();
}

/**
 * Run a handler for a claimed job.  A handler that returns reports
 * "successful"; what it throws decides otherwise (errors.js).
 * @param {object} w the worker.
 * @param {object} job the Job.
 */
function start(w, job) {
	const entry = w._entries.get(job.entrypoint);
	const controller = new AbortController();
	const slot = { job, controller, finished: false, cancelled: false, leaseLost: false, outcome: null };

	w._running.set(job.id, slot);
	w.emit('started', job);
	if (!entry) {
		/* dequeue() returns only what was asked for; say so if not */
		finish(w, slot, false, new Error(`no handler for entrypoint ${quote(job.entrypoint)}`));
		return;
	}
	const ctx = { signal: controller.signal, queueManagerId: w.queueManagerId, worker: w };
	Promise.resolve()
		.then(() => entry.handler(job, ctx))
		.then(() => finish(w, slot, true, null), (err) => finish(w, slot, false, err));
}

/**
 * Claim up to `ask` jobs and start their handlers.
 * @param {object} w the worker.
 * @param {number} ask how many (1 ... batchSize).
 * @returns {Promise<number>} how many were claimed.
 * @throws {Error} pg's error (the caller classifies it).
 */
async function dequeue(w, ask) {
	const res = await w._client.query(sql.DEQUEUE, [ask, w._names, w.queueManagerId]);

	for (const row of res.rows) {
		let job;
		try {
			job = jobFromRow(row);
		} catch (err) {
			w._log.error(`could not read dequeued job ${quote(row.id)}: ${err.message}; its lease will expire`);
			continue;
		}
		w.stats.dequeued++;
		start(w, job);
	}
	return res.rows.length;
}

/**
 * Forget reported (or abandoned) slots.
 * @param {object} w the worker.
 * @param {object[]} slots
 */
function release(w, slots) {
	const gone = new Set(slots);
	w._pending = w._pending.filter((s) => !gone.has(s));
	for (const s of slots)
		w._running.delete(s.job.id);
}

/**
 * A report failed: keep the outcomes for the next turn after a transient
 * error (at most MAX_REPORT_ATTEMPTS times), drop them otherwise -- their
 * jobs are still picked, so their leases expire and they run again
 * (at-least-once).  A fatal error also stops the worker.  A lost
 * connection is rethrown (the outcomes wait for the new one).
 */
function reportFailed(w, err, slots, what) {
	const kind = classify(err);

	if (kind === 'lost')
		throw err;
	if (kind === 'transient' && ++w._reportFailures < MAX_REPORT_ATTEMPTS) {
		w._log.warn(`${what} failed, retrying: ${err.message}`);
		w._backoffUntil = Date.now() + 500;
		return;
	}
	w._log.error(`${what} failed: ${err.message}; giving up on ${slots.length} outcome(s), ` +
		'the jobs run again when their leases expire');
	if (kind === 'fatal' && !w._fatal)
		w._fatal = err;
	release(w, slots);
}

/** count a reported outcome and tell the listeners */
function reported(w, slot, recorded) {
	const status = slot.outcome.status;

	if (!recorded) {
		w._log.warn(`the outcome of job ${slot.job.id} was not recorded: this worker no longer ` +
			'holds it (lease expired or cancelled)');
		w.stats.lost++;
	} else
		w.stats[{ successful: 'successful', exception: 'exception', failed: 'held', retry: 'retried' }[status]]++;
	w.emit('outcome', slot.job, recorded ? status : 'lost');
}

/**
 * Report every finished job: one complete() call, then one retry() per
 * retry request.
 * @param {object} w the worker.
 * @throws {Error} when the connection is lost (outcomes kept).
 */
async function report(w) {
	const cancelled = w._pending.filter((s) => s.cancelled);
	release(w, cancelled);
	const slots = w._pending.filter((s) => s.outcome.status !== 'retry');

	if (slots.length > 0) {
		let res;
		try {
			res = await w._client.query(sql.COMPLETE, [
				slots.map((s) => String(s.job.id)), slots.map((s) => s.outcome.status),
				slots.map((s) => s.outcome.traceback), w.queueManagerId,
			]);
		} catch (err) {
			reportFailed(w, err, slots, 'complete');
			return;
		}
		const changed = new Set(res.rows.map((r) => toId(r.id)));
		w._reportFailures = 0;
		release(w, slots);
		for (const s of slots)
			reported(w, s, changed.has(s.job.id));
	}
	for (const s of w._pending.filter((p) => p.outcome.status === 'retry')) {
		let res;
		try {
			res = await w._client.query(sql.RETRY, [
				String(s.job.id), s.outcome.delay, s.outcome.traceback, w.queueManagerId,
			]);
		} catch (err) {
			reportFailed(w, err, [s], 'retry');
			return;
		}
		w._reportFailures = 0;
		release(w, [s]);
		reported(w, s, res.rows[0].retried === true);
	}
}

/**
 * Extend the leases of every job this worker holds.  When fewer leases
 * than asked were extended, some job was cancelled or lost its lease: ask
 * the server about the running ones.
 * @param {object} w the worker.
 * @throws {Error} pg's error.
 */
async function heartbeat(w) {
	const held = [...w._running.values()].filter((s) => !s.cancelled && !s.leaseLost);

	if (held.length === 0)
		return;
	const res = await w._client.query(sql.HEARTBEAT, [held.map((s) => String(s.job.id)), w.queueManagerId]);
	const extended = Number(res.rows[0].extended);
	w.emit('heartbeat', { jobs: held.length, extended });
	if (extended < held.length)
		for (const s of held)
			if (!s.finished && !w._checks.has(s.job.id))
				w._checks.set(s.job.id, 'heartbeat');
}

/**
 * Cancel a running job whose cancellation the server confirmed: abort its
 * handler's signal; its outcome will not be reported.
 */
function cancelSlot(w, slot) {
	slot.cancelled = true;
	w.stats.cancelled++;
	w._log.info(`job ${slot.job.id} (${slot.job.entrypoint}) cancelled`);
	w.emit('cancelled', slot.job);
	if (!slot.finished)
		slot.controller.abort(new JobCancelled(slot.job.id));
}

/**
 * Ask the server for the status of the jobs in w._checks and act on it: a
 * job logged 'canceled' is cancelled here too; a notification about any
 * other job is ignored (anyone may NOTIFY); a job that is no longer picked
 * after a short heartbeat lost its lease.
 * @param {object} w the worker.
 * @throws {Error} pg's error (the checks are kept for the next turn unless
 *   retrying cannot help).
 */
async function checkJobs(w) {
	const checks = new Map([...w._checks].filter(([id]) => w._running.has(id)));

	w._checks.clear();
	if (checks.size === 0)
		return;
	let res;
	try {
		res = await w._client.query(sql.JOB_STATUS, [[...checks.keys()].map(String)]);
	} catch (err) {
		if (classify(err) !== 'fatal')
			for (const [id, why] of checks)
				if (!w._checks.has(id))
					w._checks.set(id, why);
		throw err;
	}
	const status = new Map(res.rows.map((r) => [toId(r.job_id), r.status]));
	for (const [id, why] of checks) {
		const slot = w._running.get(id);
		const st = status.get(id) ?? 'unknown';

		if (!slot || slot.cancelled)
			continue;
		if (st === 'canceled')
			cancelSlot(w, slot);
		else if (why === 'notification') {
			w._log.warn(`ignoring a cancellation_event for job ${id}: the server's status of it is ${st}`);
			w.emit('cancellationIgnored', id, st);
		} else if (st !== 'picked' && !slot.leaseLost) {
			slot.leaseLost = true;
			w._log.warn(`job ${id} is no longer held by this worker (status ${st}): ` +
				'its handler keeps running, its outcome will not be recorded');
		}
	}
}

module.exports = { dequeue, report, heartbeat, checkJobs, release, quote };
