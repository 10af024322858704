// Dependency hygiene: every package the code imports is declared; what production code (compiled into
// dist/, plus what `npm start` runs) imports is a production dependency; packages only tests use are not;
// and a deep import of an SDK's internals is allowed only with a test that guards it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** Code that runs in production or under `npm start` / `npm run replay`; everything else is dev-only. */
const RUNTIME_DIRS = ['domain', 'infra', 'workflows', 'activities', 'api', 'worker', 'scripts'];
/**
 * Dev-only files under those dirs. scripts/build-portal.ts runs at build time only (`npm run build`, and
 * `npm start` / `npm test`, which install every dependency): production serves the pages it built into
 * dist/portal, so its bundler (esbuild) is a devDependency.
 */
const DEV_ONLY_FILES = ['scripts/test.ts', 'scripts/record-histories.ts', 'scripts/build-portal.ts'];
/** Production dependencies no source file imports, and why they are there. */
const NOT_IMPORTED = {
  tsx: '`npm start`, `npm run replay` and the bootstrap run TypeScript through it',
  protobufjs: 'pinned (with overrides) so npm installs one copy for @temporalio: several break replay',
  'swagger-ui-dist': 'resolved by path (require.resolve) for the /docs assets',
};
/** Deep imports of SDK internals, each with the test that fails if the SDK changes under it. */
const GUARDED_DEEP_IMPORTS: Record<string, string> = {
  '@temporalio/client/lib/helpers': 'test/unit/sdk-internals.test.ts',
  '@temporalio/common/lib/proto-utils': 'test/workflow/replay.test.ts',
  '@temporalio/worker/package.json': 'test/unit/sdk-patch.test.ts',
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' || name.startsWith('.') ? [] : files(full);
    return /\.(ts|mjs)$/.test(name) ? [full] : [];
  });
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require(?:\.resolve)?\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:') && !builtins.has(s));
}

const sourceFiles = ['domain', 'infra', 'workflows', 'activities', 'api', 'worker', 'scripts', 'test', 'bench']
  .filter((d) => existsSync(path.join(ROOT, d)))
  .flatMap((d) => files(path.join(ROOT, d)));
const isRuntime = (file: string) => {
  const rel = path.relative(ROOT, file);
  return RUNTIME_DIRS.includes(rel.split(path.sep)[0]!) && !DEV_ONLY_FILES.includes(rel);
};

void test('every imported package is declared; runtime code imports production dependencies only', () => {
  assert.ok(sourceFiles.length > 50, 'found the sources');
  const problems: string[] = [];
  for (const file of sourceFiles) {
    for (const spec of imports(file)) {
      const name = packageOf(spec);
      const rel = path.relative(ROOT, file);
      if (!(name in pkg.dependencies) && !(name in pkg.devDependencies)) problems.push(`${rel}: ${name} is not declared`);
      else if (isRuntime(file) && !(name in pkg.dependencies)) problems.push(`${rel}: ${name} is a devDependency but runtime code imports it`);
    }
  }
  assert.deepEqual(problems, []);
});

void test('production dependencies are used by runtime code; test-only packages are devDependencies', () => {
  const runtimeImports = new Set(sourceFiles.filter(isRuntime).flatMap((f) => imports(f).map(packageOf)));
  const unused = Object.keys(pkg.dependencies).filter((d) => !runtimeImports.has(d) && !(d in NOT_IMPORTED));
  assert.deepEqual(unused, [], 'production dependencies no runtime code imports (move to devDependencies, or say why above)');
  for (const testOnly of ['@temporalio/testing', '@anvilco/encryption', 'typescript', 'eslint']) {
    assert.ok(!(testOnly in pkg.dependencies), `${testOnly} is test/dev-only`);
  }
});

void test('deep imports of SDK internals are only the guarded ones', () => {
  const deep = sourceFiles.flatMap((f) =>
    imports(f)
      .filter((s) => s.startsWith('@temporalio/') && s.split('/').length > 2)
      .map((s) => ({ file: path.relative(ROOT, f), spec: s })),
  );
  for (const { file, spec } of deep) {
    const guard = GUARDED_DEEP_IMPORTS[spec];
    assert.ok(guard, `${file} imports ${spec}: add a test that guards it and list it here`);
    assert.ok(readFileSync(path.join(ROOT, guard), 'utf8').includes(spec), `${guard} exercises ${spec}`);
  }
});
