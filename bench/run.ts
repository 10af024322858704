// `npm run bench`: end-to-end delivery benchmark on embedded defaults, with the bare baseline (one
// workflow, one ordinary activity that POSTs) measured in the same run on the same servers.
// Prints deliveries/s, publish-to-receipt latency p50/p99 and history events per delivery for
//   baseline, anvil fan-out 1 and anvil fan-out 10; then loads BENCH_TIMERS deliveries that wait on
//   retry timers and prints the worker's RSS and the publish rate per batch while they pile up.
// Knobs: BENCH_EVENTS (default 400), BENCH_CONCURRENCY (16), BENCH_TIMERS (10000; 0 skips).
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createApp } from '../api/app';
import { loadConfig } from '../infra/config';
import { createDb, migrate } from '../infra/db';
import { classicPolicy, standardPolicy } from '../domain/policies';
import { createStore } from '../infra/store';
import { buildWorkflowBundle } from '../scripts/build-workflow-bundle';
import {
  freePort,
  startEmbeddedPostgres,
  startTemporalDevServer,
  stopProcess,
} from '../scripts/local-services';
import { ensureNamespaceSetup } from '../infra/namespace';

const N = Number(process.env.BENCH_EVENTS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TIMERS = Number(process.env.BENCH_TIMERS ?? 10_000);
const ROOT = path.resolve(__dirname, '..');
const quiet = () => {};

interface Receipt {
  firstAt: number;
  count: number;
}

function startReceiver(status: () => number) {
  const receipts = new Map<string, Receipt>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const eventId = String(req.headers['anvil-event-id'] ?? '');
      const key = `${eventId}|${req.url}`;
      const seen = receipts.get(key);
      if (seen) seen.count++;
      else receipts.set(key, { firstAt: performance.now(), count: 1 });
      res.statusCode = status();
      res.end('ok');
    });
  });
  return new Promise<{ url: string; receipts: Map<string, Receipt>; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        receipts,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** Open-loop publishing at a fixed rate: latency measured below saturation, the same rate for both. */
async function paced<T>(items: T[], perSecond: number, fn: (item: T, i: number) => Promise<void>) {
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < items.length; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(fn(items[i]!, i));
  }
  await Promise.all(inFlight);
}

