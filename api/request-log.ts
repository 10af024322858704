// The request log: every request gets an id (the caller's X-Request-Id when it is a sane token, else a
// UUID; echoed in the answer), everything logged while handling it carries that id (`reqId`), and one
// line is written when it ends: method, path (no query string), status and duration, never headers
// (Authorization) or bodies. Level by status: error for 5xx, warn for 4xx, info otherwise.
//
// Written here rather than with pino-http: it made a child logger (bindings serialized, redaction set
// up) for every request and ran serializers per line, ~3 % of the API's main thread under a publish
// burst; here the child is made only when something else logs during the request (infra/log.ts).
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { log, withRequestLogger, type Logger } from '../infra/log';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

// The request line names no secret field (its fields are fixed above), so it is written without the
// logger's redaction pass: with SECRET_FIELDS' 33 wildcard paths that pass was ~23 µs of a ~26 µs line.
const unredacted = new WeakMap<Logger, Logger>();
function lineLoggerOf(base: Logger): Logger {
  let lines = unredacted.get(base);
  if (!lines) unredacted.set(base, (lines = base.child({}, { redact: [] })));
  return lines;
}

export function requestLog(logger?: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const reqId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', reqId);
    const base = logger ?? log();
    const lines = lineLoggerOf(base);
    const started = performance.now();
    const method = req.method;
    const path = req.url.split('?', 1)[0];
    res.once('close', () => {
      const status = res.statusCode;
      const line = { reqId, req: { method, path }, res: { status }, responseTime: Math.round(performance.now() - started) };
      if (!res.writableFinished) lines.warn(line, 'request aborted');
      else if (status >= 500) lines.error(line, 'request completed');
      else if (status >= 400) lines.warn(line, 'request completed');
      else lines.info(line, 'request completed');
    });
    withRequestLogger(base, reqId, next);
  };
}
