-- Result events for the results exchange, written in the same transaction as the decision they
-- report, published by the relay with publisher confirms and deleted after. A crash between
-- publish and delete publishes the event again when the lease ends: consumers dedupe by message id.
-- No index on lease_until: the table holds only what awaits publication, and leaving the column
-- unindexed lets the lease update be a HOT update.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  routing_key text NOT NULL,
  message_id text NOT NULL,
  body text NOT NULL,
  lease_until timestamptz NOT NULL DEFAULT '-infinity',
  created_at timestamptz NOT NULL DEFAULT now()
);
