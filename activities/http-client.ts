// The one HTTP client the worker uses for every webhook delivery attempt: a POST of an
// already-serialized JSON body to a customer-supplied URL.
//
// Outcomes, not exceptions: whatever the remote side does (non-2xx, redirect, reset, hang,
// DNS failure, huge body) `post()` resolves with an `AttemptOutcome` that the caller records
// in the delivery log. It only rejects in two cases where *no attempt was made*:
//
// * `EndpointBusyError` — the origin already has `maxInFlightPerOrigin` requests in flight and no
//   slot came free within `slotWaitMs` (or `maxQueuedPerOrigin` others already wait for one).
//   Per-origin concurrency is bounded so one slow customer endpoint cannot tie up every
//   worker slot and connection and starve deliveries to everybody else. A short, bounded wait
//   in line absorbs bursts to a healthy endpoint (its slots free up within milliseconds);
//   past it we refuse rather than queue longer, so the caller can wait on a durable timer
//   without holding a worker slot, and without consuming one of the delivery's attempts.
// * the client has been closed.
//
// SSRF protection (unless `allowInsecureTargets`): only https: is accepted, and every
// address the target resolves to is checked against private, loopback, link-local, CGNAT,
// unique-local, multicast/reserved and cloud-metadata ranges. The check happens inside the
// socket's own `lookup` hook and the socket then connects to exactly the addresses that were
// checked (pinning). Resolving once to check and letting the connection resolve again would
// be open to DNS rebinding: an attacker-controlled name can answer a public address to the
// check and 169.254.169.254 to the connect a millisecond later. Literal-IP hosts never go
// through `lookup`, so they are checked before the request is dispatched.

import dns from 'node:dns';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { Agent, request } from 'undici';
import { isForbiddenAddress, isForbiddenHost } from '../domain/addresses';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_IN_FLIGHT_PER_ORIGIN = 10;
/** How long a request may wait in line for one of its origin's slots before it is refused as busy. */
export const DEFAULT_SLOT_WAIT_MS = 1000;
/** How many requests may wait in line per origin; more are refused as busy at once. */
export const DEFAULT_MAX_QUEUED_PER_ORIGIN = 100;
export const DEFAULT_RESPONSE_EXCERPT_BYTES = 2048;
/** How long an idle keep-alive connection is kept for the next delivery to the same origin. */
export const KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** Upper bound for a server-advertised keep-alive time-out. */
export const KEEP_ALIVE_MAX_TIMEOUT_MS = 60_000;
/**
 * After the excerpt has been read, up to this many body bytes in total are drained in the
 * background so the connection can be reused; a larger body gets its connection destroyed.
 */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

export interface DeliveryClientOptions {
  /** Allow http: and private/loopback destinations (local development and tests only). */
  allowInsecureTargets: boolean;
  /** Bound on the whole attempt: connect, headers and excerpt of the body. */
  timeoutMs?: number;
  /** Concurrent requests (and connections) per origin; more wait in line, briefly, or are refused. */
  maxInFlightPerOrigin?: number;
  /** How long a request waits for a slot of its origin before EndpointBusyError (0: refuse at once). */
  slotWaitMs?: number;
  /** Requests waiting in line per origin beyond which EndpointBusyError comes at once. */
  maxQueuedPerOrigin?: number;
  /** How many bytes of the response body are kept in the outcome. */
  responseExcerptBytes?: number;
}

export interface AttemptOutcome {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  /** True only for a 2xx response. */
  ok: boolean;
}

/** Which delivery an attempt is (for transports that show it, such as `listen`). */
export interface AttemptContext {
  eventId: string;
  targetId: string;
  attempt: number;
}

/** Builds an attempt's outcome (a failure unless told otherwise), timed from the moment this is called. */
export function timedOutcome(): (fields: Partial<AttemptOutcome>) => AttemptOutcome {
  const started = performance.now();
  return (fields) => ({
    statusCode: null,
    error: null,
    responseExcerpt: null,
    ok: false,
    ...fields,
    durationMs: Math.round(performance.now() - started),
  });
}

export interface DeliveryClient {
  post(url: string, body: string, headers: Record<string, string>, context?: AttemptContext): Promise<AttemptOutcome>;
  close(): Promise<void>;
}

/** Thrown (as a rejection) when an origin is at its in-flight limit. Nothing was sent. */
export class EndpointBusyError extends Error {
  override readonly name = 'EndpointBusyError';
  constructor(
    readonly origin: string,
    readonly inFlight: number,
  ) {
    super(`endpoint busy: ${origin} already has ${inFlight} deliveries in flight`);
  }
}

/** A destination refused by the SSRF guard. Surfaces from the lookup hook as the request error. */
export class DestinationRefusedError extends Error {
  override readonly name = 'DestinationRefusedError';
  readonly code = 'ERR_DESTINATION_REFUSED';
  constructor(readonly address: string) {
    super(`destination refused: ${address} is a private/loopback/link-local address`);
  }
}

