// Deliveries to a `listen` endpoint travel over the CLI's own outbound connection instead of an inbound
// POST. The attempt runs here, in whichever worker runs the event's workflow; the CLI's stream is held by
// one API process, maybe another machine. The way there and back is PostgreSQL: the attempt stores the
// request and NOTIFYs the API processes (only if the session's CLI is connected), the holder streams it
// to the CLI, the CLI forwards it to the developer's local URL and posts the answer back (to any API
// process), which stores it and NOTIFYs this worker's own channel. The attempt is still one execution
// whose outcome is returned as data: a CLI that is gone fails it like an unreachable endpoint (at once,
// or after the time-out if its API process died unseen), and the schedule goes on.
import type { ChannelListener } from '../infra/pg-channels';
import { newReplyChannel, newRequestId, sessionOfListenUrl, type ListenStore } from '../infra/listen-store';
import { DEFAULT_TIMEOUT_MS, timedOutcome, type AttemptContext, type AttemptOutcome, type DeliveryClient } from './http-client';

/** Beyond the local request's own time-out: the trip through PostgreSQL, the API and the CLI. */
export const LISTEN_GRACE_MS = 5000;

export interface ListenTransportDeps {
  store: ListenStore;
  channels: ChannelListener;
  /** A session seen this recently (and held) counts as connected: the session time-out. */
  freshMs: number;
  timeoutMs?: number;
}

export function withListenTransport(http: DeliveryClient, deps: ListenTransportDeps): DeliveryClient {
  const timeoutMs = (deps.timeoutMs ?? DEFAULT_TIMEOUT_MS) + LISTEN_GRACE_MS;
  const replyChannel = newReplyChannel();
  const waiting = new Map<string, () => void>();
  let listening: Promise<void> | null = null;
  const ensureListening = () =>
    (listening ??= deps.channels.listen(replyChannel, (id) => waiting.get(id)?.()).catch((err: unknown) => {
      listening = null;
      throw err;
    }));

  async function postOverListen(sessionId: string, body: string, headers: Record<string, string>, context: AttemptContext | undefined): Promise<AttemptOutcome> {
    const outcome = timedOutcome();
    // Infrastructure errors up to the send throw: nothing was sent, and the attempt is made again.
    await ensureListening();
    const id = newRequestId();
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => {
      waiting.set(id, resolve);
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      const sent = await deps.store.sendRequest(
        {
          id,
          session_id: sessionId,
          delivery: {
            delivery_id: context ? `${context.eventId}:${context.targetId}` : '',
            event_id: context?.eventId ?? '',
            endpoint_id: context?.targetId ?? '',
            attempt: context?.attempt ?? 0,
          },
          headers,
          body,
        },
        replyChannel,
        deps.freshMs,
      );
      if (!sent) return outcome({ error: 'connection refused: no anvil-webhooks listen CLI is connected for this endpoint' });
      await answered;
      const answer = await deps.store.takeAnswer(id).catch(() => null);
      if (!answer?.answered) return outcome({ error: `timed out after ${timeoutMs} ms: the anvil-webhooks listen CLI did not answer` });
      const code = answer.status_code;
      if (code === null) return outcome({ error: answer.error ?? 'the listen CLI could not reach its local URL', responseExcerpt: answer.response_excerpt });
      const ok = code >= 200 && code < 300;
      return outcome({
        statusCode: code,
        ok,
        responseExcerpt: answer.response_excerpt,
        error: ok ? null : code >= 300 && code < 400 ? `redirect not followed (HTTP ${code})` : `HTTP ${code}`,
      });
    } finally {
      clearTimeout(timer);
      waiting.delete(id);
    }
  }

  return {
    post(url, body, headers, context) {
      const sessionId = sessionOfListenUrl(url);
      return sessionId ? postOverListen(sessionId, body, headers, context) : http.post(url, body, headers, context);
    },
    close: () => http.close(),
  };
}
