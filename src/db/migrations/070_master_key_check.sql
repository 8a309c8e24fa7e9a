-- One row: HMAC-SHA256 of a fixed label under the master key that sealed the HMAC secrets in
-- api_keys. A process compares its own CLEARCUT_MASTER_KEY's check value with it before using the
-- key, so a wrong key is refused at start instead of failing every HMAC job later
-- (src/keys/master-key-check.ts). Written by the first process that uses a master key;
-- `clearcut keys reseal` replaces it together with every sealed secret.
CREATE TABLE master_key_check (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  check_value bytea NOT NULL CHECK (length(check_value) = 32),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
