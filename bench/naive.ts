// The naive Temporal design the benchmark compares against: one workflow per delivery, one ordinary
// activity that POSTs the body with a keep-alive pool. No database, no signing, no search attributes.
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './post-activity';

const { post } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 1 } });

export async function naiveWorkflow(url: string, eventId: string, body: string): Promise<number> {
  return post(url, eventId, body);
}
