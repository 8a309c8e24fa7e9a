-- Which task of a job writes each output object. Two items of one job can map to one output key
-- (shoes/red.jpg and shoes/red.png under the default {key} template); the worker claims its keys
-- here before it uploads, and an item whose key another task holds fails with output_collision
-- instead of silently overwriting that item's output (src/worker/output-claims.ts). A claim lives
-- as long as the task row that holds it.
CREATE TABLE output_claims (
  tenant_id text NOT NULL,
  job_id    text NOT NULL,
  bucket    text NOT NULL,
  key       text NOT NULL,
  task_id   bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, job_id, bucket, key)
);

-- The cascade from tasks finds a task's claims without scanning the table.
CREATE INDEX output_claims_task ON output_claims (task_id);
