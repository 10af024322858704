// Where the project's own files are, the same from the sources (tsx) and from the compiled output in
// dist/: the nearest folder above this file that holds package.json.
import { existsSync } from 'node:fs';
import path from 'node:path';

function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PROJECT_ROOT = projectRoot(__dirname);
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');
/** Written by `npm run build` beside the compiled JS; the compiled entry points load it. */
export const BUILT_WORKFLOW_BUNDLE = path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');
/** True when this code runs from dist/ (compiled), false under tsx. */
export const RUNNING_COMPILED = __filename.endsWith('.js');
/** The Settings pages as built from web/ (`scripts/build-portal.ts`): index.html and assets/. */
export const PORTAL_BUILD_DIR = path.join(PROJECT_ROOT, 'dist', 'portal');
export const PORTAL_SOURCE_DIR = path.join(PROJECT_ROOT, 'web');
