// Delivery HTTP client against loopback servers started by the tests themselves. The SSRF
// refusals are exercised only where the refusal happens before any connection is attempted,
// plus the pure isForbiddenAddress / guarded-lookup functions (no traffic at all).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  createDeliveryClient,
  createGuardedLookup,
  DEFAULT_RESPONSE_EXCERPT_BYTES,
  EndpointBusyError,
  type BaseLookup,
  type DeliveryClient,
} from '../../activities/http-client';
import { isForbiddenAddress } from '../../domain/addresses';

interface TestServer {
  url: string;
  port: number;
  requests: number;
  connections: number;
  close(): Promise<void>;
}

async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  const state = { requests: 0, connections: 0 };
  server.on('request', () => state.requests++);
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw TCP server that only counts connections (never answers). */
async function startCountingTcpServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function withClient(
  options: Parameters<typeof createDeliveryClient>[0],
  fn: (client: DeliveryClient) => Promise<void>,
): Promise<void> {
  const client = createDeliveryClient(options);
  try {
    await fn(client);
  } finally {
    await client.close();
  }
}

const insecure = { allowInsecureTargets: true } as const;

void test('body bytes and headers arrive exactly as given', async () => {
  let received: { body: Buffer; rawHeaders: string[]; method: string | undefined } | undefined;
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received = { body: Buffer.concat(chunks), rawHeaders: req.rawHeaders, method: req.method };
      res.end('ok');
    });
  });
  try {
    const body = JSON.stringify({ event: 'document.signed', name: 'Zoë ✓ 日本', n: [1, 2.5, null] });
    const headers = {
      'Content-Type': 'application/json',
      'X-Anvil-Signature': 'v1=abc123==',
      'X-Webhook-Id': '01HZX',
    };
    await withClient(insecure, async (client) => {
      const outcome = await client.post(server.url, body, headers);
      assert.equal(outcome.ok, true);
    });
    assert.ok(received);
    assert.equal(received.method, 'POST');
    assert.ok(received.body.equals(Buffer.from(body, 'utf8')), 'raw body bytes differ');
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < received.rawHeaders.length; i += 2) {
      pairs.push([received.rawHeaders[i] ?? '', received.rawHeaders[i + 1] ?? '']);
    }
    for (const [name, value] of Object.entries(headers)) {
      const match = pairs.filter(([n]) => n.toLowerCase() === name.toLowerCase());
      assert.deepEqual(match.map(([, v]) => v), [value], `header ${name}`);
    }
    const contentLength = pairs.find(([n]) => n.toLowerCase() === 'content-length');
    assert.equal(contentLength?.[1], String(Buffer.byteLength(body)));
  } finally {
    await server.close();
  }
});

void test('200 is ok with the body as excerpt', async () => {
  const server = await startServer((_req, res) => res.writeHead(200).end('thanks'));
  try {
    await withClient(insecure, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, true);
      assert.equal(outcome.statusCode, 200);
      assert.equal(outcome.error, null);
      assert.equal(outcome.responseExcerpt, 'thanks');
      assert.equal(typeof outcome.durationMs, 'number');
      assert.ok(Number.isInteger(outcome.durationMs) && outcome.durationMs >= 0);
    });
  } finally {
    await server.close();
  }
});

void test('503 gives HTTP 503 and the body excerpt', async () => {
  const server = await startServer((_req, res) => res.writeHead(503).end('maintenance'));
  try {
    await withClient(insecure, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, false);
      assert.equal(outcome.statusCode, 503);
      assert.equal(outcome.error, 'HTTP 503');
      assert.equal(outcome.responseExcerpt, 'maintenance');
    });
  } finally {
    await server.close();
  }
});

void test('a 5 KB response is cut to a 2048-byte excerpt', async () => {
  const server = await startServer((_req, res) => res.writeHead(200).end('x'.repeat(5 * 1024)));
  try {
    await withClient(insecure, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, true);
      assert.equal(DEFAULT_RESPONSE_EXCERPT_BYTES, 2048);
      assert.equal(Buffer.byteLength(outcome.responseExcerpt ?? ''), 2048);
      assert.equal(outcome.responseExcerpt, 'x'.repeat(2048));
    });
  } finally {
    await server.close();
  }
});

void test('a huge streamed response is not buffered and the attempt finishes', async () => {
  // 8 MB announced and streamed; the client reads 16 bytes then drops the connection.
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(8 * 1024 * 1024) });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < 128) {
        sent++;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  });
  try {
    await withClient({ ...insecure, responseExcerptBytes: 16, timeoutMs: 5000 }, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, true);
      assert.equal(outcome.responseExcerpt, 'a'.repeat(16));
    });
  } finally {
    await server.close();
  }
});

void test('302 is not followed', async () => {
  const server = await startServer((req, res) => {
    if (req.url === '/hook') res.writeHead(302, { location: '/elsewhere' }).end();
    else res.writeHead(200).end('followed!');
  });
  try {
    await withClient(insecure, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, false);
      assert.equal(outcome.statusCode, 302);
      assert.match(outcome.error ?? '', /redirect not followed \(HTTP 302 to \/elsewhere\)/);
    });
    assert.equal(server.requests, 1);
  } finally {
    await server.close();
  }
});

