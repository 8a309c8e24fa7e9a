-- Per-tenant counters the fairness dispatcher works from, so a round never scans the task backlog:
-- pending = tasks not yet released, in_flight = released and not ended (bounded by max_in_flight,
-- copied from the tenant's effective policy at each admission).
CREATE TABLE tenant_dispatch (
  tenant_id text PRIMARY KEY REFERENCES tenants (id),
  pending integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
  in_flight integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
  max_in_flight integer NOT NULL CHECK (max_in_flight >= 1),
  -- Round robin: the tenant served longest ago goes first.
  last_released_at timestamptz NOT NULL DEFAULT '-infinity'
);

CREATE INDEX tenant_dispatch_ready ON tenant_dispatch (last_released_at) WHERE pending > 0;
