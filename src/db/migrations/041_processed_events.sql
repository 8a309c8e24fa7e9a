-- One row per S3 object version (bucket, key, eTag) that became work: a repeated notification
-- (MinIO retries, a broker redelivery, a second upload of identical bytes) makes no second task.
-- Written in the transaction that creates the jobs, so a row exists exactly when they do.
CREATE TABLE processed_events (
  bucket       text NOT NULL,
  key          text NOT NULL,
  etag         text NOT NULL,
  event_name   text NOT NULL,
  sequencer    text,
  -- The jobs this event made, one per matching rule, as "tenant/job id".
  jobs         text[] NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bucket, key, etag)
);

-- Jobs made by a trigger rule have no signing key and no nonce (result events say keyId: null).
ALTER TABLE jobs ALTER COLUMN key_id DROP NOT NULL, ALTER COLUMN nonce DROP NOT NULL;
