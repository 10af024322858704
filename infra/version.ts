// The version sent in User-Agent. Read once from package.json (not workflow code).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './paths';

export const VERSION: string = (
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
export const USER_AGENT = `anvil-webhooks/${VERSION}`;
