-- One row per admitted job. The producer's message id is the job id, unique per tenant.
CREATE TABLE jobs (
  tenant_id text NOT NULL REFERENCES tenants (id),
  id text NOT NULL,
  -- Key and nonce of the admitting message: a broker redelivery of it is recognised and acked quietly.
  key_id text NOT NULL,
  nonce text NOT NULL,
  -- expanding: a prefix/manifest input is still being listed into tasks (total unknown);
  -- running: every task exists; completed: every task has ended.
  state text NOT NULL CHECK (state IN ('expanding', 'running', 'completed')),
  -- The validated job body (input, output, renditions, model, priority, metadata).
  spec jsonb NOT NULL,
  model text NOT NULL,
  lane text NOT NULL CHECK (lane IN ('normal', 'priority')),
  total integer CHECK (total >= 0),
  succeeded integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  -- Images reserved against the daily/monthly quota and when, so work that never ran can be refunded.
  images_reserved integer NOT NULL DEFAULT 0,
  reserved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at DESC);
