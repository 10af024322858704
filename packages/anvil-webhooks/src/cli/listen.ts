// `anvil-webhooks listen --forward-to <url>`: a temporary endpoint whose deliveries come over this
// process's own outbound connection (a server-sent-event stream), are POSTed to the local URL with their
// real headers and signature, and whose local answers go back as the attempts' outcomes. The stream is
// reopened when it breaks; the session is removed on exit (or by the service once the CLI has been gone
// for its time-out).
import { apiCall, ApiCallError, causeOf } from './api.js';
import { readEvents } from './sse.js';
import { readSaved, writeSaved, type Settings } from './settings.js';

/** The local handler gets as long as Anvil gives a real endpoint. */
const LOCAL_TIMEOUT_MS = 10_000;
const MAX_EXCERPT = 2048;
const RECONNECT_MS = 1000;

interface Session {
  id: string;
  endpoint_id: string;
  secret: string;
  events: string[];
  expires_after_seconds: number;
}

interface Delivery {
  request_id: string;
  event_id: string;
  endpoint_id: string;
  attempt: number;
  headers: Record<string, string>;
  body: string;
}

export interface ListenOptions {
  forwardTo: string;
  events?: string[];
  /** Prints a line (stdout). */
  out?: (line: string) => void;
  /** Resolves when the CLI should stop (Ctrl-C). */
  stop: Promise<unknown>;
}

async function forward(url: string, d: Delivery): Promise<{ status_code: number | null; duration_ms: number; error: string | null; response_excerpt: string | null }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body, redirect: 'manual', signal: AbortSignal.timeout(LOCAL_TIMEOUT_MS) });
    const text = await res.text().catch(() => '');
    return { status_code: res.status, duration_ms: Math.round(performance.now() - started), error: null, response_excerpt: text.slice(0, MAX_EXCERPT) || null };
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError';
    return {
      status_code: null,
      duration_ms: Math.round(performance.now() - started),
      error: timedOut ? `timed out after ${LOCAL_TIMEOUT_MS} ms at ${url}` : `${url}: ${causeOf(err)}`,
      response_excerpt: null,
    };
  }
}

function typeOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { type?: unknown };
    return typeof parsed.type === 'string' ? parsed.type : '?';
  } catch {
    return '?';
  }
}

const clock = () => new Date().toISOString().slice(11, 19);

export async function listen(settings: Settings, options: ListenOptions): Promise<number> {
  const out = options.out ?? ((line: string) => console.log(line));
  let url: URL;
  try {
    url = new URL(options.forwardTo);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new Error(`--forward-to must be an http(s) URL, such as http://localhost:4000/webhooks (got ${options.forwardTo})`);
  }
  const saved = readSaved();
  const keptSecret = saved.listen_secrets?.[settings.apiUrl];
  const session = await apiCall<Session>(settings, 'POST', '/v1/listen-sessions', {
    forward_to: url.toString(),
    ...(options.events ? { events: options.events } : {}),
    ...(keptSecret ? { secret: keptSecret } : {}),
  });
  if (session.secret !== keptSecret) {
    try {
      writeSaved({ ...saved, listen_secrets: { ...saved.listen_secrets, [settings.apiUrl]: session.secret } });
    } catch {
      // a read-only home: the secret is new each session, and printed below anyway
    }
  }
  out(`Ready! Forwarding ${session.events.join(', ')} to ${url} (endpoint ${session.endpoint_id})`);
  out(`Your webhook signing secret is ${session.secret}`);

  let stopping = false;
  let stream: AbortController | null = null;
  const stopped = options.stop.then(() => {
    stopping = true;
    stream?.abort();
  });
  const inFlight = new Set<Promise<void>>();
  const handle = (d: Delivery) => {
    const job = (async () => {
      const answer = await forward(url.toString(), d);
      const result = answer.status_code === null ? `[ERR] ${answer.error}` : `[${answer.status_code}]`;
      out(`${clock()}  --> ${typeOf(d.body)} ${d.event_id} (attempt ${d.attempt})  <-- ${result} POST ${url} ${answer.duration_ms} ms`);
      await apiCall(settings, 'POST', `/v1/listen-sessions/${session.id}/answers`, { request_id: d.request_id, ...answer }).catch((err: unknown) =>
        out(`${clock()}  could not report the answer to ${d.event_id}: ${(err as Error).message}`),
      );
    })();
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
  };

  let code = 0;
  while (!stopping) {
    stream = new AbortController();
    try {
      const res = await fetch(`${settings.apiUrl}/v1/listen-sessions/${session.id}/stream`, {
        headers: { authorization: `Bearer ${settings.apiKey}`, accept: 'text/event-stream' },
        signal: stream.signal,
      });
      if (res.status === 404) {
        out('The listen session expired (this CLI was unreachable for too long): run anvil-webhooks listen again.');
        code = 1;
        break;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      for await (const message of readEvents(res.body)) {
        if (message.event === 'delivery') handle(JSON.parse(message.data) as Delivery);
        else if (message.event === 'ended') {
          out(`The listen session ended: ${(JSON.parse(message.data) as { reason?: string }).reason ?? ''}`);
          stopping = true;
        }
      }
    } catch (err) {
      if (stopping) break;
      out(`${clock()}  connection lost (${causeOf(err)}); reconnecting…`);
    }
    if (!stopping) await Promise.race([new Promise((r) => setTimeout(r, RECONNECT_MS)), stopped]);
  }
  await Promise.allSettled([...inFlight]);
  await apiCall(settings, 'DELETE', `/v1/listen-sessions/${session.id}`).catch((err: unknown) => {
    if (!(err instanceof ApiCallError && err.status === 404)) out(`could not remove the temporary endpoint: ${(err as Error).message}`);
  });
  return code;
}
