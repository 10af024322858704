// Builds the Settings pages from web/ with esbuild: one hashed JS bundle (Preact included) and one CSS
// file under dist/portal/assets/, and dist/portal/index.html naming them. Nothing is fetched at run time
// and nothing comes from a CDN. `npm start`, `npm test` and `npm run build` call it; it skips the work when
// the sources and the lockfile have not changed since the last build.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { PORTAL_BUILD_DIR, PORTAL_SOURCE_DIR, PROJECT_ROOT } from '../infra/paths';

const STAMP = '.source-hash';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const full = path.join(dir, name);
      return statSync(full).isDirectory() ? sourceFiles(full) : [full];
    })
    .sort();
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const file of [...sourceFiles(PORTAL_SOURCE_DIR), path.join(PROJECT_ROOT, 'package-lock.json')]) {
    h.update(path.relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return h.digest('hex');
}

/** Builds into `outDir` unless it already holds a build of these sources. Returns whether it built. */
export async function buildPortal(outDir = PORTAL_BUILD_DIR, { force = false } = {}): Promise<boolean> {
  const hash = sourceHash();
  const stampFile = path.join(outDir, STAMP);
  if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) return false;

  const staging = `${outDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const result = await build({
    entryPoints: { portal: path.join(PORTAL_SOURCE_DIR, 'src', 'main.tsx') },
    outdir: path.join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    // Browsers with <dialog>, :focus-visible and structuredClone: every evergreen browser since 2023.
    target: ['chrome111', 'edge111', 'firefox114', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(PORTAL_SOURCE_DIR, 'tsconfig.json'),
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  const js = outputs.find(([file, o]) => o.entryPoint && file.endsWith('.js'));
  const css = outputs.find(([file]) => file.endsWith('.css'));
  if (!js || !css) throw new Error('the portal build produced no JS or no CSS bundle');
  const icon = readFileSync(path.join(PORTAL_SOURCE_DIR, 'favicon.svg'));
  const iconName = `favicon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
  writeFileSync(path.join(staging, 'assets', iconName), icon);
  const html = readFileSync(path.join(PORTAL_SOURCE_DIR, 'index.html'), 'utf8')
    .replace('%SCRIPT%', path.basename(js[0]))
    .replace('%STYLE%', path.basename(css[0]))
    .replace('%FAVICON%', iconName);
  writeFileSync(path.join(staging, 'index.html'), html);
  writeFileSync(path.join(staging, STAMP), hash);

  // Swap in whole, so a running API never serves an index.html whose assets are missing.
  const previous = `${outDir}.old-${process.pid}`;
  if (existsSync(outDir)) renameSync(outDir, previous);
  renameSync(staging, outDir);
  rmSync(previous, { recursive: true, force: true });
  return true;
}

if (require.main === module) {
  const started = Date.now();
  buildPortal(PORTAL_BUILD_DIR, { force: process.argv.includes('--force') }).then(
    (built) => console.log(`[portal] ${built ? 'built' : 'up to date'}: ${path.relative(process.cwd(), PORTAL_BUILD_DIR)} (${Date.now() - started} ms)`),
    (err: unknown) => {
      console.error(`[portal] build failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
