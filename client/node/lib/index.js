/*
 * index.js -- the pgqueuer Node.js client: a Producer that enqueues jobs
 * and a Worker that runs handlers for them, both on the `pg` package and
 * pgqueuer's SQL functions only (see docs/node.md).
 */
'use strict';

const { Producer } = require('./producer');
const { Worker } = require('./worker');
const { RetryRequested, HoldRequested, JobCancelled } = require('./errors');
const { CHANNEL } = require('./sql');

module.exports = { Producer, Worker, RetryRequested, HoldRequested, JobCancelled, CHANNEL };
