/*
 * options.js -- the worker's and the entrypoints' options, checked and
 * given their defaults (the same defaults as `pgq run` and PgQueuer).
 */
'use strict';

const { toSeconds, toInteger } = require('./values');

/**
 * @typedef {object} WorkerOptions
 * @property {string|object} [connection] a connection string or a
 *   pg.ClientConfig; default: libpq's PG* environment variables.
 * @property {number} [batchSize=10] most jobs claimed per dequeue() call
 *   (integer, 1 ... 100000).
 * @property {number} [maxConcurrentTasks] most handlers running at once
 *   (integer >= 1); default: no cap (Infinity, PgQueuer's None): a batch
 *   is claimed whenever there may be work.
 * @property {number} [dequeueTimeout=30] seconds: the safety-net poll
 *   when no notification arrives (> 0).
 * @property {number} [heartbeatInterval] seconds between heartbeats of
 *   running jobs; default: half the shortest lease of the entrypoints
 *   (registered leaseTimeout, else the server's pgqueuer.lease_timeout).
 * @property {number} [reconnectDelay=0.5] seconds before the first
 *   reconnection attempt; doubles per failed attempt ...
 * @property {number} [reconnectMaxDelay=30] ... up to this many seconds.
 * @property {boolean} [handleSignals=true] stop gracefully on SIGINT and
 *   SIGTERM while run() is active (a second signal exits at once).
 * @property {{debug: Function, info: Function, warn: Function,
 *   error: Function}} [logger] where log lines go; default: standard
 *   error, filtered by logLevel.
 * @property {'debug'|'info'|'warn'|'error'|'silent'} [logLevel='info']
 *   threshold of the default logger.
 */

/**
 * @typedef {object} EntrypointOptions
 * Settings written to the server's registry (pgqueuer.register_entrypoint)
 * when the worker starts, enforced by the server for every worker (C,
 * Python, Node) on the entrypoint.
 * @property {number} [concurrencyLimit=0] most jobs picked at once,
 *   fleet-wide (0: no limit).
 * @property {number} [requestsPerSecond=0] most jobs handed out per second,
 *   fleet-wide (0: no limit).
 * @property {number} [leaseTimeout] seconds without a heartbeat after which
 *   the server returns a picked job to the queue; default: the server's
 *   pgqueuer.lease_timeout.
 * @property {number} [maxAttempts] retries of exceptions and lease
 *   expiries; default: the server's pgqueuer.max_attempts.
 * @property {number} [retryBackoffBase=1] seconds; an exception is retried
 *   after min(base * 2^attempts, max).
 * @property {number} [retryBackoffMax=300] seconds.
 * @property {'delete'|'hold'} [onFailure='delete'] what happens when the
 *   attempts are exhausted.
 * @property {boolean} [register] write the registry row; default: true
 *   when any setting above is given.  Not registering leaves another
 *   worker's settings alone.
 */

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const REGISTRY_KEYS = ['concurrencyLimit', 'requestsPerSecond', 'leaseTimeout', 'maxAttempts',
	'retryBackoffBase', 'retryBackoffMax', 'onFailure'];

/** a positive number of seconds, or the fallback */
function positiveSeconds(value, what, fallback) {
	const s = toSeconds(value, what, fallback);
	if (s !== null && !(s > 0))
		throw new RangeError(`${what} must be > 0 seconds`);
	return s;
}

/** an integer within [min, max], or the fallback */
function boundedInteger(value, what, fallback, min, max) {
	const n = toInteger(value, what, fallback);
	if (n !== null && (n < min || n > max))
		throw new RangeError(`${what} must be between ${min} and ${max}`);
	return n;
}

/**
 * The default logger: one line per message on standard error, with
 * the level and the worker's prefix.
 * @param {string} level threshold.
 * @returns {{debug: Function, info: Function, warn: Function, error: Function}}
 */
