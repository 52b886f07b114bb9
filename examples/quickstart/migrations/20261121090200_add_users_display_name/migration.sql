-- Expand: a nullable column with no default is a metadata-only change (no table rewrite).
ALTER TABLE users ADD COLUMN display_name text;
