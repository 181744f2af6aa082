/*
 * worker.js -- the Worker: PgQueuer's QueueManager loop on one pg
 * connection, with every queue decision left to the server.
 *
 * The connection LISTENs on ch_pgqueuer and calls pgqueuer.* functions.
 * Each turn of the loop:
 *   1. ask the server about jobs a notification or a heartbeat put in
 *      doubt (cancellations are acted on only when the server confirms);
 *   2. heartbeat the held jobs when the interval is up;
 *   3. report finished jobs (complete(), retry());
 *   4. unless stopping, dequeue as many jobs as there are free slots (at
 *      most batchSize) when there may be work: at start, after a
 *      notification naming one of our entrypoints (or none), after the
 *      safety-net timeout, or while the last dequeue came back full;
 *   5. sleep until a notification, a finished handler, stop(), or the next
 *      timer.
 * A lost connection is reopened with exponential back-off; handlers keep
 * running meanwhile and their outcomes wait, reported with the same
 * queue_manager_id afterwards (fenced by the server: a job whose lease
 * expired in between is not overwritten).  stop() (or SIGINT/SIGTERM)
 * ends dequeuing; the loop keeps heartbeating and reporting until the
 * last handler returned.
 */
'use strict';

const crypto = require('crypto');
const { EventEmitter } = require('events');

const { classify } = require('./connection');
const { workerOptions, entrypointOptions } = require('./options');
const jobs = require('./jobs');
const session = require('./session');

/**
 * A worker serving one or more entrypoints.
 *
 * Events (for monitoring and tests): 'started' (job), 'finished' (job,
 * status) when a handler returned or threw, 'outcome' (job, status) when
 * the server recorded it ('lost' when it no longer held the job),
 * 'cancelled' (job), 'cancellationIgnored' (jobId, serverStatus),
 * 'heartbeat' ({jobs, extended}), 'connected' (), 'disconnected' (error).
 */
class Worker extends EventEmitter {
	/**
	 * @param {import('./options').WorkerOptions} [options]
	 * @throws {TypeError|RangeError} for an option of the wrong type or range.
	 */
	constructor(options = {}) {
		super();
		this.options = workerOptions(options);
		/** this worker's id in the queue (queue_manager_id), a uuid */
		this.queueManagerId = crypto.randomUUID();
		/** counters since the worker was made */
		this.stats = { dequeued: 0, successful: 0, exception: 0, retried: 0, held: 0, cancelled: 0, lost: 0 };
		this._log = this.options.logger;
		this._entries = new Map();
		this._running = new Map();
		this._pending = [];
		this._checks = new Map();
		this._client = null;
		this._active = false;
		this._stopRequested = false;
		this._wakeFlag = false;
		this._waiter = null;
	}

	/**
	 * Serve an entrypoint with an async (or plain) handler.
	 *
	 * The handler is called as handler(job, ctx) with the Job (values.js)
	 * and ctx = {signal, queueManagerId, worker}: `signal` is an AbortSignal
	 * aborted (reason: JobCancelled) when the job is cancelled with
	 * pgqueuer.cancel().  Returning means "successful"; throwing
	 * RetryRequested, HoldRequested or anything else chooses the other
	 * outcomes (errors.js).
	 *
	 * @param {string} name the entrypoint (not empty).
	 * @param {import('./options').EntrypointOptions|Function} options
	 *   registry settings, or the handler when there are none.
	 * @param {Function} [handler] (job, ctx) => Promise|any.
	 * @returns {Worker} this, for chaining.
	 * @throws {TypeError|RangeError} for a bad name, option or handler; Error
	 *   for an entrypoint already added or a worker already running.
	 */
	entrypoint(name, options, handler) {
		if (typeof options === 'function' && handler === undefined) {
			handler = options;
			options = {};
		}
		if (typeof name !== 'string' || name === '')
			throw new TypeError('entrypoint name must be a non-empty string');
		if (typeof handler !== 'function')
			throw new TypeError('handler must be a function');
		if (this._entries.has(name))
			throw new Error(`entrypoint ${JSON.stringify(name)} is already served by this worker`);
		if (this._active)
			throw new Error('entrypoints cannot be added while the worker runs');
		this._entries.set(name, { name, handler, opts: entrypointOptions(options) });
		return this;
	}

