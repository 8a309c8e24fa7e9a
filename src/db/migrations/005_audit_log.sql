-- Every gateway decision and admin change. No foreign keys: an audit row must never fail to be
-- written (unknown tenants and keys are exactly what it records), and rows outlive what they name.
CREATE TABLE audit_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  tenant_id  text,
  key_id     text,
  message_id text,
  source     text NOT NULL CHECK (source IN ('job', 'event', 'admin')),
  outcome    text NOT NULL,
  reason     text,
  detail     text
);

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
