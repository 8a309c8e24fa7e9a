-- The delivery loops claim per endpoint (a few due deliveries of each), so one endpoint's backlog
-- or a receiver that hangs never holds every slot: this index serves that per-endpoint look-up.
CREATE INDEX webhook_deliveries_endpoint_due ON webhook_deliveries (endpoint_id, next_attempt_at)
  WHERE status = 'pending';
