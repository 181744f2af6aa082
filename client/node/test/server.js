/*
 * server.js -- a throwaway PostgreSQL server for the Node.js client's
 * tests, and helpers to wait for effects.
 *
 * The server comes from $PGQ_INSTALL_BINDIR (the private installation made
 * by `make test`), else from the bindir of $PG_CONFIG / pg_config on PATH;
 * the pgqueuer extension must be installed there.  It listens only on a
 * unix socket in a fresh temporary directory, preloads pgqueuer with the
 * project's test configuration (test/pgqueuer.conf) and runs the
 * background worker with a short naptime, so that lease expiry and
 * deferred jobs are announced as in production.  Like initdb, this must
 * not run as root (`make test` runs the suites as an unprivileged user).
 *
 * Roles: node_worker (pgqueuer_worker), node_producer (pgqueuer_producer),
 * node_admin (pgqueuer_admin), node_intruder (no pgqueuer role at all),
 * and the bootstrap superuser postgres for inspecting the tables.  The
 * three pgqueuer roles lose every table privilege: the client must get by
 * with the functions.
 */
'use strict';

const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const pg = require('pg');

const TOP = process.env.PGQ_TOP || path.resolve(__dirname, '..', '..', '..');

/** the server's binaries */
function bindir() {
	if (process.env.PGQ_INSTALL_BINDIR)
		return process.env.PGQ_INSTALL_BINDIR;
	return execFileSync(process.env.PG_CONFIG || 'pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

/** run a server program; throw with its output when it fails */
function run(dir, program, args, logFile) {
	const res = spawnSync(path.join(dir, program), args, { encoding: 'utf8' });
	if (res.status !== 0) {
		const log = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
		throw new Error(`${program} ${args.join(' ')} failed (${res.status ?? res.signal}): ` +
			`${res.error ? res.error.message : ''}${res.stdout}${res.stderr}${log}`);
	}
	return res.stdout;
}

/**
 * Poll until check() returns a truthy value; that value is returned.  For
 * waiting on effects (a row, a status, a log line), never on time.
 * @param {Function} check sync or async; exceptions propagate.
 * @param {string} what described in the timeout error.
 * @param {number} [timeoutMs=90000] generous: the machine may be loaded.
 * @returns {Promise<*>}
 */
async function waitFor(check, what, timeoutMs = 90000) {
	const until = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value)
			return value;
		if (Date.now() > until)
			throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

/**
 * Wait for an event of an EventEmitter whose arguments satisfy a test.
 * @param {import('events').EventEmitter} emitter
 * @param {string} event
 * @param {Function} [match] (...args) => boolean; default: any.
 * @param {number} [timeoutMs=90000]
 * @returns {Promise<Array>} the event's arguments.
 */
function waitForEvent(emitter, event, match = () => true, timeoutMs = 90000) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			emitter.removeListener(event, on);
			reject(new Error(`timed out waiting for event ${event}`));
		}, timeoutMs);
		timer.unref();
		function on(...args) {
			if (!match(...args))
				return;
			clearTimeout(timer);
			emitter.removeListener(event, on);
			resolve(args);
		}
		emitter.on(event, on);
	});
}

/**
 * Start a server with the extension and the test roles.
 * @returns {Promise<object>} { socketDir, port, config(user), client(user),
 *   query(text, values) as superuser, stop() }.
 */
async function startServer() {
	const bin = bindir();
	const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pgq-node-'));
	const data = path.join(base, 'data');
	const sock = path.join(base, 'sock');
	const logFile = path.join(base, 'server.log');
	const port = 5432;
	const clients = [];

	/*
	 * A test process that ends without stop() (a crash, an exit, SIGTERM
	 * from a timeout) takes its server along.
	 */
	const leftover = () => {
		if (fs.existsSync(path.join(data, 'postmaster.pid')))
			spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
		fs.rmSync(base, { recursive: true, force: true, maxRetries: 5 });
	};
	process.on('exit', leftover);
	for (const signal of ['SIGINT', 'SIGTERM'])
		process.once(signal, () => process.exit(128 + os.constants.signals[signal]));

	fs.mkdirSync(sock);
	run(bin, 'initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'], null);
	fs.appendFileSync(path.join(data, 'postgresql.conf'), [
		'',
		fs.readFileSync(path.join(TOP, 'test', 'pgqueuer.conf'), 'utf8'),
		"listen_addresses = ''",
		`unix_socket_directories = '${sock}'`,
		`port = ${port}`,
		'fsync = off',
		'# the background worker rescues expired leases and announces deferred jobs',
		'pgqueuer.enabled = on',
		"pgqueuer.naptime = '100ms'",
		'',
	].join('\n'));
	run(bin, 'pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '120', 'start'], logFile);

	const config = (user) => ({ host: sock, port, user, database: 'postgres' });
	const admin = new pg.Client(config('postgres'));
	await admin.connect();
	await admin.query('CREATE EXTENSION pgqueuer');
	await admin.query(`
		CREATE ROLE node_worker LOGIN IN ROLE pgqueuer_worker;
		CREATE ROLE node_producer LOGIN IN ROLE pgqueuer_producer;
		CREATE ROLE node_admin LOGIN IN ROLE pgqueuer_admin;
		CREATE ROLE node_intruder LOGIN;
		-- the client calls functions only: no role of it may read a table either
		REVOKE ALL ON ALL TABLES IN SCHEMA pgqueuer FROM pgqueuer_worker, pgqueuer_producer, pgqueuer_admin;`);

	return {
		socketDir: sock,
		port,
		logFile,
		config,
		/** a connected client as `user`, closed by stop() */
		async client(user) {
			const c = new pg.Client(config(user));
			c.on('error', () => {});
			await c.connect();
			clients.push(c);
			return c;
		},
		/** a statement as the superuser */
		query(text, values) {
			return admin.query(text, values);
		},
		/** stop the server and remove its directory */
		async stop() {
			for (const c of clients)
				await c.end().catch(() => {});
			await admin.end().catch(() => {});
			process.removeListener('exit', leftover);
			run(bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], logFile);
			fs.rmSync(base, { recursive: true, force: true });
		},
	};
}

module.exports = { startServer, waitFor, waitForEvent, TOP };
