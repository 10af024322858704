// The API side of `anvil-webhooks listen` (see activities/listen-transport.ts for the whole trip): this
// process holds the server-sent-event streams of the CLIs connected to it, streams them each request a
// worker announces for their session, keeps their sessions fresh, and removes sessions whose CLI has been
// gone longer than the time-out, with their temporary endpoints (pending deliveries canceled).
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import type { ChannelListener } from '../infra/pg-channels';
import { LISTEN_REQUEST_CHANNEL, type ListenStore } from '../infra/listen-store';
import type { Store } from '../infra/store';
import { cancelDeliveries } from './delivery-commands';
import { log as currentLog } from '../infra/log';

/** A comment line on every stream this often keeps proxies from closing an idle one. */
export const STREAM_PING_MS = 15_000;
/** Requests older than this were never collected (their worker died): removed. */
const STALE_REQUEST_MS = 5 * 60_000;

export interface ListenRelay {
  /** Serves the session's stream on `res` until the CLI goes away. */
  attach(sessionId: string, res: ServerResponse): Promise<void>;
  /** Removes a session (the CLI exits, or it expired) with its endpoint; pending deliveries canceled. */
  end(tenantId: string, sessionId: string, why: string): Promise<boolean>;
  timeoutMs: number;
  close(): Promise<void>;
}

export function createListenRelay(
  deps: { listen: ListenStore; store: Store; temporal: Client; channels: ChannelListener; timeoutMs: number },
  log: (line: string) => void = (l) => currentLog().warn(l),
): ListenRelay {
  const holder = `api_${randomBytes(6).toString('hex')}`;
  const streams = new Map<string, ServerResponse>();
  // Refreshed well within the time-out, so a held session never looks gone.
  const heartbeatMs = Math.max(200, Math.min(5000, Math.floor(deps.timeoutMs / 3)));

  const send = (res: ServerResponse, event: string, data: unknown): boolean => {
    if (res.writableEnded || res.destroyed) return false;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    return true;
  };

  const forward = async (sessionId: string, requestId: string) => {
    const res = streams.get(sessionId);
    if (!res) return;
    const req = await deps.listen.claimRequest(requestId, sessionId, holder);
    if (!req) return; // another process holding the session (a reconnect) took it
    const sent = send(res, 'delivery', { request_id: req.id, ...req.delivery, headers: req.headers, body: req.body });
    if (!sent) {
      await deps.listen.answerRequest(req.id, sessionId, { status_code: null, duration_ms: null, error: 'connection reset: the listen CLI disconnected', response_excerpt: null });
    }
  };

  const end = async (tenantId: string, sessionId: string, why: string): Promise<boolean> => {
    const session = await deps.listen.deleteSession(tenantId, sessionId);
    if (!session) return false;
    await deps.store.deleteEndpoint(tenantId, session.endpoint_id);
    await cancelDeliveries(deps, tenantId, { endpointId: session.endpoint_id }, why);
    const res = streams.get(sessionId);
    if (res) {
      send(res, 'ended', { reason: why });
      res.end();
    }
    return true;
  };

  const ready = deps.channels
    .listen(LISTEN_REQUEST_CHANNEL, (payload) => {
      const [sessionId, requestId] = payload.split(':');
      if (sessionId && requestId && streams.has(sessionId)) {
        forward(sessionId, requestId).catch((err: unknown) => log(`[listen] forwarding ${requestId} failed: ${(err as Error).message}`));
      }
    })
    .catch((err: unknown) => log(`[listen] LISTEN failed: ${(err as Error).message}`));

  let lastPing = Date.now();
  const tick = async () => {
    await deps.listen.heartbeat([...streams.keys()], holder);
    if (Date.now() - lastPing >= STREAM_PING_MS) {
      lastPing = Date.now();
      for (const res of streams.values()) res.write(': ping\n\n');
    }
    for (const expired of await deps.listen.expireSessions(deps.timeoutMs)) {
      log(`[listen] session ${expired.id} expired: its CLI was gone for ${deps.timeoutMs / 1000} s; endpoint ${expired.endpoint_id} removed`);
      await deps.store.deleteEndpoint(expired.tenant_id, expired.endpoint_id);
      await cancelDeliveries(deps, expired.tenant_id, { endpointId: expired.endpoint_id }, 'listen session ended');
    }
    await deps.listen.deleteStaleRequests(STALE_REQUEST_MS);
  };
  let ticking: Promise<void> | null = null;
  const timer = setInterval(() => {
    ticking ??= tick()
      .catch((err: unknown) => log(`[listen] housekeeping failed: ${(err as Error).message}`))
      .finally(() => (ticking = null));
  }, heartbeatMs);
  timer.unref();

  return {
    timeoutMs: deps.timeoutMs,
    async attach(sessionId, res) {
      await ready;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      const previous = streams.get(sessionId);
      if (previous && previous !== res) previous.end(); // the CLI reconnected: the newest stream wins
      streams.set(sessionId, res);
      await deps.listen.hold(sessionId, holder);
      send(res, 'ready', { session_id: sessionId });
      await new Promise<void>((resolve) => res.once('close', resolve));
      if (streams.get(sessionId) === res) {
        streams.delete(sessionId);
        await deps.listen.release(sessionId, holder).catch((err: unknown) => log(`[listen] releasing ${sessionId} failed: ${(err as Error).message}`));
      }
    },
    end,
    async close() {
      clearInterval(timer);
      await ticking;
      for (const [id, res] of streams) {
        streams.delete(id);
        res.end();
        await deps.listen.release(id, holder).catch(() => {});
      }
    },
  };
}
