/*
 * graphile_drain.js -- the graphile-worker side of the `graphile` section
 * of `make bench` (test/bench/run_bench.sh), through graphile-worker's
 * public API only.  graphile-worker is not a dependency of pgqueuer:
 * run_bench.sh installs it into a cache directory outside the repository
 * and puts its node_modules on NODE_PATH.
 *
 *   node graphile_drain.js migrate
 *       install graphile-worker's schema (runMigrations)
 *   node graphile_drain.js once CONCURRENCY
 *       one worker process: run jobs of the no-op task "noop" with
 *       CONCURRENCY jobs at once and a pool of CONCURRENCY + 1 connections
 *       until none is left (runOnce), then exit
 *
 * The connection comes from $GRAPHILE_BENCH_URL.  The worker settings follow
 * graphile-worker's own perfTest (its repository's perfTest folder): a local
 * queue of 500 jobs refetched after 10 ms, completions and failures sent
 * without delay; NO_LOG_SUCCESS=1 keeps its per-job log line quiet.
 */
'use strict';

const { runMigrations, runOnce } = require('graphile-worker');

const connectionString = process.env.GRAPHILE_BENCH_URL;

/* a logger that keeps warnings and errors only */
function quietLogger() {
	const { Logger } = require('graphile-worker');
	return new Logger(() => (level, message) => {
		if (level === 'error' || level === 'warning')
			console.error(`graphile-worker ${level}: ${message}`);
	});
}

async function main() {
	const [mode, arg] = process.argv.slice(2);

	if (!connectionString)
		throw new Error('GRAPHILE_BENCH_URL is not set');
	if (mode === 'migrate') {
		await runMigrations({ connectionString, logger: quietLogger() });
		return;
	}
	if (mode !== 'once')
		throw new Error('usage: graphile_drain.js migrate | once CONCURRENCY');
	const concurrency = parseInt(arg, 10);
	if (!(concurrency >= 1))
		throw new Error('CONCURRENCY must be a positive integer');
	process.env.NO_LOG_SUCCESS = '1';
	await runOnce({
		connectionString,
		concurrency,
		maxPoolSize: concurrency + 1,
		logger: quietLogger(),
		taskList: {
			noop: async () => {},
		},
		preset: {
			worker: {
				localQueue: { size: 500, refetchDelay: { durationMs: 10 } },
				completeJobBatchDelay: 0,
				failJobBatchDelay: 0,
			},
		},
	});
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