function stderrLogger(level) {
	const min = LEVELS[level];
	const line = (lvl) => (msg) => {
		if (LEVELS[lvl] >= min)
			process.stderr.write(`pgqueuer-node ${lvl.toUpperCase()}: ${msg}\n`);
	};
	return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/**
 * The worker's options, checked, with defaults.
 * @param {WorkerOptions} options
 * @returns {object} the same keys, all set.
 * @throws {TypeError|RangeError} for a value of the wrong type or range.
 */
function workerOptions(options) {
	if (options === null || typeof options !== 'object')
		throw new TypeError('worker options must be an object');
	const logLevel = options.logLevel ?? 'info';
	if (!(logLevel in LEVELS))
		throw new RangeError(`logLevel must be one of ${Object.keys(LEVELS).join(', ')}`);
	const batchSize = boundedInteger(options.batchSize, 'batchSize', 10, 1, 100000);
	const o = {
		connection: options.connection,
		batchSize,
		// no cap by default, as PgQueuer's max_concurrent_tasks = None
		maxConcurrentTasks: options.maxConcurrentTasks == null ? Infinity :
			boundedInteger(options.maxConcurrentTasks, 'maxConcurrentTasks', null, 1, 1000000),
		dequeueTimeout: positiveSeconds(options.dequeueTimeout, 'dequeueTimeout', 30),
		heartbeatInterval: positiveSeconds(options.heartbeatInterval, 'heartbeatInterval', null),
		reconnectDelay: positiveSeconds(options.reconnectDelay, 'reconnectDelay', 0.5),
		reconnectMaxDelay: positiveSeconds(options.reconnectMaxDelay, 'reconnectMaxDelay', 30),
		handleSignals: options.handleSignals ?? true,
		logger: options.logger ?? stderrLogger(logLevel),
	};
	if (typeof o.handleSignals !== 'boolean')
		throw new TypeError('handleSignals must be a boolean');
	for (const fn of ['debug', 'info', 'warn', 'error'])
		if (typeof o.logger[fn] !== 'function')
			throw new TypeError(`logger.${fn} must be a function`);
	if (o.reconnectMaxDelay < o.reconnectDelay)
		o.reconnectMaxDelay = o.reconnectDelay;
	return o;
}

/**
 * An entrypoint's options, checked, with the registration decided.
 * @param {EntrypointOptions} options
 * @returns {object} register (boolean) and the registry values (null where
 *   the server's default applies).
 * @throws {TypeError|RangeError} for a value of the wrong type or range.
 */
function entrypointOptions(options) {
	if (options === null || typeof options !== 'object')
		throw new TypeError('entrypoint options must be an object');
	const onFailure = options.onFailure ?? 'delete';
	if (onFailure !== 'delete' && onFailure !== 'hold')
		throw new RangeError("onFailure must be 'delete' or 'hold'");
	const rps = toSeconds(options.requestsPerSecond, 'requestsPerSecond', 0);
	if (rps < 0)
		throw new RangeError('requestsPerSecond must be >= 0');
	const register = options.register ?? REGISTRY_KEYS.some((k) => options[k] !== undefined);
	if (typeof register !== 'boolean')
		throw new TypeError('register must be a boolean');
	return {
		register,
		concurrencyLimit: boundedInteger(options.concurrencyLimit, 'concurrencyLimit', 0, 0, 2147483647),
		requestsPerSecond: rps,
		leaseTimeout: positiveSeconds(options.leaseTimeout, 'leaseTimeout', null),
		maxAttempts: boundedInteger(options.maxAttempts, 'maxAttempts', null, 0, 2147483647),
		retryBackoffBase: positiveSeconds(options.retryBackoffBase, 'retryBackoffBase', 1),
		retryBackoffMax: positiveSeconds(options.retryBackoffMax, 'retryBackoffMax', 300),
		onFailure,
	};
}

module.exports = { workerOptions, entrypointOptions };
