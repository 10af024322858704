import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../infra/config';

void test('defaults', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.dataDir, '.data');
  assert.equal(c.temporalNamespace, 'default');
  assert.equal(c.taskQueue, 'anvil-webhooks');
  assert.equal(c.allowInsecureTargets, false);
  assert.equal(loadConfig({}, { developmentDefaults: true }).allowInsecureTargets, true);
  assert.equal(loadConfig({ ANVIL_ALLOW_INSECURE_TARGETS: '0' }, { developmentDefaults: true }).allowInsecureTargets, false);
});

void test('a bad value names the variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), (err: Error) => err instanceof ConfigError && /PORT="eighty"/.test(err.message));
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ TEMPORAL_ADDRESS: 'http://x:7233' }), /TEMPORAL_ADDRESS/);
  assert.throws(() => loadConfig({ ANVIL_ALLOW_INSECURE_TARGETS: 'maybe' }), /ANVIL_ALLOW_INSECURE_TARGETS/);
  assert.throws(() => loadConfig({ ANVIL_ADMIN_KEY: 'short' }), /ANVIL_ADMIN_KEY/);
});
