-- Settings pages (the portal): a one-time sign-in link, made by POST /v1/portal-sessions, and the
-- short-lived session that opening it yields, bound to one tenant. Only SHA-256 hashes of both tokens are
-- stored. A used or expired row is kept for a day so that opening its link again says "already used"
-- or "expired" rather than "not valid".
CREATE TABLE portal_sessions (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  link_hash           text NOT NULL UNIQUE,
  link_expires_at     timestamptz NOT NULL,
  opened_at           timestamptz,
  session_hash        text UNIQUE,
  session_expires_at  timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portal_sessions_link_expiry ON portal_sessions (link_expires_at);
