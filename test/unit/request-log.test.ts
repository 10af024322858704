// The request log, on a real Express app and a real HTTP socket: one line per request with its id,
// method, path (no query), status and level; what a handler logs carries the same id; a caller's sane
// X-Request-Id is kept and echoed, an unsafe one replaced; a request the client abandons is logged as such.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLogger, log } from '../../infra/log';
import { requestLog } from '../../api/request-log';

interface Line {
  level: string;
  msg: string;
  reqId?: string;
  req?: { method: string; path: string };
  res?: { status: number };
  responseTime?: number;
  step?: string;
  service?: string;
  headers?: Record<string, unknown>;
  endpoint?: Record<string, unknown>;
}

async function withApp(fn: (url: string, lines: Line[]) => Promise<void>) {
  const lines: Line[] = [];
  const logger = createLogger({ name: 'test', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Line) } });
  const app = express();
  app.use(requestLog(logger));
  app.get('/ok', (_req, res) => {
    log().info({ step: 'inside' }, 'handling');
    setTimeout(() => {
      log().info({ step: 'later' }, 'still handling');
      res.json({ ok: true });
    }, 5);
  });
  app.get('/secrets', (_req, res) => {
    log().warn({ headers: { authorization: 'Bearer sk_live_abc' }, endpoint: { id: 'ep_1', secret: 'whsec_xyz' } }, 'logged with secrets');
    res.json({ ok: true });
  });
  app.get('/missing', (_req, res) => void res.status(404).json({ error: 'not_found' }));
  app.get('/broken', (_req, res) => void res.status(503).json({ error: 'down' }));
  app.get('/slow', () => {}); // never answers: the client gives up
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const settle = () => new Promise((r) => setTimeout(r, 50));

void test('one line per request; what the handler logs carries the request id, across async steps', async () => {
  await withApp(async (url, lines) => {
    const answer = await fetch(`${url}/ok?secret=hunter2`, { headers: { 'x-request-id': 'trace-abc-123' } });
    assert.equal(answer.headers.get('x-request-id'), 'trace-abc-123');
    await settle();
    const mine = lines.filter((l) => l.reqId === 'trace-abc-123');
    assert.deepEqual(
      mine.map((l) => [l.msg, l.step ?? null]),
      [['handling', 'inside'], ['still handling', 'later'], ['request completed', null]],
    );
    const line = mine.at(-1)!;
    assert.deepEqual([line.level, line.req, line.res], ['info', { method: 'GET', path: '/ok' }, { status: 200 }]);
    assert.ok(typeof line.responseTime === 'number' && line.responseTime >= 5, `responseTime ${line.responseTime}`);
    assert.equal(JSON.stringify(lines).includes('hunter2'), false, 'the query string is not logged');
  });
});

void test('levels by status; an unsafe X-Request-Id is replaced by a UUID', async () => {
  await withApp(async (url, lines) => {
    const missing = await fetch(`${url}/missing`, { headers: { 'x-request-id': 'bad id with spaces\u00e9' } });
    const id = missing.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await fetch(`${url}/broken`);
    await settle();
    const byPath = Object.fromEntries(lines.map((l) => [l.req?.path, l]));
    assert.deepEqual([byPath['/missing']?.level, byPath['/missing']?.reqId, byPath['/missing']?.res], ['warn', id, { status: 404 }]);
    assert.deepEqual([byPath['/broken']?.level, byPath['/broken']?.res], ['error', { status: 503 }]);
  });
});

void test('a request the client abandons is logged once, as aborted', async () => {
  await withApp(async (url, lines) => {
    await assert.rejects(fetch(`${url}/slow`, { signal: AbortSignal.timeout(100) }));
    await settle();
    const slow = lines.filter((l) => l.req?.path === '/slow');
    assert.deepEqual(slow.map((l) => [l.level, l.msg]), [['warn', 'request aborted']]);
  });
});

void test("what a handler logs is redacted by field name; the request line keeps the logger's bindings", async () => {
  await withApp(async (url, lines) => {
    await fetch(`${url}/secrets`);
    await settle();
    const [logged, line] = lines.filter((l) => l.req?.path === '/secrets' || l.msg === 'logged with secrets');
    assert.deepEqual([logged?.msg, logged?.headers, logged?.endpoint], ['logged with secrets', { authorization: '[redacted]' }, { id: 'ep_1', secret: '[redacted]' }]);
    assert.equal(JSON.stringify(lines).includes('sk_live_abc') || JSON.stringify(lines).includes('whsec_xyz'), false);
    assert.deepEqual([line?.msg, line?.service, line?.reqId], ['request completed', 'test', logged?.reqId]);
  });
});
