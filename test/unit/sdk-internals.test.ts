// infra/visibility.ts lists the delivery log one page at a time with Temporal's own page token, calling the
// service directly and decoding its raw rows with an SDK helper that is not part of its public API
// ('@temporalio/client/lib/helpers' executionInfoFromRaw). This test pins what the delivery log reads of a
// decoded row (ids, type, status, start time, memo, keyword and keyword-list search attributes) and the
// page token, through listPage itself against the real server, so an SDK upgrade that moves or changes
// the helper fails here rather than in the delivery log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { searchAttributes as sa, workflowTypes } from '../../domain/contract';
import { listPage, quote } from '../../infra/visibility';
import { eventually, requireEnv } from '../support/stack';

void test('listPage (executionInfoFromRaw) still maps raw visibility rows to what the delivery log reads, page by page', async () => {
  const connection = await Connection.connect({ address: requireEnv('TEMPORAL_ADDRESS') });
  const client = new Client({ connection, namespace: 'default' });
  const tenantId = `tnt_${randomBytes(8).toString('hex')}`;
  const taskQueue = `sdk-guard-${randomBytes(4).toString('hex')}`; // no worker: the workflows just exist
  const started = await Promise.all(
    [1, 2].map((n) =>
      client.workflow.start(workflowTypes.event, {
        taskQueue,
        workflowId: `evt_sdkguard${randomBytes(6).toString('hex')}`,
        args: [],
        typedSearchAttributes: [
          { key: sa.tenantId, value: tenantId },
          { key: sa.endpointIds, value: [`ep_${n}a`, `ep_${n}b`] },
        ],
        memo: { n },
      }),
    ),
  );
  try {
    const query = `${sa.tenantId.name} = ${quote(tenantId)}`;
    await eventually(async () => ((await listPage(client, query, 10, null)).rows.length === 2 ? true : undefined), 10_000, 'the visibility rows');

    const first = await listPage(client, query, 1, null);
    assert.equal(first.rows.length, 1);
    assert.ok(first.nextPageToken instanceof Buffer && first.nextPageToken.length > 0, 'a page token for the next page');
    const second = await listPage(client, query, 1, first.nextPageToken);
    assert.equal(second.rows.length, 1);
    const rows = [...first.rows, ...second.rows];

    for (const handle of started) {
      const info = rows.find((r) => r.workflowId === handle.workflowId);
      assert.ok(info, `${handle.workflowId} listed once over the two pages`);
      const n = started.indexOf(handle) + 1;
      assert.equal(info.runId, handle.firstExecutionRunId);
      assert.equal(info.type, workflowTypes.event);
      assert.equal(info.status.name, 'RUNNING');
      assert.ok(info.startTime instanceof Date && Date.now() - info.startTime.getTime() < 60_000);
      assert.deepEqual(info.memo, { n });
      assert.equal(info.typedSearchAttributes.get(sa.tenantId), tenantId);
      assert.deepEqual(info.typedSearchAttributes.get(sa.endpointIds), [`ep_${n}a`, `ep_${n}b`]);
    }
  } finally {
    await Promise.all(started.map((h) => h.terminate('sdk guard done')));
    await connection.close();
  }
});
