-- `anvil-webhooks listen`: a CLI holds an outbound connection (a server-sent-event stream) to one API
-- process, and a temporary endpoint (url 'listen://<session id>') whose deliveries travel over it.
--   holder:        the API process holding the CLI's stream now (NULL: the CLI is not connected);
--   last_seen_at:  refreshed while it is held; a session unseen for ANVIL_LISTEN_SESSION_TIMEOUT is removed
--                  with its endpoint (the CLI was killed, or its machine went away).
CREATE TABLE listen_sessions (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  endpoint_id   text NOT NULL,
  forward_to    text,
  holder        text,
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listen_sessions_tenant ON listen_sessions (tenant_id);

-- One attempt on its way to a CLI and back: the worker running the attempt inserts it and NOTIFYs the API
-- processes; the one holding the session claims it and streams it to the CLI; the CLI's answer (through
-- any API process) is written here and NOTIFYs the worker, which reads and deletes the row. Rows live for
-- seconds, and a lost one only fails its attempt, as an unreachable endpoint would: UNLOGGED (no WAL).
CREATE UNLOGGED TABLE listen_requests (
  id                text PRIMARY KEY,
  session_id        text NOT NULL,
  reply_channel     text NOT NULL,
  delivery          jsonb NOT NULL,
  headers           jsonb NOT NULL,
  body              text NOT NULL,
  claimed_by        text,
  status_code       integer,
  duration_ms       integer,
  error             text,
  response_excerpt  text,
  answered_at       timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX listen_requests_created ON listen_requests (created_at);
