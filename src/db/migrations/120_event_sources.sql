-- Event-source keys (issue 13, Deliver 5): an EventBridge API destination connection sends its
-- client id and secret in plain to POST /oauth/token, so a key made for that is kept apart from
-- signing keys: it gets tokens for POST /v1/events/s3 only and signs nothing (every door refuses it).
ALTER TABLE api_keys
  ADD COLUMN purpose text NOT NULL DEFAULT 'signing' CHECK (purpose IN ('signing', 'event-source')),
  -- The connection sends a secret: only an HMAC key has one to send.
  ADD CONSTRAINT api_keys_event_source_hmac CHECK (purpose = 'signing' OR algorithm = 'hmac-sha256');

-- De-duplication per door scope: '' for the AMQP consumer, which matches every tenant's rules; the
-- tenant for an HTTP event, which matches only that tenant's rules. Otherwise one tenant's event
-- would mark an object version done for another tenant whose rules never saw it. The same object
-- version through both doors still makes one job: the job id derives from the rule and the version.
ALTER TABLE processed_events ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE processed_events DROP CONSTRAINT processed_events_pkey;
ALTER TABLE processed_events ADD PRIMARY KEY (scope, bucket, key, etag);
