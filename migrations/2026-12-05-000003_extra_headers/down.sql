DROP INDEX providers_headers_secret_id;
ALTER TABLE providers DROP CONSTRAINT providers_headers_secret_fk;
-- The sealed header values go with the column that named them.
DELETE FROM secrets s WHERE NOT EXISTS (SELECT 1 FROM providers p WHERE p.secret_id = s.id)
    AND EXISTS (SELECT 1 FROM providers p WHERE p.headers_secret_id = s.id);
ALTER TABLE providers DROP COLUMN headers_secret_id;