	/**
	 * Ask the worker to stop: no new jobs; running handlers finish and their
	 * outcomes are reported, then run() resolves.  Safe to call at any
	 * time, more than once, and before run().
	 */
	stop() {
		this._stopRequested = true;
		this._wake();
	}

	/**
	 * Run until stop() (or SIGINT/SIGTERM) and the last handler returned.
	 *
	 * @returns {Promise<object>} the counters: dequeued, successful,
	 *   exception, retried, held, cancelled, lost (outcomes the server did
	 *   not record because the job was no longer this worker's).
	 * @throws {Error} (rejects) when no entrypoint was added, when the
	 *   extension is missing, or on an error retrying cannot fix (pg's
	 *   DatabaseError with its SQLSTATE in `code`, e.g. 42501 without the
	 *   pgqueuer_worker role); connection failures are retried instead.
	 */
	async run() {
		if (this._active)
			throw new Error('this worker is already running');
		if (this._entries.size === 0)
			throw new Error('no entrypoints: add one with worker.entrypoint()');
		this._active = true;
		this._fatal = null;
		this._names = [...this._entries.keys()];
		const removeSignals = this.options.handleSignals ? this._installSignals() : () => {};
		try {
			if (!(await session.connect(this, true)))
				return { ...this.stats };
			this._log.info(`worker ${this.queueManagerId} started: entrypoints ${JSON.stringify(this._names)}, ` +
				`batch size ${this.options.batchSize}, ` +
				(Number.isFinite(this.options.maxConcurrentTasks) ?
					`at most ${this.options.maxConcurrentTasks}` : 'no cap on') + ' jobs at once');
			await this._loop();
		} finally {
			removeSignals();
			await session.disconnect(this, null);
			this._active = false;
		}
		this._log.info(`worker ${this.queueManagerId} finished: ${JSON.stringify(this.stats)}`);
		if (this._fatal)
			throw this._fatal;
		return { ...this.stats };
	}

	/* wake the loop (a notification, a finished handler, stop()) */
	_wake() {
		this._wakeFlag = true;
		if (this._waiter) {
			const w = this._waiter;
			this._waiter = null;
			w();
		}
	}

	/* sleep until woken or until deadline (ms since the epoch) */
	_wait(deadline) {
		if (this._wakeFlag)
			return Promise.resolve();
		return new Promise((resolve) => {
			const ms = Math.min(Math.max(deadline - Date.now(), 0), 2147483647);
			const timer = Number.isFinite(deadline) ? setTimeout(() => this._wake(), ms) : null;
			this._waiter = () => {
				if (timer)
					clearTimeout(timer);
				resolve();
			};
		});
	}

	/* SIGINT/SIGTERM: the first stops gracefully, a second exits */
	_installSignals() {
		const onSignal = (signal) => {
			if (!this._stopRequested) {
				this._log.info(`${signal} received: stopping (send it again to exit at once)`);
				this.stop();
				return;
			}
			this._log.warn(`${signal} received again: exiting without waiting for ${this._running.size} job(s); ` +
				'they return to the queue when their leases expire');
			process.exit(signal === 'SIGINT' ? 130 : 143);
		};
		process.on('SIGINT', onSignal);
		process.on('SIGTERM', onSignal);
		return () => {
			process.removeListener('SIGINT', onSignal);
			process.removeListener('SIGTERM', onSignal);
		};
	}

	/* handlers running (finished ones waiting for their report excluded) */
	_busy() {
		let n = 0;
		for (const s of this._running.values())
			if (!s.finished)
				n++;
		return n;
	}

	/* the fewest free slots worth a dequeue: 1 when idle, else half a batch */
	_minDequeue() {
		if (this._busy() === 0)
			return 1;
		return Math.max(1, Math.floor(Math.min(this.options.batchSize, this.options.maxConcurrentTasks) / 2));
	}

