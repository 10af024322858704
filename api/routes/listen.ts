// `anvil-webhooks listen`: a session is a temporary endpoint whose deliveries travel over the CLI's own
// outbound connection (GET …/stream, server-sent events); the CLI posts each answer back (…/answers, to any
// API process); DELETE ends it. Sessions of a CLI gone longer than ANVIL_LISTEN_SESSION_TIMEOUT end alone.
import { Router } from 'express';
import { EVENT_TYPES } from '../../domain/catalog';
import { createListenSessionSchema, LISTEN_EXCERPT_MAX, listenAnswerSchema, listenSessionIdSchema } from '../../domain/schemas';
import { listenUrl, newListenSessionId, type ListenStore } from '../../infra/listen-store';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { ApiError, notFound, parsePathId, parseWith } from '../errors';
import type { ListenRelay } from '../listen-relay';

/** Listen sessions a tenant may have at once. */
export const MAX_LISTEN_SESSIONS = 10;

export function listenRouter(deps: RouteDeps & { listen: ListenStore; relay: ListenRelay }) {
  const { store, listen, relay } = deps;
  const router = Router();

  async function load(req: Parameters<typeof tenantOf>[0]) {
    const tenant = await tenantOf(req, store);
    const session = await listen.getSession(tenant.id, parsePathId(listenSessionIdSchema, req.params.id, 'listen session'));
    if (!session) throw notFound(`listen session ${req.params.id}`);
    return { tenant, session };
  }

  router.post('/listen-sessions', async (req, res) => {
    const input = parseWith(createListenSessionSchema, req.body === undefined ? {} : req.body);
    const tenant = await tenantOf(req, store);
    if ((await listen.countSessions(tenant.id)) >= MAX_LISTEN_SESSIONS) {
      throw new ApiError(409, 'too_many_listen_sessions', `at most ${MAX_LISTEN_SESSIONS} listen sessions at once: stop another anvil-webhooks listen first`);
    }
    const id = newListenSessionId();
    const endpoint = await store.createEndpoint(tenant, {
      url: listenUrl(id),
      events: input.events ?? [...EVENT_TYPES],
      description: `anvil-webhooks listen${input.forward_to ? ` → ${input.forward_to}` : ''}`,
      filter: null,
      ...(input.secret ? { secret: input.secret } : {}),
    });
    const session = await listen.createSession({ id, tenant_id: tenant.id, endpoint_id: endpoint.id, forward_to: input.forward_to ?? null });
    res.setHeader('cache-control', 'no-store');
    res.status(201).json({
      id: session.id,
      endpoint_id: endpoint.id,
      secret: endpoint.secret,
      events: endpoint.events,
      forward_to: session.forward_to,
      expires_after_seconds: relay.timeoutMs / 1000,
      created_at: session.created_at.toISOString(),
    });
  });

  router.get('/listen-sessions/:id/stream', async (req, res) => {
    const { session } = await load(req);
    await relay.attach(session.id, res);
  });

  router.post('/listen-sessions/:id/answers', async (req, res) => {
    const input = parseWith(listenAnswerSchema, req.body);
    const { session } = await load(req);
    const stored = await listen.answerRequest(input.request_id, session.id, {
      status_code: input.status_code,
      duration_ms: input.duration_ms ?? null,
      error: input.error ?? null,
      response_excerpt: input.response_excerpt ? input.response_excerpt.slice(0, LISTEN_EXCERPT_MAX) : (input.response_excerpt ?? null),
    });
    if (!stored) throw notFound(`request ${input.request_id} (answered already, or its attempt timed out)`);
    res.status(204).end();
  });

  router.delete('/listen-sessions/:id', async (req, res) => {
    const { tenant, session } = await load(req);
    await relay.end(tenant.id, session.id, 'listen session ended');
    res.status(204).end();
  });

  return router;
}
