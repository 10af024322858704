// `npm run bench`: the delivery path measured on this machine, in one run on the same servers (the Temporal
// dev server with a SQLite file, as `npm start` runs it, and embedded PostgreSQL), beside two references:
//   naive  one workflow + one ordinary POST activity per delivery (what a first Temporal design does)
//   floor  one workflow per event, started eagerly, POSTing to every target in local activities inside its
//          first task: no API, signing, database or search attributes (Temporal's own floor)
//   anvil  the real API process (embedded worker), publishing over HTTP
// Scenarios: bursts of BENCH_DELIVERIES (400) deliveries at fan-out 1 and BENCH_DELIVERIES_F10 (2000) at
// fan-out 10 with BENCH_LANES (32) publishers; paced publishing at BENCH_RATE (8) events/s for
// BENCH_PACED_SECONDS (20) s; each BENCH_ROUNDS (3) times, medians reported; then
// BENCH_TIMERS (10 000; 0 skips) deliveries to a failing endpoint that wait on a 1 h retry timer.
// BENCH_SYSTEMS (naive,floor,anvil) picks systems, BENCH_SCENARIOS (e.g. f10) scenarios; BENCH_PROFILE=dir
// writes a CPU profile of each.
// Printed per run: deliveries/s, publish-to-receipt p50/p99, history events and state transitions per
// delivery, the share of eager starts, CPU ms per delivery by process, peak PSS of all processes.
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createDb, migrate } from '../infra/db';
import { ensureNamespaceSetup } from '../infra/namespace';
import { createStore } from '../infra/store';
import { buildWorkflowBundle } from '../scripts/build-workflow-bundle';
import { freePort, startEmbeddedPostgres, startTemporalDevServer, stopProcess } from '../scripts/local-services';
import { startClusterTemporal } from '../scripts/cluster/cluster';
import { NODE_FLAGS } from '../scripts/node-flags';
import { BENCH_ADMIN_KEY, WAITING_QUERY, workflowIdsOf } from './anvil-under-test';
import { cpuOf, processTable, rssMiB, treeCpu } from './proc';

const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 400);
const DELIVERIES_F10 = Number(process.env.BENCH_DELIVERIES_F10 ?? 2000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const LANES = Number(process.env.BENCH_LANES ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 8);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 20);
const TIMERS = Number(process.env.BENCH_TIMERS ?? 10_000);
/** BENCH_SCENARIOS="burst f1,paced" (or f10): only the scenarios named by every word of one of these. */
const SCENARIOS = process.env.BENCH_SCENARIOS ? process.env.BENCH_SCENARIOS.split(',') : null;
const SYSTEMS = (process.env.BENCH_SYSTEMS ?? 'naive,floor,anvil').split(',') as SystemName[];
const quiet = () => {};
type SystemName = 'naive' | 'floor' | 'anvil';

// ---------------------------------------------------------------------------------------------------------
// The receivers: ten loopback endpoints on ten ports (the ten targets of a fan-out are ten destinations,
// as ten customers' endpoints would be), one handler: it records the first arrival of every (event,
// path) and answers 200 or 500.

interface Receiver {
  /** One base URL per target index. */
  urls: string[];
  firstAt: Map<string, number>;
  failing: boolean;
  close(): void;
}