	/*
	 * One turn's work (steps 1-4 of the file header).  Returns true when
	 * the loop should turn again at once (a full batch came back).
	 */
	async _turn(stopping) {
		const o = this.options;
		const now = Date.now();

		if (this._checks.size > 0)
			await jobs.checkJobs(this);
		if (this._running.size > 0 && now >= this._nextHeartbeat) {
			this._nextHeartbeat = now + this._heartbeatMs;
			await jobs.heartbeat(this);
		}
		if (this._pending.length > 0)
			await jobs.report(this);
		if (stopping || this._fatal || Date.now() < this._backoffUntil)
			return false;
		if (now >= this._nextPoll)
			this._wantDequeue = true;
		const free = o.maxConcurrentTasks - this._running.size;
		if (!this._wantDequeue || free < this._minDequeue())
			return false;
		const ask = Math.min(free, o.batchSize);
		const idle = this._running.size === 0;
		this._wantDequeue = false;
		const got = await jobs.dequeue(this, ask);
		/* jobs just picked need no heartbeat before the interval is up */
		if (idle && got > 0)
			this._nextHeartbeat = Date.now() + this._heartbeatMs;
		this._nextPoll = Date.now() + (got < ask && this._ratePollMs > 0 ?
			this._ratePollMs : o.dequeueTimeout * 1000);
		/* a notification during the call may announce jobs it did not see */
		this._wantDequeue = this._wantDequeue || got === ask;
		return got === ask;
	}

	/* when the loop must look again, unless woken earlier */
	_deadline(stopping) {
		let deadline = Infinity;

		if (!stopping && !this._fatal)
			deadline = this._wantDequeue &&
				this.options.maxConcurrentTasks - this._running.size >= this._minDequeue() ?
				this._backoffUntil : this._nextPoll;
		if (this._running.size > 0)
			deadline = Math.min(deadline, this._nextHeartbeat);
		if (this._pending.length > 0 || this._checks.size > 0)
			deadline = Math.min(deadline, this._backoffUntil);
		return deadline;
	}

	/*
	 * Without a connection: reconnect while there is a reason to (jobs held,
	 * or not stopping).  False when there is none or it failed for good;
	 * then the outcomes waiting are dropped (their leases expire).
	 */
	async _reconnect(stopping) {
		if (!this._fatal && (this._running.size > 0 || !stopping) && (await session.connect(this, false))) {
			/* notifications may have been missed meanwhile */
			for (const id of this._running.keys())
				this._checks.set(id, 'reconnect');
			this._wantDequeue = true;
			this._nextHeartbeat = 0;
			return true;
		}
		if (this._pending.length > 0)
			this._log.error(`no connection: giving up on ${this._pending.length} outcome(s); ` +
				'the jobs run again when their leases expire');
		jobs.release(this, this._pending.slice());
		return false;
	}

	/* the event loop (see the file header) */
	async _loop() {
		let stopping = false;

		this._wantDequeue = true;
		this._backoffUntil = 0;
		this._reportFailures = 0;
		this._nextPoll = 0;
		this._nextHeartbeat = 0;
		for (;;) {
			this._wakeFlag = false;
			if (!stopping && (this._stopRequested || this._fatal)) {
				stopping = true;
				this._log.info(this._busy() > 0 ?
					`stopping: waiting for ${this._busy()} job(s) to finish` : 'stopping');
			}
			if (!this._client && !(await this._reconnect(stopping))) {
				if (this._running.size === 0)
					break;
				stopping = true;
				await this._wait(Infinity);	/* a handler finishes */
				continue;
			}
			try {
				if (Date.now() >= this._backoffUntil && (await this._turn(stopping)))
					continue;
			} catch (err) {
				const kind = classify(err);
				if (kind === 'lost') {
					await session.disconnect(this, err);
					continue;
				}
				if (kind !== 'transient') {
					/* stop: the loop's top sees _fatal */
					this._log.error(`stopping after an error: ${err.message}`);
					this._fatal = this._fatal || err;
					continue;
				}
				this._log.warn(`transient error, retrying: ${err.message}`);
				this._backoffUntil = Date.now() + 500;
			}
			if (stopping && this._running.size === 0)
				break;
			await this._wait(this._deadline(stopping));
		}
	}
}

module.exports = { Worker };
