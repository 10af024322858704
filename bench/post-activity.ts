// The one activity of the naive design and the floor: a POST with a keep-alive pool, nothing else.
import { Agent, request } from 'undici';

const agent = new Agent({ keepAliveTimeout: 30_000, connections: 50 });

export async function post(url: string, eventId: string, body: string): Promise<number> {
  const res = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'anvil-event-id': eventId },
    dispatcher: agent,
  });
  await res.body.dump();
  return res.statusCode;
}
