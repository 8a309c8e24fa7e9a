-- The retention sweeper deletes finished webhook deliveries (and, by cascade, their attempts) once
-- CLEARCUT_RETENTION_WEBHOOK_DELIVERIES has passed; this index finds them without a scan.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';