/** CPU seconds (user + system) of a process and all its descendants, from /proc. */
function cpuSeconds(rootPid: number, withDescendants = true): number {
  const ticks = 100; // USER_HZ on Linux
  const children = new Map<number, number[]>();
  const stats = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      stats.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / ticks);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    total += stats.get(pid) ?? 0;
    if (withDescendants) stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function startWorkerProcess(kind: 'anvil' | 'baseline', env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'worker-process.ts'), [kind], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROFILE_WORKER && kind === 'anvil' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_WORKER}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${kind} worker exited (${code})`)));
  });
  return child;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Figures {
  cpuMsPerDelivery?: string;
  name: string;
  deliveries: number;
  perSecond: number;
  p50: number;
  p99: number;
  historyPerDelivery: number;
}

function row(f: Figures) {
  return `${f.name.padEnd(22)} ${String(f.deliveries).padStart(6)} ${f.perSecond.toFixed(1).padStart(10)} ${f.p50.toFixed(0).padStart(8)} ${f.p99.toFixed(0).padStart(8)} ${f.historyPerDelivery.toFixed(1).padStart(10)}   ${f.cpuMsPerDelivery ?? ''}`;
}

async function historyLength(client: Client, workflowId: string): Promise<number> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return d.historyLength;
}

async function main() {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-'));
  chmodSync(scratch, 0o755); // PostgreSQL runs as its own user and must reach its data dir
  const cleanups: (() => Promise<unknown> | void)[] = [() => rmSync(scratch, { recursive: true, force: true })];
  try {
    console.log(`[bench] ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; N=${N}, concurrency ${CONCURRENCY}`);
    const temporalServer = await startTemporalDevServer({
      cli: process.env.TEMPORAL_CLI!,
      dbFile: path.join(scratch, 'temporal.db'),
      port: await freePort(),
      uiPort: null,
      log: quiet,
    });
    cleanups.push(() => temporalServer.stop());
    await ensureNamespaceSetup(temporalServer.address, 'default', 30, quiet);
    const pgServer = await startEmbeddedPostgres({ dir: path.join(scratch, 'pg'), port: await freePort(), database: 'anvil', log: quiet });
    cleanups.push(() => pgServer.stop());
    const db = createDb(pgServer.url, 10);
    cleanups.push(() => db.end());
    await migrate(db);
    const store = createStore(db);

    const anvilBundle = await buildWorkflowBundle(path.join(scratch, 'anvil-bundle.js'));
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./baseline'), logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error } });
    const baselineBundle = path.join(scratch, 'baseline-bundle.js');
    writeFileSync(baselineBundle, code);

    const workerEnv = {
      TEMPORAL_ADDRESS: temporalServer.address,
      DATABASE_URL: pgServer.url,
      ANVIL_ALLOW_INSECURE_TARGETS: '1',
      ANVIL_WORKFLOW_BUNDLE: anvilBundle,
      BENCH_BASELINE_BUNDLE: baselineBundle,
    };
    const connection = await Connection.connect({ address: temporalServer.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    const config = loadConfig({ ANVIL_ALLOW_INSECURE_TARGETS: '1' });
    let failing = false;
    const receiver = await startReceiver(() => (failing ? 500 : 200));
    cleanups.push(() => receiver.close());

    // --- baseline ------------------------------------------------------------------------------
    const baselineWorker = await startWorkerProcess('baseline', { ...workerEnv, TEMPORAL_TASK_QUEUE: 'bench-baseline' });
    cleanups.push(() => stopProcess(baselineWorker, 15_000));
    const body = (id: string) => JSON.stringify({ id, type: 'lead.created', created: new Date().toISOString(), tenant_id: 'tnt_bench', data: { name: 'Zoë', score: 80 }, api_version: '2026-01-01' });
    async function runBaseline(count: number, tag: string, rate?: number): Promise<Figures> {
      const ids = Array.from({ length: count }, (_, i) => `evt_${tag}${String(i).padStart(8, '0')}`);
      const publishedAt = new Map<string, number>();
      const t0 = performance.now();
      await (rate ? (f: (id: string) => Promise<void>) => paced(ids, rate, f) : (f: (id: string) => Promise<void>) => pool(ids, CONCURRENCY, f))(async (id) => {
        publishedAt.set(id, performance.now());
        await client.workflow.start('baselineWorkflow', { taskQueue: 'bench-baseline', workflowId: id, args: [`${receiver.url}/baseline`, id, body(id)] });
      });
      await waitFor(() => ids.every((id) => receiver.receipts.has(`${id}|/baseline`)), 600_000, 'baseline receipts');
      const latencies = ids.map((id) => receiver.receipts.get(`${id}|/baseline`)!.firstAt - publishedAt.get(id)!).sort((a, b) => a - b);
      const last = Math.max(...ids.map((id) => receiver.receipts.get(`${id}|/baseline`)!.firstAt));
      await new Promise((r) => setTimeout(r, 500));
      const sample = ids.slice(0, 30);
      const lengths = await Promise.all(sample.map((id) => historyLength(client, id)));
      return {
        name: 'baseline',
        deliveries: count,
        perSecond: count / ((last - t0) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        historyPerDelivery: lengths.reduce((a, b) => a + b, 0) / sample.length,
      };
    }

    // --- anvil ---------------------------------------------------------------------------------
    const anvilWorker = await startWorkerProcess('anvil', { ...workerEnv, TEMPORAL_TASK_QUEUE: 'bench-anvil' });
    cleanups.push(() => stopProcess(anvilWorker, 15_000));
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(anvilWorker));
    }, 500);
    cleanups.push(() => clearInterval(sampler));
    const adminKey = 'bench-admin-key-0123456789abcdef';
    const hourly = { ...standardPolicy, name: 'standard-first-wait-1h', initial: 3_600_000, maxSpan: 1000 * 3_600_000 };
    let policies = { standard: standardPolicy, classic: classicPolicy };
    const app = createApp({ config, store, temporal: client, adminKey, taskQueue: 'bench-anvil', policies: { get standard() { return policies.standard; }, get classic() { return policies.classic; } } });
    const apiServer = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(() => {
      apiServer.closeAllConnections();
      apiServer.close();
    });
    const api = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
    const { tenant, apiKey } = await store.createTenant('bench', 'enterprise');
    const endpoints: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ep = await store.createEndpoint(tenant, { url: `${receiver.url}/ep${i}`, events: [i === 0 ? 'lead.created' : 'lead.created'], description: null, filter: null });
      endpoints.push(ep.id);
    }
    const publish = async (type: string) => {
      const res = await fetch(`${api}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type, data: { name: 'Zoë', score: 80 } }),
      });
      if (res.status !== 202) throw new Error(`publish: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    };
    async function runAnvil(count: number, fanOut: 1 | 10, name: string, rate?: number): Promise<Figures> {
      // fan-out 1: only ep0 is subscribed to lead.stage_changed; fan-out 10: all ten take lead.created.
      const type = fanOut === 1 ? 'lead.stage_changed' : 'lead.created';
      const targets = fanOut === 1 ? ['/ep0'] : endpoints.map((_, i) => `/ep${i}`);
      const publishedAt = new Map<string, number>();
      const t0 = performance.now();
      const ids: string[] = [];
      const slots = Array.from({ length: count });
      await (rate ? (f: () => Promise<void>) => paced(slots, rate, f) : (f: () => Promise<void>) => pool(slots, CONCURRENCY, f))(async () => {
        const started = performance.now();
        const id = await publish(type);
        publishedAt.set(id, started);
        ids.push(id);
      });
      const keys = ids.flatMap((id) => targets.map((t) => `${id}|${t}`));
      await waitFor(() => keys.every((k) => receiver.receipts.has(k)), 600_000, `${name} receipts`);
      const latencies = keys.map((k) => receiver.receipts.get(k)!.firstAt - publishedAt.get(k.split('|')[0]!)!).sort((a, b) => a - b);
      const last = Math.max(...keys.map((k) => receiver.receipts.get(k)!.firstAt));
      await new Promise((r) => setTimeout(r, 1000));
      const sample = ids.slice(0, fanOut === 1 ? 30 : 5);
      let events = 0;
      for (const id of sample) {
        events += await historyLength(client, id);
        for (const ep of fanOut === 1 ? [endpoints[0]!] : endpoints) events += await historyLength(client, `${id}:${ep}`);
      }
      return {
        name,
        deliveries: keys.length,
        perSecond: keys.length / ((last - t0) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        historyPerDelivery: events / (sample.length * fanOut),
      };
    }
    await store.updateEndpoint(tenant.id, endpoints[0]!, { events: ['lead.created', 'lead.stage_changed'] });

    // Warm-up (JIT, connections, workflow cache), then the measured runs.
    await runBaseline(30, 'warm');
    await runAnvil(30, 1, 'warm-up');
    // Throughput: a burst of N, everything saturated. Latency: paced publishing at a rate both sustain.
    // CPU per delivery by component: where a delivery's cost goes (the machine has 2 cores to share).
    const parts = {
      temporal: temporalServer.process.pid!,
      worker: 0,
      postgres: pgServer.pid ?? 0,
      'api+publisher': process.pid,
    };
    const measured = async (run: () => Promise<Figures>, worker: ChildProcess): Promise<Figures> => {
      const pids = { ...parts, worker: worker.pid! };
      // The bench process forks the workers and servers: count it alone.
      const cpu = (k: string, pid: number) => (pid ? cpuSeconds(pid, pid !== process.pid) : 0);
      const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpu(k, pid)]));
      const figures = await run();
      const after = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpu(k, pid)]));
      figures.cpuMsPerDelivery = Object.keys(pids)
        .map((k) => `${k} ${(((after[k]! - before[k]!) * 1000) / figures.deliveries).toFixed(1)}`)
        .join(', ');
      return figures;
    };
    const burstBase = await measured(() => runBaseline(N, 'base'), baselineWorker);
    const burstOne = await measured(() => runAnvil(N, 1, 'anvil fan-out 1'), anvilWorker);
    const burstTen = await measured(() => runAnvil(Math.max(10, Math.round(N / 10)), 10, 'anvil fan-out 10'), anvilWorker);
    const rate = Math.max(1, Math.round(Math.min(burstBase.perSecond, burstOne.perSecond) * 0.5));
    const LAT = Math.min(N, rate * 20);
    const pacedBase = await runBaseline(LAT, 'pace', rate);
    const pacedOne = await runAnvil(LAT, 1, 'anvil fan-out 1', rate);
    const header = 'scenario                 deliv.   deliv./s  p50 (ms) p99 (ms) hist./deliv.   CPU ms per delivery';
    console.log(`\nburst of ${N} events (throughput)\n${header}`);
    for (const r of [burstBase, burstOne, burstTen]) console.log(row(r));
    console.log(`\npaced at ${rate} events/s, ${LAT} events (latency)\n${header}`);
    for (const r of [pacedBase, pacedOne]) console.log(row(r));
    console.log(
      `\nratios vs baseline: throughput fan-out 1 ${(burstOne.perSecond / burstBase.perSecond).toFixed(2)}× (target ≥ 0.7), fan-out 10 ${(burstTen.perSecond / burstBase.perSecond).toFixed(2)}×; ` +
        `paced p50 ${(pacedOne.p50 / pacedBase.p50).toFixed(2)}× (≤ 1.5), p99 ${(pacedOne.p99 / pacedBase.p99).toFixed(2)}× (≤ 2); ` +
        `history events per delivery ${(burstOne.historyPerDelivery / burstBase.historyPerDelivery).toFixed(2)}× (≤ 2)`,
    );
    console.log(`anvil worker RSS so far: peak ${peakRss.toFixed(0)} MB`);

    // --- deliveries waiting on retry timers ------------------------------------------------------
    if (TIMERS > 0) {
      failing = true;
      policies = { standard: hourly, classic: classicPolicy };
      const batch = 1000;
      const rates: number[] = [];
      const rssAfter: number[] = [];
      let done = 0;
      while (done < TIMERS) {
        const n = Math.min(batch, TIMERS - done);
        const t = performance.now();
        await pool(Array.from({ length: n }), CONCURRENCY, async () => {
          await publish('lead.stage_changed');
        });
        rates.push(n / ((performance.now() - t) / 1000));
        done += n;
        rssAfter.push(rssMb(anvilWorker));
        console.log(`[bench] timers: ${done} published, batch rate ${rates[rates.length - 1]!.toFixed(1)}/s, worker RSS ${rssAfter[rssAfter.length - 1]!.toFixed(0)} MB`);
      }
      const waiting = async () =>
        (await client.workflowService.countWorkflowExecutions({ namespace: 'default', query: `WorkflowType = 'deliveryWorkflow' AND AnvilDeliveryStatus = 'retrying'` })).count;
      const deadline = Date.now() + 900_000;
      let count = Number(await waiting());
      while (count < TIMERS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2000));
        count = Number(await waiting());
      }
      await new Promise((r) => setTimeout(r, 3000));
      const rss = rssMb(anvilWorker);
      console.log(`\n${TIMERS} deliveries to a failing endpoint (first retry in 1 h): ${count} waiting on retry timers`);
      console.log(`publish rate per batch of ${batch} (events/s): ${rates.map((r) => r.toFixed(0)).join(', ')}`);
      console.log(`first batch ${rates[0]!.toFixed(0)}/s, last batch ${rates[rates.length - 1]!.toFixed(0)}/s (${((rates[rates.length - 1]! / rates[0]!) * 100).toFixed(0)} %)`);
      console.log(`anvil worker RSS after each batch (MB): ${rssAfter.map((r) => r.toFixed(0)).join(', ')}; now ${rss.toFixed(0)} MB, peak ${Math.max(peakRss, rss).toFixed(0)} MB (target < 500)`);
      failing = false;
      policies = { standard: standardPolicy, classic: classicPolicy };
      const after = await runAnvil(Math.min(N, 200), 1, 'fan-out 1, timers held');
      console.log(row(after));
    }
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // best effort
      }
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
