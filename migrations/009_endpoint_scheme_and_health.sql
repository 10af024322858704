-- Per endpoint: how deliveries are signed ('anvil': Anvil-Signature; 'standard-webhooks': webhook-id,
-- webhook-timestamp, webhook-signature), and its health:
--   failing_since:           the first failed attempt of the current streak of failures (NULL after any
--                            success). Written only when an attempt fails (the happy path writes nothing).
--   disabled_reason/_at:     why and when the endpoint was turned off (automatically or by a user).
--   disable_notice_pending:  turned off automatically, and its pending deliveries not canceled nor the
--                            tenant told yet (the API processes do both, then clear it).
ALTER TABLE endpoints
  ADD COLUMN signature_scheme text NOT NULL DEFAULT 'anvil' CHECK (signature_scheme IN ('anvil', 'standard-webhooks')),
  ADD COLUMN failing_since timestamptz,
  ADD COLUMN disabled_reason text,
  ADD COLUMN disabled_at timestamptz,
  ADD COLUMN disable_notice_pending boolean NOT NULL DEFAULT false;
CREATE INDEX endpoints_disable_notice_pending ON endpoints (id) WHERE disable_notice_pending;