async function startReceiver(ports = 10): Promise<Receiver> {
  const state: Receiver = { urls: [], firstAt: new Map(), failing: false, close: () => {} };
  const servers: http.Server[] = [];
  for (let i = 0; i < ports; i++) {
    const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      req.resume();
      req.on('end', () => {
        const key = `${String(req.headers['anvil-event-id'] ?? '')}|${req.url}`;
        if (!state.firstAt.has(key)) state.firstAt.set(key, performance.now());
        res.statusCode = state.failing ? 500 : 200;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    state.urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  state.close = () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  };
  return state;
}

// ---------------------------------------------------------------------------------------------------------
// Load shapes

async function lanes(count: number, width: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/** Open-loop publishing at a fixed rate: latency below saturation, the same rate for every system. */
async function paced(count: number, perSecond: number, fn: (i: number) => Promise<void>) {
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(fn(i));
  }
  await Promise.all(inFlight);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function waitFor(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Systems under test

interface System {
  name: SystemName;
  child: ChildProcess;
  /** Publishes one event to `fanOut` targets; resolves once the system acknowledged it. */
  publish(fanOut: 1 | 10): Promise<{ id: string; paths: string[] }>;
  workflowIds(id: string, fanOut: 1 | 10): string[];
  stats(): Promise<{ starts: number; eager: number }>;
}

type Reply = { type: string; id?: string; error?: string };

/** One request to a system process over IPC; replies are matched by type and event id. */
function ask<T>(child: ChildProcess, message: { type: string; id?: string; [field: string]: unknown }): Promise<T> {
  const key = `${message.type === 'start' ? 'started' : message.type}|${message.id ?? ''}`;
  let waiting = pending.get(child);
  if (!waiting) {
    const map = new Map<string, (m: Reply) => void>();
    pending.set(child, map);
    child.on('message', (m: Reply) => {
      const k = `${m.type}|${m.id ?? ''}`;
      const resolve = map.get(k);
      map.delete(k);
      resolve?.(m);
    });
    waiting = map;
  }
  return new Promise((resolve, reject) => {
    waiting.set(key, (m) => (m.error ? reject(new Error(m.error)) : resolve(m as unknown as T)));
    child.send(message);
  });
}
const pending = new Map<ChildProcess, Map<string, (m: Reply) => void>>();

/**
 * Where the systems' own output goes: a file per process, so the bench's output holds only its figures
 * (anvil's API logs a line per request). Each process writes its file itself: the bench's CPU column does
 * not pay for forwarding its lines.
 */
const SYSTEM_LOGS = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-logs-'));
let systemsForked = 0;

async function forkSystem(name: SystemName, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url?: string }> {
  const logFile = path.join(SYSTEM_LOGS, `${++systemsForked}-${name}.log`);
  const out = openSync(logFile, 'w');
  const child = fork(path.join(__dirname, 'system-process.ts'), [name], {
    env: { ...process.env, ...env },
    // The flags the API and worker processes run with in production, for every system alike.
    execArgv: ['--import', 'tsx', ...NODE_FLAGS, ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])],
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out); // the child holds its own copy
  const ready = await new Promise<{ url?: string }>((resolve, reject) => {
    child.once('message', (m: { url?: string }) => resolve(m));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}); its output: ${logFile}`)));
  });
  return { child, url: ready.url };
}

const body = (id: string) =>
  JSON.stringify({ id, type: 'lead.created', created: new Date().toISOString(), tenant_id: 'tnt_bench', data: { name: 'Zoë', score: 80 }, api_version: '2026-01-01' });

let sequence = 0;
const nextId = (tag: string) => `evt_${tag}${String(sequence++).padStart(10, '0')}`;

async function referenceSystem(name: 'naive' | 'floor', env: NodeJS.ProcessEnv, receiverUrls: string[]): Promise<System> {
  const { child } = await forkSystem(name, env);
  const paths = (fanOut: number) => Array.from({ length: fanOut }, (_, i) => `/${name}${i}`);
  return {
    name,
    child,
    async publish(fanOut) {
      const id = nextId(name);
      const p = paths(fanOut);
      await ask(child, { type: 'start', id, urls: p.map((x, i) => receiverUrls[i] + x), body: body(id) });
      return { id, paths: p };
    },
    workflowIds: (id, fanOut) => (name === 'floor' ? [id] : Array.from({ length: fanOut }, (_, i) => `${id}-${i}`)),
    stats: () => ask(child, { type: 'stats' }),
  };
}

async function anvilSystem(env: NodeJS.ProcessEnv, api: { apiKey: string; endpoints: string[] }): Promise<System & { url: string }> {
  const { child, url } = await forkSystem('anvil', env);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const post = (type: string) =>
    new Promise<string>((resolve, reject) => {
      const payload = JSON.stringify({ type, data: { name: 'Zoë', score: 80 } });
      const req = http.request(`${url}/v1/events`, { method: 'POST', agent, headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => (res.statusCode === 202 ? resolve((JSON.parse(text) as { id: string }).id) : reject(new Error(`publish: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(payload);
    });
  return {
    name: 'anvil',
    child,
    url: url!,
    async publish(fanOut) {
      // fan-out 1: only ep0 takes lead.stage_changed; fan-out 10: all ten take lead.created.
      const id = await post(fanOut === 1 ? 'lead.stage_changed' : 'lead.created');
      return { id, paths: Array.from({ length: fanOut }, (_, i) => `/ep${i}`) };
    },
    workflowIds: (id, fanOut) => workflowIdsOf(id, api.endpoints.slice(0, fanOut)),
    stats: () => ask(child, { type: 'stats' }),
  };
}

// ---------------------------------------------------------------------------------------------------------

interface Figures {
  system: SystemName;
  scenario: string;
  deliveries: number;
  perSecond: number;
  p50: number;
  p99: number;
  historyPerDelivery: number;
  transitionsPerDelivery: number;
  eagerShare: number;
  cpu: Record<string, number>;
  peakPssMiB: number;
  /** Each process tree's PSS at the moment of the peak. */
  peakPssParts: Record<string, number>;
  round?: number;
}

async function main() {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-bench-'));
  chmodSync(scratch, 0o755); // PostgreSQL runs as its own user and must reach its data dir
  const cleanups: (() => Promise<unknown> | void)[] = [() => rmSync(scratch, { recursive: true, force: true })];
  try {
    console.log(`[bench] ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; bursts of ${DELIVERIES} (f1) and ${DELIVERIES_F10} (f10) deliveries, ${LANES} lanes; paced ${RATE}/s for ${PACED_SECONDS} s; ${ROUNDS} round(s); the systems' own output: ${SYSTEM_LOGS}`);
    // BENCH_TEMPORAL=cluster: the real server on its own PostgreSQL (npm run cluster's), not the dev server.
    const temporal =
      process.env.BENCH_TEMPORAL === 'cluster'
        ? await startClusterTemporal(path.join(scratch, 'cluster'))
        : await startTemporalDevServer({ cli: process.env.TEMPORAL_CLI!, dbFile: path.join(scratch, 'temporal.db'), port: await freePort(), uiPort: null, log: quiet });
    cleanups.push(() => temporal.stop());
    await ensureNamespaceSetup(temporal.address, 'default', 30, quiet);
    const pg = await startEmbeddedPostgres({ dir: path.join(scratch, 'pg'), port: await freePort(), database: 'anvil', log: quiet });
    cleanups.push(() => pg.stop());
    const db = createDb(pg.url, 4);
    cleanups.push(() => db.end());
    await migrate(db);
    const store = createStore(db);
    const { tenant, apiKey } = await store.createTenant('bench', 'enterprise');
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const endpoints: string[] = [];
    for (let i = 0; i < 10; i++) {
      const events = i === 0 ? ['lead.created', 'lead.stage_changed'] : ['lead.created'];
      endpoints.push((await store.createEndpoint(tenant, { url: `${receiver.urls[i]}/ep${i}`, events: events as never, description: null, filter: null })).id);
    }

    const bundle = async (file: string, name: string) => {
      const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve(file), logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error } });
      const out = path.join(scratch, `${name}-bundle.js`);
      writeFileSync(out, code);
      return out;
    };
    const common = { TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: pg.url, ANVIL_ALLOW_INSECURE_TARGETS: '1', ANVIL_ADMIN_KEY: BENCH_ADMIN_KEY };
    const anvilEnv = {
      ...common,
      TEMPORAL_TASK_QUEUE: 'bench-anvil',
      ANVIL_WORKFLOW_BUNDLE: await buildWorkflowBundle(path.join(scratch, 'anvil-bundle.js')),
      // One tenant publishes every event: the per-tenant limit (200/s by default) would answer 429s. Set
      // far above any rate here rather than off, so each publish still pays the limiter's counter.
      ANVIL_PUBLISH_RATE_LIMIT: '1000000',
    };
    const systems: System[] = [];
    for (const name of SYSTEMS) {
      if (name === 'anvil') systems.push(await anvilSystem(anvilEnv, { apiKey, endpoints }));
      else systems.push(await referenceSystem(name, { ...common, TEMPORAL_TASK_QUEUE: `bench-${name}`, BENCH_BUNDLE: await bundle(`./${name}`, name) }, receiver.urls));
    }
    cleanups.push(() => Promise.all(systems.map((s) => stopProcess(s.child, 15_000))));
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection });
    // Peak memory is sampled by a child process of its own (bench/pss-sampler.ts): not counted in any CPU column.
    const sampler = fork(path.join(__dirname, 'pss-sampler.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    cleanups.push(() => void sampler.kill());

    async function run(system: System, scenario: string, events: number, fanOut: 1 | 10, rate?: number): Promise<Figures> {
      // Each part's processes are found again at the end: PostgreSQL's backends come and go with the pool.
      const parts: Record<string, (table: ReturnType<typeof processTable>) => number> = {
        temporal: (table) => treeCpu(temporal.process.pid!, table),
        postgres: (table) => treeCpu(pg.pid ?? 0, table),
        [system.name]: (table) => treeCpu(system.child.pid!, table),
        'bench (publisher, receiver)': (table) => cpuOf([process.pid], table), // not its memory sampler
      };
      const table = processTable();
      const cpuBefore = Object.fromEntries(Object.entries(parts).map(([k, cpuIn]) => [k, cpuIn(table)]));
      const statsBefore = await system.stats();
      sampler.send({ type: 'start', roots: { temporal: temporal.process.pid!, postgres: pg.pid ?? 0, [system.name]: system.child.pid! } });
      const published: { id: string; paths: string[]; at: number }[] = [];
      const t0 = performance.now();
      const one = async () => {
        const at = performance.now();
        const { id, paths } = await system.publish(fanOut);
        published.push({ id, paths, at });
      };
      if (rate) await paced(events, rate, one);
      else await lanes(events, LANES, one);
      const keys = published.flatMap((p) => p.paths.map((x) => ({ key: `${p.id}|${x}`, at: p.at })));
      // Checked from the first key not yet seen on: each poll costs next to nothing (this process's CPU is counted).
      let seen = 0;
      const allSeen = () => {
        while (seen < keys.length && receiver.firstAt.has(keys[seen]!.key)) seen++;
        return seen === keys.length;
      };
      await waitFor(allSeen, 600_000, `${system.name} ${scenario} receipts`);
      const { peakPssMiB: peakPss, peakPssParts: peakParts } = await ask<{ peakPssMiB: number; peakPssParts: Record<string, number> }>(sampler, { type: 'stop' });
      const last = Math.max(...keys.map((k) => receiver.firstAt.get(k.key)!));
      const latencies = keys.map((k) => receiver.firstAt.get(k.key)! - k.at).sort((a, b) => a - b);
      await new Promise((r) => setTimeout(r, 1500)); // let workflows complete before reading CPU and histories
      const after = processTable();
      const cpu = Object.fromEntries(Object.entries(parts).map(([k, cpuIn]) => [k, ((cpuIn(after) - cpuBefore[k]!) * 1000) / keys.length]));
      const statsAfter = await system.stats();
      const sample = published.slice(0, fanOut === 1 ? 30 : 6);
      let history = 0;
      let transitions = 0;
      for (const p of sample) {
        for (const id of system.workflowIds(p.id, fanOut)) {
          const d = await client.workflow.getHandle(id).describe();
          history += d.historyLength;
          transitions += Number(d.raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
        }
      }
      const starts = statsAfter.starts - statsBefore.starts;
      return {
        system: system.name,
        scenario,
        deliveries: keys.length,
        perSecond: keys.length / ((last - t0) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        historyPerDelivery: history / (sample.length * fanOut),
        transitionsPerDelivery: transitions / (sample.length * fanOut),
        eagerShare: starts > 0 ? (statsAfter.eager - statsBefore.eager) / starts : NaN,
        cpu,
        peakPssMiB: peakPss,
        peakPssParts: peakParts,
      };
    }

    // Warm-up (JIT, connections, caches), then each scenario for every system in turn.
    for (const s of systems) await run(s, 'warm-up', 40, 1);
    // Each scenario BENCH_ROUNDS times, the systems' order rotated each round (no system always runs
    // first or last); the table and the ratios use each figure's median over the rounds, and each
    // round's own ratios are printed beside them (a burst lasts seconds: one sample is mostly noise here).
    const rounds: Figures[] = [];
    const scenarios: [string, number, 1 | 10, number?][] = [
      ['burst f1', DELIVERIES, 1],
      ['burst f10', Math.max(1, Math.round(DELIVERIES_F10 / 10)), 10],
      [`paced ${RATE}/s f1`, RATE * PACED_SECONDS, 1, RATE],
    ];
    for (const [scenario, events, fanOut, rate] of scenarios.filter(([name]) => !SCENARIOS || SCENARIOS.some((x) => x.split(' ').every((word) => name.split(' ').includes(word))))) {
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of [...systems.slice(round % systems.length), ...systems.slice(0, round % systems.length)]) {
          const f = await run(s, scenario, events, fanOut, rate);
          rounds.push({ ...f, round });
          const pss = Object.entries(f.peakPssParts).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
          console.log(`[bench] round ${round + 1} ${f.system.padEnd(6)} ${scenario.padEnd(14)} ${f.perSecond.toFixed(1)}/s p50 ${f.p50.toFixed(0)} ms p99 ${f.p99.toFixed(0)} ms; peak PSS ${f.peakPssMiB.toFixed(0)} MiB (${pss})`);
        }
      }
    }
    const median = (xs: number[]) => {
      const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
      if (v.length === 0) return NaN;
      return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const results: Figures[] = [];
    for (const [scenario] of scenarios) {
      for (const s of systems) {
        const mine = rounds.filter((f) => f.system === s.name && f.scenario === scenario);
        if (mine.length === 0) continue;
        const m = (pick: (f: Figures) => number) => median(mine.map(pick));
        results.push({
          system: s.name,
          scenario,
          deliveries: mine[0]!.deliveries,
          perSecond: m((f) => f.perSecond),
          p50: m((f) => f.p50),
          p99: m((f) => f.p99),
          historyPerDelivery: m((f) => f.historyPerDelivery),
          transitionsPerDelivery: m((f) => f.transitionsPerDelivery),
          eagerShare: m((f) => f.eagerShare),
          cpu: Object.fromEntries(Object.keys(mine[0]!.cpu).map((k) => [k, m((f) => f.cpu[k]!)])),
          peakPssMiB: Math.max(...mine.map((f) => f.peakPssMiB)),
          peakPssParts: mine.reduce((a, b) => (b.peakPssMiB > a.peakPssMiB ? b : a)).peakPssParts,
        });
      }
    }

    const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
    console.log(`\nmedians of ${ROUNDS} round(s); PSS: the highest peak`);
    console.log(`${'system'.padEnd(7)}${'scenario'.padEnd(16)}${'deliv./s'.padStart(9)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'events'.padStart(8)}${'trans.'.padStart(7)}${'eager'.padStart(7)}${'PSS MiB'.padStart(9)}   CPU ms per delivery`);
    for (const f of results) {
      const cpuTotal = Object.values(f.cpu).reduce((a, b) => a + b, 0);
      const cpuText = Object.entries(f.cpu).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
      console.log(
        `${f.system.padEnd(7)}${f.scenario.padEnd(16)}${fmt(f.perSecond).padStart(9)}${fmt(f.p50, 0).padStart(8)}${fmt(f.p99, 0).padStart(8)}${fmt(f.historyPerDelivery).padStart(8)}${fmt(f.transitionsPerDelivery).padStart(7)}${(Number.isFinite(f.eagerShare) ? `${Math.round(f.eagerShare * 100)}%` : '–').padStart(7)}${fmt(f.peakPssMiB, 0).padStart(9)}   total ${fmt(cpuTotal)}: ${cpuText}`,
      );
    }
    const cpuTotal = (f?: Figures) => (f ? Object.values(f.cpu).reduce((a, b) => a + b, 0) : NaN);
    const ratioOf = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : NaN);
    const x = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');
    /** The median figures' ratio, then each round's own ratio in brackets. */
    const ratios = (scenario: string, other: SystemName, pick: (f: Figures) => number) => {
      const find = (list: Figures[], system: SystemName) => list.find((f) => f.system === system && f.scenario.startsWith(scenario));
      const med = ratioOf(find(results, 'anvil') && pick(find(results, 'anvil')!), find(results, other) && pick(find(results, other)!));
      const each = Array.from({ length: ROUNDS }, (_, round) => {
        const inRound = rounds.filter((f) => f.round === round);
        const a = find(inRound, 'anvil');
        const b = find(inRound, other);
        return a && b ? x(pick(a) / pick(b)) : '–';
      });
      return `${x(med)} [${each.join(' ')}]`;
    };
    console.log(`\nratios (anvil vs floor | vs naive) of the medians, [each round's]:`);
    console.log(`  burst f1 deliveries/s   ${ratios('burst f1', 'floor', (f) => f.perSecond)} | ${ratios('burst f1', 'naive', (f) => f.perSecond)}   (targets ≥ 0.85× floor, ≥ 1.1× naive)`);
    console.log(`  burst f10 deliveries/s  ${ratios('burst f10', 'floor', (f) => f.perSecond)} | ${ratios('burst f10', 'naive', (f) => f.perSecond)}   (targets ≥ 0.85× floor, ≥ 6× naive)`);
    console.log(`  paced p50 / p99         ${ratios('paced', 'naive', (f) => f.p50)} / ${ratios('paced', 'naive', (f) => f.p99)} of naive   (targets ≤ 0.7×, ≤ 1×)`);
    console.log(`  CPU per delivery f1     ${ratios('burst f1', 'floor', cpuTotal)} of floor;  f10 ${ratios('burst f10', 'floor', cpuTotal)} of floor   (target ≤ 1.25×)`);

    // --- deliveries waiting on retry timers -----------------------------------------------------------
    const anvil = systems.find((s) => s.name === 'anvil');
    if (TIMERS > 0 && anvil) {
      await stopProcess(anvil.child, 15_000);
      const hourly = await anvilSystem({ ...anvilEnv, BENCH_POLICY: 'hourly' }, { apiKey, endpoints });
      cleanups.push(() => stopProcess(hourly.child, 15_000));
      receiver.failing = true;
      const batch = 1000;
      const rates: number[] = [];
      const rss: number[] = [];
      let done = 0;
      while (done < TIMERS) {
        const n = Math.min(batch, TIMERS - done);
        const t = performance.now();
        await lanes(n, LANES, async () => {
          await hourly.publish(1);
        });
        rates.push(n / ((performance.now() - t) / 1000));
        done += n;
        rss.push(rssMiB(hourly.child.pid!));
        const { memory } = (await hourly.stats()) as { memory?: { heapUsedMiB: number; heapTotalMiB: number; externalMiB: number } };
        const heap = memory ? ` (main thread's JS heap ${memory.heapUsedMiB} used of ${memory.heapTotalMiB}, external ${memory.externalMiB})` : '';
        console.log(`[bench] timers: ${done} published, batch at ${rates.at(-1)!.toFixed(0)}/s, API process RSS ${rss.at(-1)!.toFixed(0)} MiB${heap}`);
      }
      const waiting = async () => Number((await client.workflowService.countWorkflowExecutions({ namespace: 'default', query: WAITING_QUERY })).count);
      const publishedAt = performance.now();
      const deadline = Date.now() + 900_000;
      let count = await waiting();
      while (count < TIMERS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2000));
        count = await waiting();
      }
      const drainedS = (performance.now() - publishedAt) / 1000;
      await new Promise((r) => setTimeout(r, 3000));
      const rssNow = rssMiB(hourly.child.pid!);
      // What the backlog cost: history events and timers (busy-destination waits + the retry timer) per
      // workflow, over a sample of the waiting ones; and requests the receiver saw (one per attempt).
      const sample = (await client.workflowService.listWorkflowExecutions({ namespace: 'default', query: WAITING_QUERY, pageSize: 50 })).executions ?? [];
      let sampledEvents = 0;
      let sampledTimers = 0;
      for (const e of sample) {
        const history = await client.workflow.getHandle(e.execution!.workflowId!).fetchHistory();
        sampledEvents += history.events?.length ?? 0;
        sampledTimers += (history.events ?? []).filter((ev) => ev.timerStartedEventAttributes).length;
      }
      if (sample.length > 0) {
        console.log(`per waiting workflow (sample of ${sample.length}): ${(sampledEvents / sample.length).toFixed(1)} history events, ${(sampledTimers / sample.length).toFixed(2)} timers started (1 = only the retry timer)`);
      }
      console.log(`\n${TIMERS} deliveries to a failing endpoint (first retry in 1 h): ${count} waiting on retry timers, ${drainedS.toFixed(0)} s after the last publish`);
      console.log(`publish rate per batch of ${batch} (events/s): ${rates.map((r) => r.toFixed(0)).join(', ')}`);
      console.log(`last batch / first batch: ${(rates.at(-1)! / rates[0]!).toFixed(2)}×   (target ≥ 0.8×)`);
      console.log(`API process (hosts the worker) RSS after each batch (MiB): ${rss.map((r) => r.toFixed(0)).join(', ')}; now ${rssNow.toFixed(0)}; peak ${Math.max(...rss, rssNow).toFixed(0)}   (target ≤ 500 MB = 477 MiB)`);
      receiver.failing = false;
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
