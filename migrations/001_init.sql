-- Tenants, their API keys (hashed), Events API endpoints with signing secrets, classic organization
-- settings, per-object URLs, and one row per published event for idempotency beyond Temporal's retention.
CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  plan        text NOT NULL CHECK (plan IN ('pro', 'enterprise')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key_hash    text NOT NULL UNIQUE,
  key_prefix  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE endpoints (
  id                          text PRIMARY KEY,
  tenant_id                   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  url                         text NOT NULL,
  description                 text,
  events                      text[] NOT NULL,
  filter                      jsonb,
  status                      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  secret                      text NOT NULL,
  previous_secret             text,
  previous_secret_expires_at  timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  deleted_at                  timestamptz
);
CREATE INDEX endpoints_tenant_live ON endpoints (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_settings (
  tenant_id   text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  enabled     boolean NOT NULL DEFAULT false,
  url         text,
  token       text,
  public_key  text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE object_webhook_urls (
  tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  object_type  text NOT NULL,
  eid          text NOT NULL,
  url          text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, object_type, eid)
);

-- started_at is set once Temporal acknowledged the workflow start: a row without it is a publish that
-- did not finish, and the same id may start it again.
CREATE TABLE events (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('event', 'classic')),
  type        text NOT NULL,
  body        json NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  started_at  timestamptz
);
CREATE INDEX events_tenant_created ON events (tenant_id, created_at DESC);
