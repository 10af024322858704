// Which failures are a dependency being down (503 with Retry-After) rather than a bug (500).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { unavailableDependency } from '../../api/errors';

void test('connection failures of PostgreSQL and Temporal are recognised; other errors are not', () => {
  const pg = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  assert.equal(unavailableDependency(pg('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')), 'postgres');
  assert.equal(unavailableDependency(new AggregateError([pg('ECONNREFUSED')], '')), 'postgres');
  assert.equal(unavailableDependency(pg('57P01', 'terminating connection due to administrator command')), 'postgres');
  assert.equal(unavailableDependency(pg('57P03', 'the database system is starting up')), 'postgres');
  assert.equal(unavailableDependency(pg('08006')), 'postgres');
  assert.equal(unavailableDependency(pg('53300', 'too many connections')), 'postgres');
  assert.equal(unavailableDependency(new Error('timeout exceeded when trying to connect')), 'postgres');
  assert.equal(unavailableDependency(new Error('Connection terminated unexpectedly')), 'postgres');
  const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
  assert.equal(unavailableDependency(new ServiceError('Failed to start workflow', { cause: grpc })), 'temporal');
  assert.equal(unavailableDependency(Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 })), 'temporal');
  // Bugs and bad input stay what they are.
  assert.equal(unavailableDependency(pg('22P05', 'unsupported Unicode escape sequence')), null);
  assert.equal(unavailableDependency(pg('23505', 'duplicate key')), null);
  assert.equal(unavailableDependency(Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 })), null);
  assert.equal(unavailableDependency(new TypeError('x is undefined')), null);
});
