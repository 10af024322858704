// What a receiving developer installs: `npm pack` of packages/anvil-webhooks (its prepack builds it),
// installed from the tarball into an empty project. The tarball holds the build, the bin and the README,
// no sources or tests; `require` and `import` both load it and verify a signature made by the service's
// own signing code; the `anvil-webhooks` command runs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { signedHeaders } from '../../domain/signing';

const PACKAGE = path.resolve(__dirname, '../../packages/anvil-webhooks');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-pack-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

void test('npm pack → npm install of the tarball: require, import and the CLI work; only the build ships', async () => {
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch], PACKAGE)) as { filename: string; files: { path: string }[] }[];
  const files = packed!.files.map((f) => f.path);
  for (const f of ['package.json', 'README.md', 'bin/anvil-webhooks.js', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/cli/main.js']) {
    assert.ok(files.includes(f), `${f} in the tarball (${files.length} files)`);
  }
  assert.deepEqual(files.filter((f) => !/^(package\.json|README\.md|bin\/|dist\/)/.test(f)), [], 'nothing but the build, the bin and the README');

  const project = path.join(scratch, 'project');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'receiver', version: '1.0.0', private: true }));
  npm(['install', '--offline', path.join(scratch, packed!.filename)], project);

  const secret = 'whsec_' + 'a'.repeat(32);
  const body = JSON.stringify({ id: 'evt_packtest01', type: 'lead.created', data: { name: 'Ada' } });
  const headers = signedHeaders('anvil', [secret], Math.floor(Date.now() / 1000), 'evt_packtest01', body);
  const input = JSON.stringify({ body, headers, secret });
  const check = (code: string, ext: string) => {
    const file = path.join(project, `check.${ext}`);
    writeFileSync(file, code);
    return spawnSync(process.execPath, [file], { cwd: project, input, encoding: 'utf8' });
  };
  // The installed package's name, spliced into the probe scripts (so this file does not import it itself).
  const pkg = JSON.stringify('anvil-webhooks');
  const reads = `let s = ''; process.stdin.on('data', (c) => (s += c)); process.stdin.on('end', () => { const { body, headers, secret } = JSON.parse(s);`;
  const cjs = check(`const { verify } = require(${pkg}); ${reads} console.log(verify(body, headers, secret), verify(body + ' ', headers, secret)); });`, 'cjs');
  assert.equal(cjs.stdout.trim(), 'true false', cjs.stderr);
  const esm = check(`import { verify } from ${pkg}; ${reads} console.log(verify(body, headers, secret), verify(body, headers, 'whsec_' + 'b'.repeat(32))); });`, 'mjs');
  assert.equal(esm.stdout.trim(), 'true false', esm.stderr);

  const help = spawnSync(path.join(project, 'node_modules/.bin/anvil-webhooks'), ['help'], { cwd: project, encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /deliveries tail/);
  assert.match(help.stdout, /listen --forward-to <url>/);
});
