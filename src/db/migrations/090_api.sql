-- The HTTP API is a third front door: its decisions are audited under their own source.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_source_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_source_check CHECK (source IN ('job', 'event', 'admin', 'api'));

-- What POST /v1/jobs admitted under an Idempotency-Key: a retry with the same body answers the
-- same job; the same key with another body is a duplicate. Written in the admission transaction.
CREATE TABLE api_idempotency (
  tenant_id   text NOT NULL,
  job_id      text NOT NULL,
  body_sha256 text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, job_id),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE CASCADE
);
