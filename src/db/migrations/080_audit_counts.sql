-- One audit row may stand for many identical decisions: a flood of unverified messages is counted
-- into one row per reason and interval instead of one row per message.
ALTER TABLE audit_log ADD COLUMN count integer NOT NULL DEFAULT 1 CHECK (count > 0);
