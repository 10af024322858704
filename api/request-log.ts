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

export function requestLog(logger?: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const reqId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', reqId);
    const base = logger ?? log();
    const started = performance.now();
    const method = req.method;
    const path = req.url.split('?', 1)[0];
    res.once('close', () => {
      const status = res.statusCode;
      const line = { reqId, req: { method, path }, res: { status }, responseTime: Math.round(performance.now() - started) };
      if (!res.writableFinished) base.warn(line, 'request aborted');
      else if (status >= 500) base.error(line, 'request completed');
      else if (status >= 400) base.warn(line, 'request completed');
      else base.info(line, 'request completed');
    });
    withRequestLogger(base, reqId, next);
  };
}