void test('a server that never answers times out after timeoutMs', async () => {
  const server = await startServer(() => {
    /* hang */
  });
  try {
    await withClient({ ...insecure, timeoutMs: 300 }, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, false);
      assert.equal(outcome.statusCode, null);
      assert.equal(outcome.error, 'timed out after 300 ms');
      assert.ok(outcome.durationMs >= 250 && outcome.durationMs <= 2000, `durationMs ${outcome.durationMs}`);
    });
  } finally {
    await server.close();
  }
});

void test('a server that sends headers then stalls the body times out', async () => {
  const server = await startServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    // ...and never ends.
  });
  try {
    await withClient({ ...insecure, timeoutMs: 300 }, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, false);
      assert.equal(outcome.statusCode, 200);
      assert.match(outcome.error ?? '', /timed out after 300 ms/);
      assert.ok(outcome.durationMs >= 250 && outcome.durationMs <= 2000, `durationMs ${outcome.durationMs}`);
    });
  } finally {
    await server.close();
  }
});

void test('a server that destroys the socket gives statusCode null and an error', async () => {
  const server = await startServer((req) => req.socket.destroy());
  try {
    await withClient(insecure, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, false);
      assert.equal(outcome.statusCode, null);
      assert.ok(outcome.error && outcome.error.length > 0);
      assert.match(outcome.error, /closed|reset/);
    });
    assert.equal(server.requests, 1, 'a POST must not be retried');
  } finally {
    await server.close();
  }
});

void test('connection refused gives statusCode null and a readable error', async () => {
  const probe = await startServer(() => undefined);
  const url = probe.url;
  await probe.close();
  await withClient(insecure, async (client) => {
    const outcome = await client.post(url, '{}', {});
    assert.equal(outcome.ok, false);
    assert.equal(outcome.statusCode, null);
    assert.equal(outcome.error, 'connection refused (ECONNREFUSED)');
  });
});

