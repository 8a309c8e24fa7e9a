-- A grant covers every object of `bucket` whose key starts with `prefix` ('' = the whole bucket).
CREATE TABLE bucket_grants (
  tenant_id  text NOT NULL REFERENCES tenants (id),
  bucket     text NOT NULL CHECK (bucket ~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$'),
  prefix     text NOT NULL DEFAULT '' CHECK (prefix = '' OR prefix LIKE '%/'),
  access     text NOT NULL CHECK (access IN ('read', 'write')),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Also the index of the gateway's per-tenant lookup.
  PRIMARY KEY (tenant_id, bucket, prefix, access)
);
