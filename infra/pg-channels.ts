// PostgreSQL LISTEN/NOTIFY for the processes of the service: one dedicated connection per process (not a
// pool client: it lives as long as the process), reconnecting by itself. Channels are fixed identifiers
// (constants in the code, never user input). After a reconnect every `onReconnect` hook runs, because
// notifications sent while the connection was down are lost: whoever relies on them sweeps instead.
import pg from 'pg';
import type { Db } from './db';
import { log as currentLog } from './log';

const RECONNECT_DELAY_MS = 1000;

export interface ChannelListener {
  /** Calls `handler` with each notification's payload on `channel`; resolves once LISTEN is in effect. */
  listen(channel: string, handler: (payload: string) => void): Promise<void>;
  onReconnect(hook: () => void): void;
  close(): Promise<void>;
}

export function createChannelListener(db: Db, log: (line: string) => void = (l) => currentLog().warn(l)): ChannelListener {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const reconnectHooks = new Set<() => void>();
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  let retry: NodeJS.Timeout | null = null;
  let closed = false;

  const drop = (c: pg.Client, why: string) => {
    if (client !== c) return;
    client = null;
    connecting = null;
    c.end().catch(() => {});
    if (closed) return;
    log(`[pg-channels] connection lost (${why}); reconnecting`);
    const again = () => {
      retry = null;
      if (closed) return;
      connect().then(
        () => reconnectHooks.forEach((hook) => hook()),
        () => (retry = setTimeout(again, RECONNECT_DELAY_MS)),
      );
    };
    retry = setTimeout(again, RECONNECT_DELAY_MS);
  };

  const connect = (): Promise<pg.Client> =>
    (connecting ??= (async () => {
      const c = new pg.Client({ ...db.options });
      c.on('notification', (n) => handlers.get(n.channel)?.forEach((h) => h(n.payload ?? '')));
      c.on('error', (err) => drop(c, err.message));
      c.on('end', () => drop(c, 'ended'));
      try {
        await c.connect();
        for (const channel of handlers.keys()) await c.query(`LISTEN ${channel}`);
      } catch (err) {
        connecting = null;
        c.end().catch(() => {});
        throw err;
      }
      client = c;
      return c;
    })());

  return {
    async listen(channel, handler) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
      if (closed) throw new Error('channel listener is closed');
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      const c = await connect();
      await c.query(`LISTEN ${channel}`); // a repeated LISTEN is a no-op
    },
    onReconnect(hook) {
      reconnectHooks.add(hook);
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client ?? (await connecting?.catch(() => null)) ?? null;
      client = null;
      connecting = null;
      await c?.end().catch(() => {});
    },
  };
}
