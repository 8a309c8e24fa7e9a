-- One-time dashboard sign-in links (`clearcut dashboard link`) and the sessions they open. The link
-- token is never stored, only its SHA-256; `id` is the session's name (the session token's jti), so
-- signing out (signed_out_at) ends that session on every API process at once.
CREATE TABLE dashboard_links (
  id            text PRIMARY KEY,
  token_sha256  text NOT NULL UNIQUE,
  -- The tenant whose pages the session shows; NULL for an operator link without a tenant.
  tenant_id     text REFERENCES tenants (id),
  admin         boolean NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  signed_out_at timestamptz,
  CHECK (admin OR tenant_id IS NOT NULL)
);

CREATE INDEX dashboard_links_expires ON dashboard_links (expires_at);

-- The dashboard's usage chart counts a tenant's images by the hour and day they finished.
CREATE INDEX tasks_tenant_finished ON tasks (tenant_id, finished_at) WHERE finished_at IS NOT NULL;
