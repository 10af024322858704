// `anvil-webhooks` (npx anvil-webhooks …): login, listen, trigger, deliveries tail.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { apiCall, ApiCallError } from './api.js';
import { listen } from './listen.js';
import { loadSettings, readSaved, writeSaved } from './settings.js';
import { createTail, tailLine, type TailDelivery } from './tail.js';

const USAGE = `Usage: anvil-webhooks <command>

  login --api-url <url> --api-key <key>       save where the service is and your API key
  listen --forward-to <url> [--events a,b]    receive webhooks on a local URL, over an outbound connection
  trigger <event type> [--data @file.json]    publish a sample event (or your own data)
  deliveries tail [--interval 2]              follow the delivery log

Settings: ANVIL_API_URL and ANVIL_API_KEY override what login saved.`;

const out = (line: string) => console.log(line);

interface EventType {
  name: string;
  example?: unknown;
}

function readData(value: string): unknown {
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`--data is not JSON${value.startsWith('@') ? ` (${value.slice(1)})` : ''}`);
  }
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'login': {
      const { values } = parseArgs({ args: rest, options: { 'api-url': { type: 'string' }, 'api-key': { type: 'string' } } });
      const apiUrl = values['api-url'];
      const apiKey = values['api-key'];
      if (!apiUrl || !apiKey) throw new Error('login needs --api-url and --api-key');
      const settings = { apiUrl: apiUrl.replace(/\/+$/, ''), apiKey };
      await apiCall(settings, 'GET', '/v1/endpoints?limit=1'); // the key works
      const file = writeSaved({ ...readSaved(), api_url: settings.apiUrl, api_key: apiKey });
      out(`Logged in to ${settings.apiUrl} (saved in ${file})`);
      return 0;
    }
    case 'listen': {
      const { values } = parseArgs({ args: rest, options: { 'forward-to': { type: 'string', short: 'f' }, events: { type: 'string', short: 'e' } } });
      if (!values['forward-to']) throw new Error('listen needs --forward-to <url>, such as --forward-to http://localhost:4000/webhooks');
      const events = values.events?.split(',').map((e) => e.trim()).filter(Boolean);
      return listen(loadSettings(), { forwardTo: values['forward-to'], ...(events?.length ? { events } : {}), stop: untilSignal(), out });
    }
    case 'trigger': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { data: { type: 'string', short: 'd' } } });
      const type = positionals[0];
      const settings = loadSettings();
      const types = (await apiCall<{ data: EventType[] }>(settings, 'GET', '/v1/event-types')).data;
      const known = types.find((t) => t.name === type);
      if (!type || !known) throw new Error(`trigger needs an event type: ${types.map((t) => t.name).join(', ')}`);
      const data = values.data !== undefined ? readData(values.data) : (known.example ?? {});
      const event = await apiCall<{ id: string; type: string }>(settings, 'POST', '/v1/events', { type, data });
      out(`Triggered ${event.type} ${event.id}`);
      return 0;
    }
    case 'deliveries': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { interval: { type: 'string', default: '2' } } });
      if (positionals[0] !== 'tail') throw new Error('usage: anvil-webhooks deliveries tail');
      const settings = loadSettings();
      const intervalMs = Math.max(0.5, Number(values.interval) || 2) * 1000;
      const tail = createTail({
        newest: async (limit) => (await apiCall<{ data: TailDelivery[] }>(settings, 'GET', `/v1/deliveries?limit=${limit}`)).data,
        one: async (id) => {
          try {
            const d = await apiCall<Omit<TailDelivery, 'attempts'> & { attempts: unknown[] }>(settings, 'GET', `/v1/deliveries/${encodeURIComponent(id)}`);
            return { ...d, attempts: d.attempts.length };
          } catch (err) {
            if (err instanceof ApiCallError && err.status === 404) return null;
            throw err;
          }
        },
      });
      let stop = false;
      void untilSignal().then(() => (stop = true));
      while (!stop) {
        for (const d of await tail.poll()) out(tailLine(d));
        await new Promise((r) => setTimeout(r, intervalMs));
      }
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new Error(`unknown command ${command}\n\n${USAGE}`);
  }
}

if (typeof require !== 'undefined' && require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`anvil-webhooks: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
