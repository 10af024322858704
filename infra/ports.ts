// A port nothing listens on right now, on the loopback interface, for servers started a moment later (the
// test harness's and `npm start`'s own Temporal, PostgreSQL and API).
//
// Not one the OS picks with listen(0): that comes from the ephemeral range, which is also where every
// outgoing connection gets its local port. Between this check and the server's bind — seconds when
// PostgreSQL is initialised first — any connect() on the machine may take it (seen once in the test suite:
// the launcher's Temporal UI port, `bind: address already in use`). Below the ephemeral range only another
// listener can take a port. Where that range is unknown or starts too low, the OS picks as before.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST = 10_000;
/** Ports this process has handed out: two servers asked for in a row must not get the same one. */
const handedOut = new Set<number>();

let range: [number, number] | null | undefined;

/** Linux's ephemeral port range (net.ipv4.ip_local_port_range), or null; read once per process. */
export function ephemeralPortRange(): [number, number] | null {
  if (range !== undefined) return range;
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    range = low && high ? [low, high] : null;
  } catch {
    range = null;
  }
  return range;
}

function listenable(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  const ephemeral = ephemeralPortRange();
  if (ephemeral && ephemeral[0] - LOWEST >= 1000) {
    for (let tries = 0; tries < 50; tries++) {
      const port = LOWEST + Math.floor(Math.random() * (ephemeral[0] - LOWEST));
      if (handedOut.has(port)) continue;
      if ((await listenable(port)) !== null) {
        handedOut.add(port);
        return port;
      }
    }
  }
  for (;;) {
    const port = await listenable(0);
    if (port === null) throw new Error('no free port on 127.0.0.1');
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
