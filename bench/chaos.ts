// `npm run chaos`: the production topology (`npm run cluster`'s PostgreSQL, real Temporal server, 2 compiled
// API and 2 worker processes) under steady publishing while its processes are killed, then a count of what
// the receivers got. Loopback only, bounded in time.
//   - Publishing: CHAOS_EVENTS (2000) events at CHAOS_RATE (6) events/s, each with a client id, alternately
//     through API 1 and API 2; a publish that fails (connection refused, 5xx, time-out) is retried with the
//     same id through the other API until accepted (a 200 then means "already accepted").
//   - Three endpoints on three loopback receivers; an event goes to 1 or 2 of them by its type. Each
//     request fails (500) with probability 30 % and hangs (never answers: the attempt times out at 10 s)
//     with probability 5 %.
//   - Chaos during publishing: SIGKILL a worker every CHAOS_WORKER_KILL_EVERY (10) s, alternating; SIGKILL
//     the Temporal server once at 30 % of the publishing time, PostgreSQL once at 55 %, API 2 once at 75 %.
//     The supervisor restarts each one (1 s after the kill).
//   - Then wait (at most CHAOS_DRAIN_SECONDS, 900) until every (event, endpoint) pair due has been answered
//     2xx at least once, and report: events accepted, pairs due, delivered at least once, lost (must be 0),
//     duplicates seen by receivers, time to drain, and per kill how long recovery took.
// Retry waits are scaled by CHAOS_RETRY_TIME_SCALE (0.001: the 13-attempt schedule in about 4 min) so the
// run ends in minutes. Exit status 1 when a pair was lost.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../infra/paths';
import { freePort } from '../scripts/local-services';
import { ensureTemporalBinaries } from '../scripts/cluster/binaries';
import { buildApp, freeTemporalPort, startCluster, type Cluster } from '../scripts/cluster/cluster';
import type { Service } from '../scripts/cluster/services';

