-- Signed webhooks (docs/webhooks.md). An endpoint is one tenant's URL and the event types it wants;
-- its Standard Webhooks secret is sealed under the master key like HMAC key secrets, with the
-- previous secret kept (and still signed with) until previous_secret_until after a rotation.
CREATE TABLE webhook_endpoints (
  id                      text PRIMARY KEY CHECK (id ~ '^wh_[A-Za-z0-9_-]{16}$'),
  tenant_id               text NOT NULL REFERENCES tenants (id),
  url                     text NOT NULL CHECK (length(url) <= 2048),
  events                  text[] NOT NULL CHECK (cardinality(events) > 0),
  secret_sealed           bytea NOT NULL,
  previous_secret_sealed  bytea,
  previous_secret_until   timestamptz,
  created_at              timestamptz NOT NULL DEFAULT now(),
  disabled_at             timestamptz,
  disabled_reason         text,
  -- Since when every attempt failed (NULL after a success), and how many events in a row used up
  -- all their attempts: the two ways an endpoint gets disabled.
  failing_since           timestamptz,
  failed_events           integer NOT NULL DEFAULT 0
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);

-- The outbox: one row per (event, endpoint), written in the transaction that records the event's
-- cause (task completion, job finalisation), so nothing is sent for an effect that did not commit.
-- message_id is the webhook-id header: the same for every attempt and every endpoint of one event.
CREATE TABLE webhook_deliveries (
  id              bigserial PRIMARY KEY,
  endpoint_id     text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  tenant_id       text NOT NULL,
  message_id      text NOT NULL,
  event_type      text NOT NULL,
  body            text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  -- Also the lease: a claim moves it forward, so a delivery loop that dies mid-attempt hands the
  -- row to another one once it passes.
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  UNIQUE (endpoint_id, message_id)
);
-- The delivery loops' claim reads only pending rows, soonest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, id);

-- The delivery log: one row per HTTP attempt.
CREATE TABLE webhook_attempts (
  id               bigserial PRIMARY KEY,
  delivery_id      bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt          integer NOT NULL,
  attempted_at     timestamptz NOT NULL,
  status_code      integer,
  latency_ms       integer NOT NULL,
  error            text,
  response_snippet text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
