// Where the CLI finds the service: ANVIL_API_URL / ANVIL_API_KEY, else what `login` saved in
// ~/.config/anvil-webhooks/config.json (ANVIL_WEBHOOKS_CONFIG names another file). The file also keeps
// the listen signing secret, so a developer's handler keeps the same secret from one session to the next.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export interface SavedSettings {
  api_url?: string;
  api_key?: string;
  /** Per API URL: the signing secret `listen` sessions reuse. */
  listen_secrets?: Record<string, string>;
}

export interface Settings {
  apiUrl: string;
  apiKey: string;
}

export function settingsFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ANVIL_WEBHOOKS_CONFIG) return env.ANVIL_WEBHOOKS_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  return path.join(base, 'anvil-webhooks', 'config.json');
}

export function readSaved(env: NodeJS.ProcessEnv = process.env): SavedSettings {
  const file = settingsFile(env);
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as SavedSettings) : {};
  } catch {
    throw new Error(`${file} is not valid JSON: fix it, or run anvil-webhooks login again`);
  }
}

export function writeSaved(saved: SavedSettings, env: NodeJS.ProcessEnv = process.env): string {
  const file = settingsFile(env);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600); // it holds an API key
  return file;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const saved = readSaved(env);
  const apiUrl = env.ANVIL_API_URL || saved.api_url;
  const apiKey = env.ANVIL_API_KEY || saved.api_key;
  if (!apiUrl || !apiKey) throw new Error('not logged in: run `anvil-webhooks login --api-url <url> --api-key <key>` (or set ANVIL_API_URL and ANVIL_API_KEY)');
  return { apiUrl: apiUrl.replace(/\/+$/, ''), apiKey };
}
