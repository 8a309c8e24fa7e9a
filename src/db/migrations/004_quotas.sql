-- A tenant's own settings over its tier preset. A key present in `limits` overrides the preset
-- (JSON null = unlimited); an absent key inherits it. src/policy/quota-settings.ts validates values.
CREATE TABLE quota_overrides (
  tenant_id  text PRIMARY KEY REFERENCES tenants (id),
  limits     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(limits) = 'object'),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION quota_limit(overrides jsonb, name text, preset integer) RETURNS integer
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN overrides ? name THEN (overrides ->> name)::integer ELSE preset END $$;

CREATE VIEW tenant_policies AS
SELECT
  t.id AS tenant_id,
  t.tier,
  quota_limit(o.limits, 'jobs_per_minute', p.jobs_per_minute) AS jobs_per_minute,
  quota_limit(o.limits, 'burst', p.burst) AS burst,
  quota_limit(o.limits, 'images_per_hour', p.images_per_hour) AS images_per_hour,
  quota_limit(o.limits, 'images_per_day', p.images_per_day) AS images_per_day,
  quota_limit(o.limits, 'images_per_month', p.images_per_month) AS images_per_month,
  quota_limit(o.limits, 'max_items_per_job', p.max_items_per_job) AS max_items_per_job,
  quota_limit(o.limits, 'max_in_flight', p.max_in_flight) AS max_in_flight,
  p.priority
FROM tenants t
JOIN quota_tiers p ON p.tier = t.tier
LEFT JOIN quota_overrides o ON o.tenant_id = t.id;

-- Job token bucket: `tokens` as of `refilled_at`; refills at jobs_per_minute up to burst.
-- `granted` is the outcome of the latest take, so the statement that decides can report it.
CREATE TABLE job_token_buckets (
  tenant_id   text PRIMARY KEY REFERENCES tenants (id),
  tokens      double precision NOT NULL,
  refilled_at timestamptz NOT NULL,
  granted     boolean NOT NULL
);

CREATE FUNCTION refilled_tokens(tokens double precision, refilled_at timestamptz, at timestamptz,
                                per_minute integer, burst integer) RETURNS double precision
  LANGUAGE sql IMMUTABLE
  -- GREATEST(0, ...): gateways' clocks differ a little; time never runs backwards for a bucket.
  AS $$ SELECT LEAST(burst, tokens + GREATEST(0, EXTRACT(EPOCH FROM at - refilled_at)) * per_minute / 60.0) $$;

-- Image counters of the current UTC hour, day and month, one row per tenant so that one
-- statement can check and bump all three windows together. `reserved` is the outcome of the
-- latest reservation, so the statement that decides can report it.
CREATE TABLE image_counters (
  tenant_id   text PRIMARY KEY REFERENCES tenants (id),
  reserved    boolean NOT NULL,
  hour_start  timestamptz NOT NULL,
  hour_used   bigint NOT NULL CHECK (hour_used >= 0),
  day_start   timestamptz NOT NULL,
  day_used    bigint NOT NULL CHECK (day_used >= 0),
  month_start timestamptz NOT NULL,
  month_used  bigint NOT NULL CHECK (month_used >= 0)
);
