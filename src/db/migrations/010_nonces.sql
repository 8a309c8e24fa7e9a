-- Nonces seen per signing key, kept until the message's timestamp window closes (then a replay is
-- already refused as stale, so the row can go). The gateway sweeps expired rows.
CREATE TABLE nonces (
  key_id text NOT NULL,
  nonce text NOT NULL,
  -- The job id of the message that used the nonce: a broker redelivery of that same message is
  -- not a replay.
  message_id text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (key_id, nonce)
);

CREATE INDEX nonces_expires_at ON nonces (expires_at);
