-- Retention sweeps delete the oldest rows in small batches; these indexes find them without
-- scanning whole tables (audit_log already has audit_log_at).
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
CREATE INDEX jobs_finalized_at ON jobs (finalized_at) WHERE finalized_at IS NOT NULL;
