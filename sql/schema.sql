-- The installed objects: PgQueuer's names, columns, types, defaults, enum
-- order, indexes and trigger; our registry and settings; dump registration
-- and a COMMENT on every function.
CREATE EXTENSION pgqueuer;

SELECT extname, extversion, extrelocatable, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = 'pgqueuer';

SELECT enumsortorder, enumlabel FROM pg_enum
 WHERE enumtypid = 'pgqueuer.pgqueuer_status'::regtype ORDER BY enumsortorder;

-- (the partitions of the log take its columns and indexes: listed below)
SELECT table_name, column_name, data_type, is_nullable, column_default
  FROM information_schema.columns WHERE table_schema = 'pgqueuer'
   AND NOT (table_name::text ~ '^pgqueuer_log_(s\d\d|default)$')
 ORDER BY table_name, ordinal_position;

SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'pgqueuer'
   AND NOT (tablename ~ '^pgqueuer_log_(s\d\d|default)$')
 ORDER BY tablename, indexname;

-- the log: partitioned by day into sixteen slots, and a default partition;
-- each partition has the log's six indexes
SELECT pg_get_partkeydef('pgqueuer.pgqueuer_log'::regclass) ~ '^LIST \(\(\(\(date_part\(''day''::text, \(created - ' AS by_day;
SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound,
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid) AS indexes
  FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
 WHERE h.inhparent = 'pgqueuer.pgqueuer_log'::regclass ORDER BY c.relname;

SELECT tgname, tgrelid::regclass, tgtype, tgfoid::regprocedure, tgenabled
  FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'pgqueuer.%' ORDER BY tgname;

-- every data table and sequence is dumped by pg_dump
SELECT unnest(extconfig)::regclass::text AS dumped FROM pg_extension WHERE extname = 'pgqueuer' ORDER BY 1;

-- every function and table is commented
SELECT p.oid::regprocedure AS uncommented FROM pg_proc p
 WHERE p.pronamespace = 'pgqueuer'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.relname AS uncommented FROM pg_class c
 WHERE c.relnamespace = 'pgqueuer'::regnamespace AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') IS NULL;

-- the API functions and their volatility, security and result types
SELECT p.oid::regprocedure AS function, p.provolatile, p.prosecdef, p.proretset,
       pg_get_function_result(p.oid) AS result, p.proconfig
  FROM pg_proc p WHERE p.pronamespace = 'pgqueuer'::regnamespace ORDER BY p.oid::regprocedure::text;

DROP EXTENSION pgqueuer;
-- nothing is left behind but the roles
SELECT count(*) AS leftovers FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'pgqueuer');
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'pgqueuer%' ORDER BY 1;
