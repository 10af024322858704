// The bare baseline the benchmark compares against: one workflow, one ordinary activity that POSTs the
// body with a keep-alive pool. No database, no fan-out, no signing, no search attributes.
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './baseline-activities';

const { post } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 1 } });

export async function baselineWorkflow(url: string, eventId: string, body: string): Promise<number> {
  return post(url, eventId, body);
}