const EVENTS = Number(process.env.CHAOS_EVENTS ?? 2000);
const RATE = Number(process.env.CHAOS_RATE ?? 6);
const WORKER_KILL_EVERY_MS = Number(process.env.CHAOS_WORKER_KILL_EVERY ?? 10) * 1000;
const DRAIN_MS = Number(process.env.CHAOS_DRAIN_SECONDS ?? 900) * 1000;
const RETRY_TIME_SCALE = process.env.CHAOS_RETRY_TIME_SCALE ?? '0.001';
const FAIL_SHARE = 0.3;
const HANG_SHARE = 0.05;
const HANG_RELEASE_MS = 20_000; // a hung request is closed after this (the attempt has long timed out)
const PUBLISH_TIMEOUT_MS = 15_000;
const PUBLISH_GIVE_UP_MS = 300_000;
const POLICY_ATTEMPTS = 13;
const log = (line: string) => console.log(`[chaos ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
let T0 = Date.now();

/** Which endpoints take which event type: pairs per event are 1 or 2. */
const ROUTES = [
  { type: 'lead.created', endpoints: ['a', 'b'] },
  { type: 'lead.stage_changed', endpoints: ['a'] },
  { type: 'export.ready', endpoints: ['c'] },
  { type: 'conversation.ended', endpoints: ['b', 'c'] },
] as const;
const SUBSCRIPTIONS = { a: ['lead.created', 'lead.stage_changed'], b: ['lead.created', 'conversation.ended'], c: ['export.ready', 'conversation.ended'] };
type EndpointName = keyof typeof SUBSCRIPTIONS;

interface PairRecord {
  requests: number;
  successes: number;
  firstSuccessAt: number | null;
}

/** A receiver that fails 30 % and hangs 5 % of requests, recording every (event, endpoint) pair. */
async function chaosReceiver(name: EndpointName, pairs: Map<string, PairRecord>) {
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = `${String(req.headers['anvil-event-id'] ?? '?')}|${name}`;
      const record = pairs.get(key) ?? { requests: 0, successes: 0, firstSuccessAt: null };
      pairs.set(key, record);
      record.requests++;
      const draw = Math.random();
      if (draw < HANG_SHARE) {
        hanging.add(res);
        setTimeout(() => {
          hanging.delete(res);
          res.destroy();
        }, HANG_RELEASE_MS).unref();
        return;
      }
      if (draw < HANG_SHARE + FAIL_SHARE) {
        res.writeHead(500).end('chaos says no');
        return;
      }
      record.successes++;
      record.firstSuccessAt ??= Date.now();
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

async function request(url: string, key: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

interface KillRecord {
  what: string;
  at: number;
  pid: number | null;
  /** The killed service was ready again after this many ms. */
  backAfterMs: number | null;
  /** Publishing: the first publish sent after the kill was accepted this many ms after the kill. */
  publishOkAfterMs: number | null;
  /** Publish requests sent after the kill (and before the next non-worker kill, at most 60 s) that failed. */
  failedPublishes: number;
}

async function main(): Promise<number> {
  const { buildSeconds } = await ensureTemporalBinaries((l) => console.log(`[chaos] ${l}`));
  await buildApp((l) => console.log(`[chaos] ${l}`));
  const dataDir = path.join(PROJECT_ROOT, '.tmp', `chaos-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const adminKey = `anv_admin_chaos_${randomBytes(12).toString('hex')}`;
  let cluster: Cluster | null = null;
  const receivers: { close(): void }[] = [];
  const cleanup = async () => {
    for (const r of receivers) r.close();
    await cluster?.stop();
    cluster = null;
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void cleanup().then(() => process.exit(130)));
  try {
    console.log(
      `[chaos] ${os.cpus().length} cores, Node ${process.version}; ${EVENTS} events at ${RATE}/s through 2 APIs; receivers fail ${FAIL_SHARE * 100} % and hang ${HANG_SHARE * 100} %; ` +
        `retry waits ×${RETRY_TIME_SCALE}; Go build ${buildSeconds === 0 ? 'cached' : `${buildSeconds.toFixed(0)} s`}`,
    );
    cluster = await startCluster({
      dataDir,
      postgresPort: await freePort(),
      temporalPort: await freeTemporalPort(),
      uiPort: null,
      apiPorts: [await freePort(), await freePort()],
      workers: 2,
      historyShards: 4,
      adminKey,
      allowInsecureTargets: true,
      appEnv: { ANVIL_RETRY_TIME_SCALE: RETRY_TIME_SCALE },
      consoleOutput: false,
      log: (l) => console.log(`[chaos] ${l}`),
    });
    const c = cluster;
    console.log(`[chaos] cluster up: Temporal ${c.temporalAddress} (pid ${c.temporal.pid()}), PostgreSQL pid ${c.postgres.pid()}, APIs ${c.apiUrls.join(' ')}, logs ${c.logsDir}`);

    // Tenant and endpoints, through the API like any client.
    const tenant = await request(`${c.apiUrls[0]}/v1/tenants`, adminKey, { name: 'chaos', plan: 'pro' });
    if (tenant.status !== 201) throw new Error(`creating the tenant: ${tenant.status} ${JSON.stringify(tenant.json)}`);
    const key = String(tenant.json.api_key);
    const pairs = new Map<string, PairRecord>();
    for (const name of Object.keys(SUBSCRIPTIONS) as EndpointName[]) {
      const receiver = await chaosReceiver(name, pairs);
      receivers.push(receiver);
      const ep = await request(`${c.apiUrls[1]}/v1/endpoints`, key, { url: receiver.url, events: SUBSCRIPTIONS[name], description: `chaos ${name}` });
      if (ep.status !== 201) throw new Error(`creating endpoint ${name}: ${ep.status} ${JSON.stringify(ep.json)}`);
    }

    // --- publishing, with chaos alongside ------------------------------------------------------------
    const run = randomBytes(4).toString('hex');
    const accepted = new Map<string, { type: (typeof ROUTES)[number]; acceptedAt: number; tries: number; duplicateAnswer: boolean }>();
    const publishLog: { at: number; answeredAt: number; ok: boolean }[] = [];
    const abandoned: string[] = [];
    let inFlight = 0;
    const publishOne = async (i: number) => {
      const id = `evt_chaos${run}${String(i).padStart(6, '0')}`;
      const route = ROUTES[i % ROUTES.length]!;
      const started = Date.now();
      inFlight++;
      try {
        for (let attempt = 0; ; attempt++) {
          const api = c.apiUrls[(i + attempt) % c.apiUrls.length]!;
          const sentAt = Date.now();
          try {
            const res = await request(`${api}/v1/events`, key, { id, type: route.type, data: { n: i, run } });
            if (res.status === 202 || res.status === 200) {
              publishLog.push({ at: sentAt, answeredAt: Date.now(), ok: true });
              accepted.set(id, { type: route, acceptedAt: Date.now(), tries: attempt + 1, duplicateAnswer: res.status === 200 });
              return;
            }
            if (res.status < 500 && res.status !== 429) throw new Error(`publish ${id}: ${res.status} ${JSON.stringify(res.json)}`);
          } catch (err) {
            if ((err as Error).message.startsWith('publish ')) throw err;
          }
          publishLog.push({ at: sentAt, answeredAt: Date.now(), ok: false });
          if (Date.now() - started > PUBLISH_GIVE_UP_MS) {
            abandoned.push(id);
            return;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } finally {
        inFlight--;
      }
    };

    const kills: KillRecord[] = [];
    const kill = (service: Service, what: string) => {
      const pid = service.kill('SIGKILL');
      kills.push({ what, at: Date.now(), pid, backAfterMs: null, publishOkAfterMs: null, failedPublishes: 0 });
      log(`SIGKILL ${what} (pid ${pid})`);
    };
    const publishMs = (EVENTS / RATE) * 1000;
    T0 = Date.now();
    const timers: NodeJS.Timeout[] = [];
    let workerTurn = 0;
    timers.push(
      setInterval(() => {
        const worker = c.workers[workerTurn++ % c.workers.length]!;
        kill(worker, worker.name);
      }, WORKER_KILL_EVERY_MS),
    );
    timers.push(setTimeout(() => kill(c.temporal, 'Temporal server'), publishMs * 0.3));
    timers.push(setTimeout(() => kill(c.postgres, 'PostgreSQL'), publishMs * 0.55));
    timers.push(setTimeout(() => kill(c.apis[1]!, 'api-2'), publishMs * 0.75));
    const progress = setInterval(() => {
      const delivered = [...pairs.values()].filter((p) => p.successes > 0).length;
      log(`${accepted.size} accepted, ${inFlight} publishing, ${delivered} pairs delivered`);
    }, 15_000);

    const publishing: Promise<void>[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const due = T0 + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      publishing.push(publishOne(i));
    }
    for (const t of timers) clearTimeout(t);
    const publishEnded = Date.now();
    log(`publishing done after ${((publishEnded - T0) / 1000).toFixed(0)} s; waiting for ${inFlight} publishes still retrying`);
    await Promise.all(publishing);
    const lastAccepted = Math.max(...[...accepted.values()].map((a) => a.acceptedAt));

    // --- drain ------------------------------------------------------------------------------------------
    const due = [...accepted.entries()].flatMap(([id, a]) => a.type.endpoints.map((ep) => `${id}|${ep}`));
    const deadline = Date.now() + DRAIN_MS;
    const missing = () => due.filter((k) => !(pairs.get(k)?.successes));
    let left = missing();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2000));
      left = missing();
    }
    clearInterval(progress);
    const drainedAt = Math.max(...due.map((k) => pairs.get(k)?.firstSuccessAt ?? 0));

    // --- recovery per kill --------------------------------------------------------------------------------
    const serviceOf = (what: string) => c.all().find((s) => s.name === what || (what === 'Temporal server' && s.name === 'temporal') || (what === 'PostgreSQL' && s.name === 'postgres'))!;
    const bigKills = kills.filter((k) => !k.what.startsWith('worker')).map((k) => k.at);
    for (const k of kills) {
      const ready = serviceOf(k.what).events.find((e) => e.kind === 'ready' && e.at > k.at);
      k.backAfterMs = ready ? ready.at - k.at : null;
      const ok = publishLog.filter((p) => p.ok && p.at >= k.at).sort((a, b) => a.at - b.at)[0];
      k.publishOkAfterMs = ok ? ok.answeredAt - k.at : null;
      const windowEnd = Math.min(k.at + 60_000, ...bigKills.filter((t) => t > k.at));
      k.failedPublishes = publishLog.filter((p) => !p.ok && p.at >= k.at && p.at < windowEnd).length;
    }

    // --- report -------------------------------------------------------------------------------------------
    const lost = left.filter((k) => (pairs.get(k)?.requests ?? 0) < POLICY_ATTEMPTS);
    const exhausted = left.filter((k) => (pairs.get(k)?.requests ?? 0) >= POLICY_ATTEMPTS);
    const dueSet = new Set(due);
    const duplicates = [...pairs.entries()].filter(([k]) => dueSet.has(k)).reduce((n, [, p]) => n + Math.max(0, p.successes - 1), 0);
    const pairsWithDuplicates = [...pairs.entries()].filter(([k, p]) => dueSet.has(k) && p.successes > 1).length;
    const unexpected = [...pairs.keys()].filter((k) => !dueSet.has(k)).length;
    const requests = [...pairs.values()].reduce((n, p) => n + p.requests, 0);
    const republished = [...accepted.values()].filter((a) => a.tries > 1).length;
    const answered200 = [...accepted.values()].filter((a) => a.duplicateAnswer).length;
    const s = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);
    const report = {
      date: new Date().toISOString(),
      events: EVENTS,
      rate: RATE,
      retryTimeScale: Number(RETRY_TIME_SCALE),
      publishSeconds: (publishEnded - T0) / 1000,
      eventsAccepted: accepted.size,
      eventsAbandoned: abandoned.length,
      eventsNeedingRetriedPublish: republished,
      acceptedAsAlreadyKnown: answered200,
      pairsDue: due.length,
      deliveredAtLeastOnce: due.length - left.length,
      lost: lost.length,
      exhaustedByReceiver: exhausted.length,
      duplicates,
      pairsWithDuplicates,
      unexpectedPairs: unexpected,
      receiverRequests: requests,
      drainSecondsAfterLastAccepted: (drainedAt - lastAccepted) / 1000,
      kills: kills.map((k) => ({ ...k, atSecond: (k.at - T0) / 1000 })),
    };
    writeFileSync(path.join(PROJECT_ROOT, '.tmp', `chaos-report-${report.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2));

    const byKind = (what: string) => kills.filter((k) => (what === 'worker' ? k.what.startsWith('worker') : k.what === what));
    const workerKills = byKind('worker');
    const workerBack = workerKills.map((k) => k.backAfterMs ?? NaN).filter((x) => !Number.isNaN(x));
    console.log(`
chaos report (${report.date})
  events published        ${EVENTS} at ${RATE}/s over ${report.publishSeconds.toFixed(0)} s, client ids, alternating API 1 / API 2
  events accepted         ${report.eventsAccepted} (${republished} needed a retried publish, ${answered200} of those answered 200 "already accepted"; ${abandoned.length} abandoned)
  pairs due               ${report.pairsDue} (event, endpoint)
  delivered at least once ${report.deliveredAtLeastOnce}
  lost                    ${report.lost}${exhausted.length ? ` (+ ${exhausted.length} failed all ${POLICY_ATTEMPTS} attempts at the receiver: the policy, not a loss)` : ''}
  duplicates              ${duplicates} extra 2xx deliveries on ${pairsWithDuplicates} pairs (at-least-once); ${unexpected} requests for pairs not due
  receiver requests       ${requests} (${(requests / Math.max(1, due.length)).toFixed(2)} per pair: failures and hangs are retried)
  time to drain           ${report.drainSecondsAfterLastAccepted.toFixed(1)} s after the last event was accepted
  kills (SIGKILL; each restarted by the supervisor 1 s later):
    workers               ${workerKills.length}×, every ${WORKER_KILL_EVERY_MS / 1000} s alternating; back (polling) after ${workerBack.length ? `${(Math.min(...workerBack) / 1000).toFixed(1)}–${(Math.max(...workerBack) / 1000).toFixed(1)} s` : 'n/a'}
${kills
  .filter((k) => !k.what.startsWith('worker'))
  .map((k) => `    ${k.what.padEnd(21)} at ${((k.at - T0) / 1000).toFixed(0)} s: back after ${s(k.backAfterMs)}; the first publish sent after it was accepted after ${s(k.publishOkAfterMs)}; ${k.failedPublishes} publish requests failed meanwhile (retried with the same id)`)
  .join('\n')}
  report saved in .tmp/`);
    if (lost.length > 0) console.log(`LOST pairs (first 20): ${lost.slice(0, 20).join(', ')}`);
    return lost.length > 0 || abandoned.length > 0 ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[chaos] ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
