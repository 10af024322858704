// Receiving deliveries in a web server: the raw body is captured (a signature covers the exact bytes, so
// it must be read before any JSON parser), verified, then parsed. Express middleware, and a request
// listener for a plain node:http server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verify, type VerifyOptions } from './verify.js';

/** Bodies larger than this are refused (413) before they are verified. */
export const DEFAULT_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

export interface ReceiverOptions extends VerifyOptions {
  /** The endpoint's signing secret (`whsec_…`), or both secrets while you rotate. */
  secret: string | readonly string[];
  /** Largest body accepted, in bytes. Default 5 MiB. */
  limitBytes?: number;
}

class BodyTooLargeError extends Error {}

/** The request's body, exactly as received. */
export function readRawBody(req: IncomingMessage, limitBytes = DEFAULT_BODY_LIMIT_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`body larger than ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ error: message }));
}

type RequestWithBody = IncomingMessage & { body?: unknown; rawBody?: unknown };

/** The raw body, whoever read it: a parser that kept it (`rawBody`, `express.raw()`), or the stream itself. */
async function rawBodyOf(req: RequestWithBody, limitBytes: number): Promise<Buffer | string | null> {
  if (Buffer.isBuffer(req.rawBody) || typeof req.rawBody === 'string') return req.rawBody;
  if (Buffer.isBuffer(req.body) || typeof req.body === 'string') return req.body;
  if (req.readableEnded || req.body !== undefined) return null; // parsed by someone else: the bytes are gone
  return readRawBody(req, limitBytes);
}

/**
 * For `express.json({ verify: keepRawBody })`: keeps the bytes beside the parsed body, for apps that parse
 * JSON for every route before this package's middleware runs.
 */
export function keepRawBody(req: IncomingMessage, _res: ServerResponse, buf: Buffer): void {
  (req as RequestWithBody).rawBody = buf;
}

/**
 * Express middleware: answers 400 to a delivery whose signature does not verify; otherwise sets
 * `req.body` to the parsed event (an Events API envelope, or a classic `{action, token, data}`) and calls
 * the next handler.
 */
export function anvilExpress(options: ReceiverOptions) {
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    const r = req as RequestWithBody;
    rawBodyOf(r, limit).then(
      (raw) => {
        if (raw === null) {
          next(new Error('anvil-webhooks: the body was parsed before the signature was checked; mount anvilExpress() before express.json(), or use express.json({ verify: keepRawBody })'));
          return;
        }
        if (!verify(raw, req.headers, options.secret, options)) return answer(res, 400, 'invalid signature');
        try {
          r.body = JSON.parse(raw.toString());
        } catch {
          return answer(res, 400, 'body is not JSON');
        }
        next();
      },
      (err: unknown) => (err instanceof BodyTooLargeError ? answer(res, 413, err.message) : next(err)),
    );
  };
}

/**
 * A node:http request listener: verifies each request, then calls `handle` with the parsed event. What
 * `handle` does not answer itself is answered 204 once it resolves, 500 if it throws (so Anvil retries).
 */
export function anvilNodeHandler<E = Record<string, unknown>>(
  options: ReceiverOptions,
  handle: (event: E, req: IncomingMessage, res: ServerResponse) => unknown,
) {
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST') return answer(res, 405, 'deliveries are POSTed');
    readRawBody(req, limit)
      .then(async (raw) => {
        if (!verify(raw, req.headers, options.secret, options)) return answer(res, 400, 'invalid signature');
        let event: E;
        try {
          event = JSON.parse(raw.toString()) as E;
        } catch {
          return answer(res, 400, 'body is not JSON');
        }
        await handle(event, req, res);
        if (!res.headersSent) {
          res.statusCode = 204;
          res.end();
        }
      })
      .catch((err: unknown) => answer(res, err instanceof BodyTooLargeError ? 413 : 500, err instanceof BodyTooLargeError ? err.message : 'handler failed'));
  };
}
