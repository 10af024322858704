#!/usr/bin/env node
// Builds dist/esm (import) and dist/cjs (require) from the same sources, each with its type declarations.
// A package.json in each folder tells Node which module format its .js files are.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
const tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');

rmSync(outDir, { recursive: true, force: true });
for (const [format, options] of [
  ['esm', ['--module', 'ES2022', '--moduleResolution', 'Bundler']],
  ['cjs', ['--module', 'CommonJS', '--moduleResolution', 'Node10']],
]) {
  const dir = path.join(outDir, format);
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', dir, ...options], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: format === 'esm' ? 'module' : 'commonjs' }) + '\n');
}