// ---------------------------------------------------------------------------------------------
// Pinned, guarded DNS lookup
// ---------------------------------------------------------------------------------------------

/** The shape of dns.lookup as far as the guard uses it (injectable for tests). */
export type BaseLookup = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const systemLookup: BaseLookup = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * A `net.connect` lookup hook that resolves once, refuses the whole host if ANY resolved
 * address is forbidden (a mixed answer is a rebinding attempt as far as we are concerned), and
 * otherwise hands the socket exactly the addresses it checked, so no second resolution happens.
 */
export function createGuardedLookup(base: BaseLookup = systemLookup): net.LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
      if (err) {
        callback(err, options.all ? [] : '');
        return;
      }
      const refused = addresses.find((entry) => isForbiddenAddress(entry.address));
      if (refused) {
        callback(new DestinationRefusedError(refused.address), options.all ? [] : '');
        return;
      }
      const first = addresses[0];
      if (!first) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, options.all ? [] : '');
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

class AttemptTimeoutError extends Error {
  override readonly name = 'AttemptTimeoutError';
}

const READABLE_ERROR_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection reset by peer',
  UND_ERR_SOCKET: 'connection closed by remote',
  ENOTFOUND: 'DNS lookup failed',
  EAI_AGAIN: 'DNS lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'request body length mismatch',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match host',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate could not be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate could not be verified',
};

const TIMEOUT_ERROR_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Walks `cause` / AggregateError chains (autoSelectFamily wraps per-address errors). */
function errorChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && chain.length < 10) {
    const current = queue.shift();
    if (current === undefined || current === null || chain.includes(current)) continue;
    chain.push(current);
    if (typeof current === 'object') {
      const { cause, errors } = current as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
    }
  }
  return chain;
}

function describeError(err: unknown, timedOut: boolean, timeoutMs: number): string {
  const chain = errorChain(err);
  const refused = chain.find((e): e is DestinationRefusedError => e instanceof DestinationRefusedError);
  if (refused) return refused.message;
  const codes = chain
    .map((e) => (typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined))
    .filter((code): code is string => typeof code === 'string');
  if (timedOut || chain.some((e) => e instanceof AttemptTimeoutError) || codes.some((c) => TIMEOUT_ERROR_CODES.has(c))) {
    return `timed out after ${timeoutMs} ms`;
  }
  const invalid = chain.find((e) => (e as { code?: unknown } | null)?.code === 'UND_ERR_INVALID_ARG');
  if (invalid instanceof Error) return `invalid request: ${invalid.message}`.slice(0, 300);
  for (const code of codes) {
    const text = READABLE_ERROR_CODES[code];
    if (text) return `${text} (${code})`;
  }
  const first = chain[0];
  const message = first instanceof Error ? first.message : String(first);
  const code = codes[0];
  return `request failed: ${message || 'unknown error'}${code ? ` (${code})` : ''}`.slice(0, 300);
}

type ResponseBody = Awaited<ReturnType<typeof request>>['body'];

/**
 * Reads at most `maxBytes` of the body without consuming the rest. Resolves with the bytes and
 * whether the body ended; rejects if the stream errors (e.g. aborted by the attempt time-out).
 */
function readExcerpt(body: ResponseBody, maxBytes: number): Promise<{ bytes: Buffer; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      const take = Math.min(chunk.length, maxBytes - size);
      if (take > 0) {
        chunks.push(take < chunk.length ? chunk.subarray(0, take) : chunk);
        size += take;
      }
      if (size >= maxBytes) {
        body.pause();
        cleanup();
        resolve({ bytes: Buffer.concat(chunks), ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ bytes: Buffer.concat(chunks), ended: true });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('response body closed prematurely'));
    };
    body.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    if (maxBytes <= 0) onData(Buffer.alloc(0));
  });
}

function decodeExcerpt(bytes: Buffer): string {
  // StringDecoder.write holds back an incomplete trailing UTF-8 sequence instead of emitting U+FFFD.
  return new StringDecoder('utf8').write(bytes);
}

