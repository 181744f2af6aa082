-- bare_queue.sql -- the baseline of the benchmark: a minimal hand-written
-- FOR UPDATE SKIP LOCKED queue (one table, batch insert, claim by
-- UPDATE ... RETURNING, DELETE), the least a queue in PostgreSQL can do.
-- bare_done only records start times for the latency figure.

CREATE TABLE bare_queue (
	id bigserial PRIMARY KEY,
	created timestamptz NOT NULL DEFAULT clock_timestamp(),
	started timestamptz,
	worker integer,
	entrypoint text NOT NULL,
	payload bytea
);
CREATE INDEX bare_queue_ready ON bare_queue (id) WHERE started IS NULL;
CREATE INDEX bare_queue_claimed ON bare_queue (worker) WHERE started IS NOT NULL;

CREATE TABLE bare_done (
	id bigint NOT NULL,
	created timestamptz NOT NULL,
	started timestamptz NOT NULL
);
