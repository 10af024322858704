// Every SQL statement of `anvil-webhooks listen` sessions (migration 010): the sessions and their
// temporary endpoints, and the requests on their way between a worker, the API process holding the CLI's
// stream, and back.
import { randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { Db } from './db';
import { LISTEN_URL_PREFIX } from './store';

/** NOTIFY channel of new requests (payload `<session id>:<request id>`), heard by every API process. */
export const LISTEN_REQUEST_CHANNEL = 'anvil_listen_request';

export interface ListenSessionRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  forward_to: string | null;
  holder: string | null;
  last_seen_at: Date;
  created_at: Date;
}

export interface ListenDelivery {
  delivery_id: string;
  event_id: string;
  endpoint_id: string;
  attempt: number;
}

export interface ListenRequest {
  id: string;
  session_id: string;
  delivery: ListenDelivery;
  headers: Record<string, string>;
  body: string;
}

export interface ListenAnswer {
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
  response_excerpt: string | null;
}

export const newListenSessionId = () => `ls_${ulid()}`;
export const listenUrl = (sessionId: string) => `${LISTEN_URL_PREFIX}${sessionId}`;
export const sessionOfListenUrl = (url: string) => (url.startsWith(LISTEN_URL_PREFIX) ? url.slice(LISTEN_URL_PREFIX.length) : null);

export function createListenStore(db: Db) {
  return {
    async createSession(row: Pick<ListenSessionRow, 'id' | 'tenant_id' | 'endpoint_id' | 'forward_to'>): Promise<ListenSessionRow> {
      const r = await db.query<ListenSessionRow>(
        'INSERT INTO listen_sessions (id, tenant_id, endpoint_id, forward_to) VALUES ($1, $2, $3, $4) RETURNING *',
        [row.id, row.tenant_id, row.endpoint_id, row.forward_to],
      );
      return r.rows[0]!;
    },

    async countSessions(tenantId: string): Promise<number> {
      const r = await db.query<{ n: string }>('SELECT count(*) AS n FROM listen_sessions WHERE tenant_id = $1', [tenantId]);
      return Number(r.rows[0]!.n);
    },

    async getSession(tenantId: string, id: string): Promise<ListenSessionRow | null> {
      const r = await db.query<ListenSessionRow>('SELECT * FROM listen_sessions WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return r.rows[0] ?? null;
    },

    /** This process holds the CLI's stream now (a reconnect through another process takes it over). */
    async hold(id: string, holder: string): Promise<void> {
      await db.query('UPDATE listen_sessions SET holder = $2, last_seen_at = now() WHERE id = $1', [id, holder]);
    },

    /** The stream closed: not connected, unless another process took it over meanwhile. */
    async release(id: string, holder: string): Promise<void> {
      await db.query('UPDATE listen_sessions SET holder = NULL, last_seen_at = now() WHERE id = $1 AND holder = $2', [id, holder]);
    },

    async heartbeat(ids: string[], holder: string): Promise<void> {
      if (ids.length === 0) return;
      await db.query('UPDATE listen_sessions SET last_seen_at = now() WHERE id = ANY($1::text[]) AND holder = $2', [ids, holder]);
    },

    /** Removes the session; the caller deletes its endpoint. Null when it was already gone. */
    async deleteSession(tenantId: string, id: string): Promise<ListenSessionRow | null> {
      const r = await db.query<ListenSessionRow>('DELETE FROM listen_sessions WHERE tenant_id = $1 AND id = $2 RETURNING *', [tenantId, id]);
      return r.rows[0] ?? null;
    },

    /** Sessions unseen for `timeoutMs`, removed (one caller wins each); the caller deletes their endpoints. */
    async expireSessions(timeoutMs: number): Promise<ListenSessionRow[]> {
      const r = await db.query<ListenSessionRow>(
        `DELETE FROM listen_sessions WHERE last_seen_at < now() - ($1::bigint * interval '1 millisecond') RETURNING *`,
        [timeoutMs],
      );
      return r.rows;
    },

    /**
     * A worker's attempt: stored and announced only when the session's CLI is connected (held, and seen
     * within `freshMs`); false means nobody could receive it.
     */
    async sendRequest(req: ListenRequest, replyChannel: string, freshMs: number): Promise<boolean> {
      const r = await db.query(
        `WITH s AS (SELECT id FROM listen_sessions
                     WHERE id = $2 AND holder IS NOT NULL AND last_seen_at > now() - ($7::bigint * interval '1 millisecond')),
              r AS (INSERT INTO listen_requests (id, session_id, reply_channel, delivery, headers, body)
                    SELECT $1, s.id, $3, $4, $5, $6 FROM s RETURNING id, session_id)
         SELECT pg_notify('${LISTEN_REQUEST_CHANNEL}', r.session_id || ':' || r.id) FROM r`,
        [req.id, req.session_id, replyChannel, JSON.stringify(req.delivery), JSON.stringify(req.headers), req.body, freshMs],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** The API process holding the session takes the request (exactly one does). */
    async claimRequest(id: string, sessionId: string, holder: string): Promise<ListenRequest | null> {
      const r = await db.query<ListenRequest>(
        `UPDATE listen_requests SET claimed_by = $3 WHERE id = $1 AND session_id = $2 AND claimed_by IS NULL
         RETURNING id, session_id, delivery, headers, body`,
        [id, sessionId, holder],
      );
      return r.rows[0] ?? null;
    },

    /** The CLI's answer (or the holder's, when the stream broke): stored once, and the worker woken. */
    async answerRequest(id: string, sessionId: string, answer: ListenAnswer): Promise<boolean> {
      const r = await db.query(
        `WITH a AS (UPDATE listen_requests SET status_code = $3, duration_ms = $4, error = $5, response_excerpt = $6, answered_at = now()
                     WHERE id = $1 AND session_id = $2 AND answered_at IS NULL RETURNING id, reply_channel)
         SELECT pg_notify(a.reply_channel, a.id) FROM a`,
        [id, sessionId, answer.status_code, answer.duration_ms, answer.error, answer.response_excerpt],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** The worker reads the answer (if any) and removes the request either way. */
    async takeAnswer(id: string): Promise<(ListenAnswer & { answered: boolean }) | null> {
      const r = await db.query<ListenAnswer & { answered_at: Date | null }>(
        'DELETE FROM listen_requests WHERE id = $1 RETURNING status_code, duration_ms, error, response_excerpt, answered_at',
        [id],
      );
      const row = r.rows[0];
      return row ? { ...row, answered: row.answered_at !== null } : null;
    },

    /** Requests a crashed worker never collected. */
    async deleteStaleRequests(olderThanMs: number): Promise<void> {
      await db.query(`DELETE FROM listen_requests WHERE created_at < now() - ($1::bigint * interval '1 millisecond')`, [olderThanMs]);
    },
  };
}

export type ListenStore = ReturnType<typeof createListenStore>;

/** A process's own reply channel (lower-case: a plain identifier for LISTEN). */
export const newReplyChannel = () => `anvil_listen_reply_${randomBytes(6).toString('hex')}`;
export const newRequestId = () => `lr_${ulid()}`;
