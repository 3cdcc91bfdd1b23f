-- Gateway extra headers (issue 24 item 4): the values of a provider's extra headers, sealed
-- together (a JSON list of name/value pairs) into a `secrets` row of their own, so they are
-- sealed, opened and re-wrapped by `keys rotate` exactly like keys. The names stay readable
-- in `providers.config.extra_headers`. The secret belongs to this one provider (never
-- shared), so deleting the provider deletes it (ops::providers::extra_headers).
ALTER TABLE providers ADD COLUMN headers_secret_id TEXT;
-- Composite, so the sealed headers are always of the provider's own org.
ALTER TABLE providers
    ADD CONSTRAINT providers_headers_secret_fk
    FOREIGN KEY (org_id, headers_secret_id) REFERENCES secrets (org_id, id);
-- One provider per headers secret.
CREATE UNIQUE INDEX providers_headers_secret_id ON providers (headers_secret_id);
