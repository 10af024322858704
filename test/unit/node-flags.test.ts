// The API and worker processes run with scripts/node-flags.ts's flags wherever they are launched: the
// places that cannot import it (package.json's scripts, the image) say the same, and the flag does what
// the file says (a 1 GiB ceiling on the JS heap of the process and of its worker threads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NODE_FLAGS } from '../../scripts/node-flags';

const ROOT = path.resolve(__dirname, '../..');

void test('npm run api / worker and the image run with the same flags as npm start, the cluster and the bench', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts.api, `node ${NODE_FLAGS.join(' ')} dist/api/main.js`);
  assert.equal(scripts.worker, `node ${NODE_FLAGS.join(' ')} dist/worker/main.js`);
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, new RegExp(`^ENV NODE_OPTIONS=${NODE_FLAGS.join(' ')}$`, 'm'));
  for (const file of ['scripts/start.ts', 'scripts/cluster/cluster.ts', 'bench/run.ts']) {
    assert.match(readFileSync(path.join(ROOT, file), 'utf8'), /\.\.\.NODE_FLAGS/, `${file} launches node with NODE_FLAGS`);
  }
});

void test('the flags set a 1 GiB ceiling on the heap of the process and of its worker threads (the workflow sandbox)', () => {
  const probe = `
    const v8 = require('node:v8');
    const { Worker } = require('node:worker_threads');
    const main = v8.getHeapStatistics().heap_size_limit;
    new Worker("require('node:worker_threads').parentPort.postMessage(require('node:v8').getHeapStatistics().heap_size_limit)", { eval: true })
      .once('message', (worker) => console.log(JSON.stringify({ main, worker })));`;
  const mib = (flags: readonly string[]) => {
    const out = JSON.parse(execFileSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' })) as { main: number; worker: number };
    return { main: out.main / 2 ** 20, worker: out.worker / 2 ** 20 };
  };
  const limited = mib(NODE_FLAGS);
  const unlimited = mib([]);
  // heap_size_limit is the old generation's ceiling plus the young generation's.
  for (const [where, limit] of Object.entries(limited)) assert.ok(limit >= 1024 && limit < 1200, `${where}: ${limit} MiB`);
  assert.ok(unlimited.main > limited.main, `without the flags: ${unlimited.main} MiB`);
});
