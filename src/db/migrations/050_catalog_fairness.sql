-- Catalog expansion under hostile input. A job whose pages keep failing is retried with backoff
-- and, after a bounded number of failures in a row, ends its listing as `expansion_failed`; the
-- expander serves the tenant it served least recently first, so no tenant's jobs block another's.
ALTER TABLE jobs
  -- Failed pages in a row (reset by a committed page).
  ADD COLUMN expansion_failures integer NOT NULL DEFAULT 0;

-- When the expander last took up a job of each tenant.
CREATE TABLE tenant_expansion_turns (
  tenant_id text PRIMARY KEY,
  served_at timestamptz NOT NULL
);
