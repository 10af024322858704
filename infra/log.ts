// Structured logs: one JSON object per line (pino), with a level, a time and, for everything logged while
// handling an HTTP request, that request's id (`reqId`). Code anywhere calls `log()`: inside a request it
// gets the request's logger, elsewhere the process logger. Secrets are never logged: the paths below are
// censored wherever they appear, and request lines carry method, path and status, never headers or bodies.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Field names whose values are secrets, censored at any depth we log objects at. */
export const SECRET_FIELDS = ['authorization', 'api_key', 'apiKey', 'secret', 'secrets', 'previous_secret', 'token', 'private_key', 'privateKey', 'password', 'key'];

/** How long a buffered log line may wait before it is written. */
export const LOG_FLUSH_MS = 200;

/**
 * Standard output, buffered: lines are written 4 KiB at a time, or LOG_FLUSH_MS after the first one
 * waiting, and on exit. One write(2) per line was ~2 % of the API's CPU under load; a SIGKILL loses at
 * most the last LOG_FLUSH_MS of lines.
 */
function bufferedStdout(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: true });
  let buffered = '';
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buffered === '') return;
    const chunk = buffered;
    buffered = '';
    dest.write(chunk);
  };
  process.on('exit', flush);
  return {
    write(line: string) {
      buffered += line;
      if (buffered.length >= 4096) flush();
      else if (!timer) {
        timer = setTimeout(flush, LOG_FLUSH_MS);
        timer.unref();
      }
    },
  };
}

export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.name ?? 'anvil-webhooks', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [...SECRET_FIELDS, ...SECRET_FIELDS.map((f) => `*.${f}`), ...SECRET_FIELDS.map((f) => `*.*.${f}`)],
        censor: '[redacted]',
      },
    },
    opts.destination ?? bufferedStdout(),
  );
}

let processLogger: Logger = createLogger({ level: 'info' });

/** A request's logging scope: its id, and the child logger made the first time something logs in it. */
interface RequestScope {
  reqId: string;
  base: Logger;
  child?: Logger;
}
const requestScope = new AsyncLocalStorage<RequestScope>();

/** Replaces the process logger (entry points call this once with the configured level and name). */
export function setProcessLogger(logger: Logger): void {
  processLogger = logger;
}

/** The logger for the current context: the request's (with its reqId) inside a request, else the process's. */
export function log(): Logger {
  const scope = requestScope.getStore();
  if (!scope) return processLogger;
  // Made on first use: most requests log nothing but their request line, and a pino child per
  // request (bindings serialized, redaction set up) was most of what request logging cost.
  return (scope.child ??= scope.base.child({ reqId: scope.reqId }));
}

/** Runs `fn` (the rest of a request's handling) with a logger carrying `reqId` as what `log()` returns. */
export function withRequestLogger<T>(base: Logger, reqId: string, fn: () => T): T {
  return requestScope.run({ reqId, base }, fn);
}
