-- S3 event trigger rules (issue 5): an object created in `bucket` under `prefix`, ending in one of
-- `suffixes` (none = any), becomes a job of `tenant_id` writing `renditions` to the output location.
CREATE TABLE triggers (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  bucket        text NOT NULL CHECK (bucket ~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'),
  -- A plain key prefix as S3 filters use it ('' = the whole bucket).
  prefix        text NOT NULL DEFAULT '',
  -- Case-sensitive, as S3 filter rules are.
  suffixes      text[] NOT NULL DEFAULT '{}',
  output_bucket text NOT NULL CHECK (output_bucket ~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'),
  -- A folder ('' or ending in '/'), so loop protection never confuses `cut/` with `cutlery/`.
  output_prefix text NOT NULL CHECK (output_prefix = '' OR output_prefix LIKE '%/'),
  renditions    jsonb NOT NULL,
  -- NULL = the deployment's default model when the event arrives.
  model         text,
  enabled       boolean NOT NULL DEFAULT true,
  -- The MinIO notification target this rule configured on its bucket (triggers add --minio-arn).
  minio_arn     text,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- The consumer loads every rule of the buckets in a batch, as input (matching) and as output (loops).
CREATE INDEX triggers_bucket ON triggers (bucket);
CREATE INDEX triggers_output_bucket ON triggers (output_bucket);
