-- Reverts 20261121090100_add_users_email_index
DROP INDEX IF EXISTS users_email_key;
