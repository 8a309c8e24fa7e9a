-- One row per image of a job. The row is also the task's outbox: the dispatcher releases pending
-- tasks (status queued, leased), publishes them with confirms, then records published_at. A crash
-- in between leaves the lease to expire, and the task is published again (workers dedupe by id).
CREATE TABLE tasks (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL,
  job_id text NOT NULL,
  -- 0-based position of the item in the job's input.
  item integer NOT NULL CHECK (item >= 0),
  source_bucket text NOT NULL,
  source_key text NOT NULL,
  -- 0 = priority lane, 1 = normal lane: released (and indexed) in this order.
  lane_rank smallint NOT NULL CHECK (lane_rank IN (0, 1)),
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'queued', 'succeeded', 'failed')),
  lease_until timestamptz,
  published_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  error_code text,
  error_message text,
  outputs jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz,
  finished_at timestamptz,
  UNIQUE (tenant_id, job_id, item),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
);

CREATE INDEX tasks_pending ON tasks (tenant_id, lane_rank, id) WHERE status = 'pending';
CREATE INDEX tasks_unpublished ON tasks (lease_until) WHERE status = 'queued' AND published_at IS NULL;
