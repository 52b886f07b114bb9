-- Migration 20261121090100_add_users_email_index
-- migrate:no-transaction
-- CREATE INDEX CONCURRENTLY cannot run in a transaction. IF NOT EXISTS makes a resumed run safe.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);
