-- Reverts 20261121090000_create_users
DROP TABLE users;
