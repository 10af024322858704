// The floor: what one workflow per event costs at the least on Temporal. Started eagerly from a client on
// the worker's own NativeConnection, it POSTs to every target in local activities inside its first
// workflow task and completes: no signing, no database, no API, no search attributes.
import { proxyLocalActivities } from '@temporalio/workflow';
import type * as activities from './post-activity';

const { post } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 1 } });

export async function floorWorkflow(urls: string[], eventId: string, body: string): Promise<number[]> {
  return Promise.all(urls.map((url) => post(url, eventId, body)));
}
