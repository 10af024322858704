// One forbidden-address rule: what URL validation refuses when an endpoint is saved is exactly what the
// delivery guard refuses before connecting, for literal addresses and local-only names alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeliveryClient } from '../../activities/http-client';
import { isForbiddenHost } from '../../domain/addresses';
import { targetUrlSchema } from '../../domain/schemas';

// Hosts the creation check used to accept while the guard refused them, and their neighbours.
const refused = [
  'https://198.18.0.1/hook', // benchmarking
  'https://198.19.255.255/hook',
  'https://[::127.0.0.1]/hook', // IPv4-compatible loopback
  'https://localhost./hook',
  'https://LOCALHOST/hook',
  'https://api.localhost/hook',
  'https://metadata.google.internal/hook',
  'https://printer.local/hook',
  'https://192.0.2.10/hook', // TEST-NET-1
  'https://198.51.100.7/hook', // TEST-NET-2
  'https://203.0.113.9/hook', // TEST-NET-3
  'https://224.0.0.251/hook', // multicast
  'https://240.0.0.1/hook', // reserved
  'https://255.255.255.255/hook',
  'https://192.0.0.8/hook', // IETF protocol assignments
  'https://[2001:db8::1]/hook', // documentation
  'https://[ff02::1]/hook', // multicast
  'https://[64:ff9b::7f00:1]/hook', // NAT64 of 127.0.0.1
  'https://[2002:7f00:1::1]/hook', // 6to4 of 127.0.0.1
  'https://[fec0::1]/hook', // site-local
  'https://[::ffff:169.254.169.254]/hook',
  'https://0x7f.1/hook', // WHATWG-normalized to 127.0.0.1
  'https://2130706433/hook', // 127.0.0.1 as one number
  'https://10.1.2.3/hook',
  'https://169.254.169.254/latest/meta-data',
  'https://[fd00:ec2::254]/hook',
];
const accepted = ['https://hooks.example.com/x', 'https://8.8.8.8/hook', 'https://[2606:4700::1111]/hook', 'https://172.32.0.1/hook'];

void test('URL validation and the delivery guard refuse exactly the same hosts', async () => {
  const schema = targetUrlSchema(false);
  const client = createDeliveryClient({ allowInsecureTargets: false, timeoutMs: 500 });
  try {
    for (const url of refused) {
      const parsed = schema.safeParse(url);
      assert.equal(parsed.success, false, `creation should refuse ${url}`);
      assert.match(parsed.error!.issues[0]!.message, /private, loopback, link-local or reserved/);
      const outcome = await client.post(url, '{}', {});
      assert.match(outcome.error ?? '', /^destination refused/, `the guard should refuse ${url}: ${outcome.error}`);
      assert.equal(outcome.statusCode, null);
      assert.equal(isForbiddenHost(new URL(url).hostname), true);
    }
    for (const url of accepted) {
      assert.equal(schema.safeParse(url).success, true, `creation should accept ${url}`);
      assert.equal(isForbiddenHost(new URL(url).hostname), false, `${url} is a public host`);
    }
  } finally {
    await client.close();
  }
});
