CREATE TABLE api_keys (
  key_id            text PRIMARY KEY CHECK (key_id ~ '^ck_(live|test)_[0-9A-Za-z]{24}$'),
  tenant_id         text NOT NULL REFERENCES tenants (id),
  algorithm         text NOT NULL CHECK (algorithm IN ('hmac-sha256', 'ed25519')),
  environment       text NOT NULL CHECK (environment IN ('live', 'test')),
  -- HMAC: the secret sealed with AES-256-GCM under the master key (src/keys/secret-box.ts).
  -- Ed25519: only the public key, base64url SPKI DER (src/signing/keys.ts).
  secret_ciphertext bytea,
  public_key        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz,
  revoked_at        timestamptz,
  rotated_from      text UNIQUE REFERENCES api_keys (key_id),
  CHECK (key_id LIKE 'ck_' || environment || '_%'),
  CHECK (
    (algorithm = 'hmac-sha256' AND secret_ciphertext IS NOT NULL AND public_key IS NULL)
    OR (algorithm = 'ed25519' AND public_key IS NOT NULL AND secret_ciphertext IS NULL)
  )
);

-- The gateway's hot path reads by key_id (the primary key); the admin lists by tenant.
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