export function createDeliveryClient(options: DeliveryClientOptions): DeliveryClient {
  const allowInsecure = options.allowInsecureTargets;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxInFlight = options.maxInFlightPerOrigin ?? DEFAULT_MAX_IN_FLIGHT_PER_ORIGIN;
  const excerptBytes = options.responseExcerptBytes ?? DEFAULT_RESPONSE_EXCERPT_BYTES;
  const slotWaitMs = options.slotWaitMs ?? DEFAULT_SLOT_WAIT_MS;
  const maxQueued = options.maxQueuedPerOrigin ?? DEFAULT_MAX_QUEUED_PER_ORIGIN;
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError('maxInFlightPerOrigin must be an integer >= 1');
  if (!Number.isInteger(excerptBytes) || excerptBytes < 0) throw new RangeError('responseExcerptBytes must be an integer >= 0');

  const agent = new Agent({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MAX_TIMEOUT_MS,
    connections: maxInFlight,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: allowInsecure ? { timeout: timeoutMs } : { timeout: timeoutMs, lookup: createGuardedLookup() },
  });

  const inFlight = new Map<string, number>();
  /** Per origin, the requests waiting for a slot, first come first served: each is handed a freed slot. */
  const waiting = new Map<string, (() => void)[]>();
  let closed = false;

  /** Takes a slot of `origin`, waiting in line up to slotWaitMs; throws EndpointBusyError otherwise. */
  async function acquire(origin: string): Promise<void> {
    const current = inFlight.get(origin) ?? 0;
    if (current < maxInFlight) {
      inFlight.set(origin, current + 1);
      return;
    }
    const line = waiting.get(origin) ?? [];
    if (slotWaitMs <= 0 || line.length >= maxQueued) throw new EndpointBusyError(origin, current);
    waiting.set(origin, line);
    await new Promise<void>((resolve, reject) => {
      const handOver = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = line.indexOf(handOver);
        if (i !== -1) line.splice(i, 1);
        if (line.length === 0 && waiting.get(origin) === line) waiting.delete(origin);
        reject(new EndpointBusyError(origin, inFlight.get(origin) ?? 0));
      }, slotWaitMs);
      line.push(handOver);
    });
  }

  /** Gives the slot to the next in line, or frees it. */
  function release(origin: string): void {
    const line = waiting.get(origin);
    const next = line?.shift();
    if (line && line.length === 0) waiting.delete(origin);
    if (next) {
      next(); // the slot passes on: inFlight stays as it is
      return;
    }
    const remaining = (inFlight.get(origin) ?? 1) - 1;
    if (remaining > 0) inFlight.set(origin, remaining);
    else inFlight.delete(origin);
  }

  async function post(url: string, body: string, headers: Record<string, string>): Promise<AttemptOutcome> {
    let outcome = timedOutcome();

    if (closed) throw new Error('delivery client is closed');

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return outcome({ error: 'invalid URL' });
    }
    if (!allowInsecure) {
      if (target.protocol !== 'https:') return outcome({ error: 'insecure URL refused: https required' });
      // Literal IPs bypass the lookup hook, so they (and local-only names) are checked here, before
      // any connection, by the same rule that validated the URL when it was saved.
      if (isForbiddenHost(target.hostname)) {
        return outcome({ error: new DestinationRefusedError(target.hostname.replace(/^\[(.*)\]$/, '$1')).message });
      }
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      return outcome({ error: `unsupported URL scheme ${target.protocol}` });
    }

    // A slot is taken synchronously when one is free (no await above), so concurrent calls cannot
    // overshoot; the attempt's duration and time-out start once it has one.
    const origin = target.origin;
    await acquire(origin);
    outcome = timedOutcome();

    const classify = (statusCode: number, location: string | string[] | undefined, responseExcerpt: string) => {
      if (statusCode >= 200 && statusCode < 300) {
        return outcome({ statusCode, responseExcerpt, ok: true });
      }
      if (statusCode >= 300 && statusCode < 400) {
        const to = Array.isArray(location) ? location[0] : location;
        return outcome({
          statusCode,
          responseExcerpt,
          error: `redirect not followed (HTTP ${statusCode}${to ? ` to ${to}` : ''})`,
        });
      }
      return outcome({ statusCode, responseExcerpt, error: `HTTP ${statusCode}` });
    };

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new AttemptTimeoutError(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      const response = await request(target, {
        dispatcher: agent,
        method: 'POST',
        body,
        headers,
        signal: controller.signal,
      });
      const statusCode = response.statusCode;
      let excerpt: { bytes: Buffer; ended: boolean };
      try {
        excerpt = await readExcerpt(response.body, excerptBytes);
      } catch (err) {
        response.body.destroy();
        return outcome({ statusCode, error: describeError(err, timedOut, timeoutMs) });
      }
      if (excerpt.ended) {
        // With pipelining 1 undici waits one event-loop turn (setImmediate) before it hands a
        // finished keep-alive socket back to the pool; a delivery issued to the same origin
        // right after we return would otherwise open a second connection. durationMs is fixed
        // first, so this wait is not counted.
        const result = classify(statusCode, response.headers.location, decodeExcerpt(excerpt.bytes));
        await new Promise<void>((resolve) => setImmediate(resolve));
        return result;
      }
      // Drain a modest remainder in the background so the keep-alive connection survives;
      // bigger bodies get their connection destroyed. Bounded by the agent's bodyTimeout.
      response.body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(() => undefined);
      return classify(statusCode, response.headers.location, decodeExcerpt(excerpt.bytes));
    } catch (err) {
      return outcome({ error: describeError(err, timedOut, timeoutMs) });
    } finally {
      clearTimeout(timer);
      release(origin);
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await agent.close();
  }

  return { post, close };
}