void test('keep-alive: sequential posts to one origin reuse a single connection', async () => {
  const server = await startServer((_req, res) => res.end('ok'));
  try {
    await withClient(insecure, async (client) => {
      const first = await client.post(server.url, '{"n":1}', {});
      const second = await client.post(server.url, '{"n":2}', {});
      assert.equal(first.ok, true);
      assert.equal(second.ok, true);
    });
    assert.equal(server.requests, 2);
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
});

void test('busy origin, no wait: the post over maxInFlightPerOrigin rejects with EndpointBusyError without sending', async () => {
  const slow = await startServer((_req, res) => {
    setTimeout(() => res.end('slow ok'), 300);
  });
  const other = await startServer((_req, res) => res.end('fast ok'));
  try {
    await withClient({ ...insecure, maxInFlightPerOrigin: 2, slotWaitMs: 0 }, async (client) => {
      const first = client.post(slow.url, '{}', {});
      const second = client.post(slow.url, '{}', {});
      await assert.rejects(client.post(slow.url, '{}', {}), (err: unknown) => {
        assert.ok(err instanceof EndpointBusyError);
        assert.equal(err.name, 'EndpointBusyError');
        return true;
      });
      // Another origin is not affected by the slow one.
      const fast = await client.post(other.url, '{}', {});
      assert.equal(fast.ok, true);

      const results = await Promise.all([first, second]);
      assert.deepEqual(results.map((r) => r.ok), [true, true]);
      assert.equal(slow.requests, 2);

      // Slots are released once the attempts finish.
      const again = await client.post(slow.url, '{}', {});
      assert.equal(again.ok, true);
      assert.equal(slow.requests, 3);
    });
  } finally {
    await slow.close();
    await other.close();
  }
});

void test('busy origin: requests over the cap wait in line for a slot, first come first served, or are refused after the wait', async () => {
  const order: string[] = [];
  const slow = await startServer((req, res) => {
    order.push(req.url ?? '');
    setTimeout(() => res.end('ok'), 200);
  });
  try {
    await withClient({ ...insecure, maxInFlightPerOrigin: 1, slotWaitMs: 1000 }, async (client) => {
      const started = performance.now();
      const results = await Promise.all(['/1', '/2', '/3'].map((p) => client.post(slow.url + p, '{}', {})));
      assert.deepEqual(results.map((r) => r.ok), [true, true, true]);
      assert.deepEqual(order.map((u) => u.slice(u.lastIndexOf('/'))), ['/1', '/2', '/3'], 'one at a time, in the order they came');
      assert.equal(slow.connections, 1, 'one connection, reused');
      assert.ok(performance.now() - started >= 550, 'they waited for each other');
      // Each attempt's duration counts from its own request, not its time in line.
      assert.ok(results.every((r) => r.durationMs < 400), JSON.stringify(results.map((r) => r.durationMs)));
    });
    await withClient({ ...insecure, maxInFlightPerOrigin: 1, slotWaitMs: 100 }, async (client) => {
      const first = client.post(slow.url, '{}', {});
      await assert.rejects(client.post(slow.url, '{}', {}), EndpointBusyError, 'no slot within 100 ms');
      assert.equal((await first).ok, true);
    });
    await withClient({ ...insecure, maxInFlightPerOrigin: 1, slotWaitMs: 1000, maxQueuedPerOrigin: 1 }, async (client) => {
      const first = client.post(slow.url, '{}', {});
      const second = client.post(slow.url, '{}', {});
      await assert.rejects(client.post(slow.url, '{}', {}), EndpointBusyError, 'the line is full');
      assert.deepEqual((await Promise.all([first, second])).map((r) => r.ok), [true, true]);
    });
  } finally {
    await slow.close();
  }
});

void test('secure mode refuses http: URLs without connecting', async () => {
  const server = await startServer((_req, res) => res.end('should not happen'));
  try {
    await withClient({ allowInsecureTargets: false }, async (client) => {
      const outcome = await client.post(server.url, '{}', {});
      assert.equal(outcome.ok, false);
      assert.equal(outcome.statusCode, null);
      assert.equal(outcome.error, 'insecure URL refused: https required');
    });
    assert.equal(server.requests, 0);
    assert.equal(server.connections, 0);
  } finally {
    await server.close();
  }
});

void test('secure mode refuses https to a loopback literal without connecting', async () => {
  const tcp = await startCountingTcpServer();
  try {
    await withClient({ allowInsecureTargets: false }, async (client) => {
      const v4 = await client.post(`https://127.0.0.1:${tcp.port}/hook`, '{}', {});
      assert.equal(v4.statusCode, null);
      assert.equal(v4.ok, false);
      assert.equal(v4.error, 'destination refused: 127.0.0.1 is a private/loopback/link-local address');
      const v6 = await client.post(`https://[::ffff:127.0.0.1]:${tcp.port}/hook`, '{}', {});
      assert.match(v6.error ?? '', /^destination refused: .* is a private\/loopback\/link-local address$/);
    });
    assert.equal(tcp.connections(), 0);
  } finally {
    await tcp.close();
  }
});

void test('secure mode refuses a local-only name (localhost) without resolving or connecting', async () => {
  // "localhost" is local by definition: the same rule that refuses it when a URL is saved refuses it
  // here before any lookup (names that resolve to forbidden addresses: the guarded-lookup tests).
  const tcp = await startCountingTcpServer();
  try {
    await withClient({ allowInsecureTargets: false }, async (client) => {
      const outcome = await client.post(`https://localhost:${tcp.port}/hook`, '{}', {});
      assert.equal(outcome.statusCode, null);
      assert.equal(outcome.error, 'destination refused: localhost is a private/loopback/link-local address');
    });
    assert.equal(tcp.connections(), 0);
  } finally {
    await tcp.close();
  }
});

void test('guarded lookup resolves once and pins the checked addresses', async () => {
  const calls: string[] = [];
  const fakeDns = (answers: Array<{ address: string; family: number }>): BaseLookup => (hostname, _opts, cb) => {
    calls.push(hostname);
    process.nextTick(() => cb(null, answers));
  };
  const run = (base: BaseLookup, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => {
      createGuardedLookup(base)('hooks.example.test', { all }, (err, address, family) => resolve({ err, address, family }));
    });

  const publicAnswer = [{ address: '93.184.216.34', family: 4 }];
  const single = await run(fakeDns(publicAnswer), false);
  assert.equal(single.err, null);
  assert.equal(single.address, '93.184.216.34');
  assert.equal(single.family, 4);
  const all = await run(fakeDns(publicAnswer), true);
  assert.deepEqual(all.address, publicAnswer);
  assert.deepEqual(calls, ['hooks.example.test', 'hooks.example.test']);

  // A mixed answer (rebinding-style) is refused as a whole.
  const mixed = await run(fakeDns([{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }]), true);
  assert.ok(mixed.err);
  assert.equal(mixed.err.message, 'destination refused: 169.254.169.254 is a private/loopback/link-local address');
  const metadata6 = await run(fakeDns([{ address: 'fd00:ec2::254', family: 6 }]), false);
  assert.match(metadata6.err?.message ?? '', /destination refused: fd00:ec2::254/);
});

void test('isForbiddenAddress', () => {
  const forbidden = [
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fc00::1',
    '::ffff:127.0.0.1',
    'fd00:ec2::254',
    // extra coverage
    '::',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
    '2002:c0a8:0101::1', // 6to4 of 192.168.1.1
    'fe80::1%eth0',
    '224.0.0.1',
    '255.255.255.255',
    'ff02::1',
    '172.31.255.255',
    '100.127.255.255',
    'not-an-ip',
  ];
  const allowed = [
    '8.8.8.8',
    '1.1.1.1',
    '2606:4700::1111',
    '172.32.0.1',
    '100.128.0.1',
    '::ffff:8.8.8.8',
    '2001:4860:4860::8888',
    '64:ff9b::808:808',
  ];
  for (const ip of forbidden) assert.equal(isForbiddenAddress(ip), true, `${ip} should be forbidden`);
  for (const ip of allowed) assert.equal(isForbiddenAddress(ip), false, `${ip} should be allowed`);
});
