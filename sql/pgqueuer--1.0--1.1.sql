/*
 * pgqueuer--1.0--1.1.sql
 *		Upgrade script of the pgqueuer extension from version 1.0 to 1.1.
 *
 * A fresh CREATE EXTENSION pgqueuer (version 1.1) runs pgqueuer--1.0.sql and
 * then this script, as PostgreSQL's contrib modules do with their base
 * script and update chain; an installed 1.0 gets the same objects with
 * ALTER EXTENSION pgqueuer UPDATE.  So the schema of 1.1 is defined here
 * exactly once, whichever way it was reached.
 *
 * The same rules as the install script hold: every object and operator is
 * schema-qualified (pg_catalog.x, pgqueuer.x, OPERATOR(pg_catalog.=)),
 * nothing is created with CREATE OR REPLACE or IF NOT EXISTS, and functions
 * run with search_path = pg_catalog, pg_temp.
 *
 * Sections, in order: security hardening; supported majors and versions;
 * PgQueuer compatibility; new SQL functions.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgqueuer UPDATE TO '1.1'" to load this file. \quit

------------------------------------------------------------------------
-- Security hardening
------------------------------------------------------------------------




------------------------------------------------------------------------
-- Supported majors and extension versions
------------------------------------------------------------------------




------------------------------------------------------------------------
-- PgQueuer compatibility
------------------------------------------------------------------------




------------------------------------------------------------------------
-- New SQL functions
------------------------------------------------------------------------




------------------------------------------------------------------------
-- Python and Node.js clients
------------------------------------------------------------------------

