-- Catalog jobs (prefix and manifest inputs): the expander lists the input into tasks page by page.
-- Each page commits its tasks together with the cursor, so a crash resumes after the last
-- committed page and never lists an item twice.
ALTER TABLE jobs
  -- Where the listing stopped: the last object key listed (prefix) or the last manifest line read.
  ADD COLUMN expansion_cursor text,
  -- Items created so far; the next task gets this item number.
  ADD COLUMN expanded_items integer NOT NULL DEFAULT 0,
  -- Input entries that made no task (bad manifest lines, invalid or ungranted keys, duplicates).
  ADD COLUMN skipped integer NOT NULL DEFAULT 0,
  -- Which gateway lists the job, until when (another takes over after a crash).
  ADD COLUMN expansion_lease_until timestamptz,
  -- Why the listing ended before the input did (quota, max items per job), as code and message.
  ADD COLUMN truncated_code text,
  ADD COLUMN truncated_message text,
  -- Results manifest: written by the finaliser after the job completes, then job.completed queued.
  ADD COLUMN manifest_bucket text,
  ADD COLUMN manifest_key text,
  -- Why no manifest could be written (e.g. the output bucket refused it); job.completed still goes out.
  ADD COLUMN manifest_error text,
  ADD COLUMN finalize_lease_until timestamptz,
  ADD COLUMN finalized_at timestamptz;

CREATE INDEX jobs_expanding ON jobs (created_at) WHERE state = 'expanding';
CREATE INDEX jobs_unfinalized ON jobs (completed_at) WHERE state = 'completed' AND finalized_at IS NULL;

-- One row per input entry that made no task, reported in the results manifest.
CREATE TABLE job_input_problems (
  tenant_id text NOT NULL,
  job_id text NOT NULL,
  -- Manifest line number (1-based) or, for a prefix listing, the position in the listing.
  position bigint NOT NULL,
  entry text NOT NULL,
  code text NOT NULL,
  message text NOT NULL,
  PRIMARY KEY (tenant_id, job_id, position),
  FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
);

-- A manifest may list one object twice: the second line makes no second task.
CREATE UNIQUE INDEX tasks_job_source ON tasks (tenant_id, job_id, source_bucket, source_key);
