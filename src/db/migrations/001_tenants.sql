-- Tiers are data: each row is the preset quota of every tenant on that tier. NULL = unlimited.
CREATE TABLE quota_tiers (
  tier              text PRIMARY KEY,
  jobs_per_minute   integer CHECK (jobs_per_minute >= 1),
  burst             integer CHECK (burst >= 1),
  images_per_hour   integer CHECK (images_per_hour >= 0),
  images_per_day    integer CHECK (images_per_day >= 0),
  images_per_month  integer CHECK (images_per_month >= 0),
  max_items_per_job integer CHECK (max_items_per_job >= 1),
  max_in_flight     integer CHECK (max_in_flight >= 1),
  -- Tenants of a priority tier get the priority task lane.
  priority          boolean NOT NULL DEFAULT false,
  CHECK ((jobs_per_minute IS NULL) = (burst IS NULL))
);

INSERT INTO quota_tiers
  (tier, jobs_per_minute, burst, images_per_hour, images_per_day, images_per_month, max_items_per_job, max_in_flight, priority)
VALUES
  ('free',        10,   5,  100,  NULL,    NULL,    100,    4,   false),
  ('pro',         60,  20, NULL,  2000,   50000,   1000,   32,   false),
  ('enterprise', 300, 100, NULL, 10000,  250000,  10000,  128,   false),
  ('unlimited', NULL, NULL, NULL,  NULL,    NULL,    NULL,  512,   true);

-- The id is a slug: it appears in routing keys (<tenant>.<job id>.<kind>) and object prefixes.
CREATE TABLE tenants (
  id         text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{1,62}$'),
  tier       text NOT NULL REFERENCES quota_tiers (tier),
  created_at timestamptz NOT NULL DEFAULT now()
);
