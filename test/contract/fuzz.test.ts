// Property-based contract fuzzing: schemathesis (PyPI, in .venv) generates requests from /openapi.json and
// sends them to the live API in production mode (insecure targets off): no answer may be a 5xx, and every
// answer must match its documented status codes, content type, headers and schema. Bounded and seeded,
// so a run is reproducible and its length predictable; the number of cases it ran is printed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { call, createTenant, requireEnv, startStack, type Stack } from '../support/stack';

/** Examples per operation in the fuzzing phase; with the coverage phase about 2 000 cases in all. */
const MAX_EXAMPLES = Number(process.env.ANVIL_FUZZ_EXAMPLES ?? 25);
const SEED = 20261111;
/** Checks that need no knowledge the schema cannot carry (which ids exist, which URLs resolve publicly). */
const EXCLUDED_CHECKS = ['positive_data_acceptance', 'ensure_resource_availability', 'use_after_free', 'missing_required_header'];

let stack: Stack;
let scratch: string;
before(async () => {
  stack = await startStack({ secure: true, withWorker: false, env: { ANVIL_PUBLISH_RATE_LIMIT: '1000' } });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-fuzz-'));
});
after(async () => {
  await stack.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  output: string;
  cases: number;
}

function schemathesis(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(requireEnv('SCHEMATHESIS'), args, {
      env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false', PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const m = /(\d+) generated/.exec(output) ?? /Test cases:\s*(\d+)/.exec(output);
      resolve({ code: code ?? 1, output, cases: m ? Number(m[1]) : 0 });
    });
  });
}

async function fuzz(name: string, key: string, extra: string[]): Promise<Run> {
  return schemathesis([
    'run',
    `${stack.url}/openapi.json`,
    '--checks', 'all',
    '--exclude-checks', EXCLUDED_CHECKS.join(','),
    '--max-examples', String(MAX_EXAMPLES),
    '--seed', String(SEED),
    '--workers', '1',
    '--no-shrink',
    '--suppress-health-check', 'all',
    '--request-timeout', '20',
    '--header', `Authorization: Bearer ${key}`,
    '--report', 'junit',
    '--report-junit-path', path.join(scratch, `${name}.xml`),
    ...extra,
  ]);
}

void test('schemathesis finds no 5xx and no answer off its documented schema', { timeout: 15 * 60_000 }, async () => {
  const tenant = await createTenant(stack);
  // Something to find: an endpoint and an event.
  const ep = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'https://example.com/hook', events: ['lead.created'] });
  assert.equal(ep.status, 201);
  assert.equal((await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} })).status, 202);

  const started = Date.now();
  // Everything with a tenant key, then the admin-only tenant routes with the admin key.
  const runs = [
    // A listen session's stream stays open by design: not fuzzed (test/integration/listen.test.ts reads it).
    { name: 'tenant', run: await fuzz('tenant', tenant.key, ['--exclude-path-regex', '^/v1/tenants|/stream$']) },
    { name: 'admin', run: await fuzz('admin', stack.adminKey, ['--include-path-regex', '^/v1/tenants']) },
  ];
  for (const { name, run } of runs) {
    const summary = run.output.slice(run.output.lastIndexOf('SUMMARY')).trim();
    console.log(`[fuzz] ${name} key: ${summary.split('\n').filter((l) => /\S/.test(l)).map((l) => l.trim()).join(' | ')}`);
  }
  const total = runs.reduce((n, r) => n + r.run.cases, 0);
  console.log(`[fuzz] schemathesis ran ${total} cases (${runs.map((r) => `${r.name}: ${r.run.cases}`).join(', ')}) in ${((Date.now() - started) / 1000).toFixed(0)} s, seed ${SEED}`);
  for (const { name, run } of runs) {
    assert.equal(run.code, 0, `schemathesis (${name}) failed:\n${run.output.slice(-20_000)}`);
    assert.ok(run.cases > 0, `schemathesis (${name}) ran no case:\n${run.output.slice(-5000)}`);
  }
  assert.ok(total >= 1000, `expected about 2 000 cases, ran ${total}`);
});
