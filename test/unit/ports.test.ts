// freePort (infra/ports.ts): a port below the kernel's ephemeral range, where no outgoing connection can
// take it before the server binds; distinct across calls (two servers asked for in a row); and free.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ephemeralPortRange, freePort } from '../../infra/ports';

const listenOn = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

void test('twenty ports in a row: all different, all listenable, none in the ephemeral range', async () => {
  const range = ephemeralPortRange();
  const ports: number[] = [];
  for (let i = 0; i < 20; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, 20, `repeated: ${ports.join(' ')}`);
  if (range && range[0] - 10_000 >= 1000) {
    for (const port of ports) assert.ok(port >= 10_000 && port < range[0], `${port} is not below the ephemeral range ${range.join('-')}`);
  }
  const servers = await Promise.all(ports.map(listenOn));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});
