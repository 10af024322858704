// Reading a header whatever holds them: Node's IncomingHttpHeaders (lower-case keys, arrays for repeats),
// a Fetch `Headers`, or a plain object with any case.

export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | readonly string[] | undefined | null>;

/** The header's value (the first of repeated ones), or undefined. Never throws. */
export function headerValue(headers: WebhookHeaders | null | undefined, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  let value: unknown;
  if (typeof (headers as { get?: unknown }).get === 'function' && !(name in headers)) {
    value = (headers as { get(name: string): string | null }).get(name);
  } else {
    const record = headers as Record<string, unknown>;
    value = record[name];
    if (value === undefined) {
      const key = Object.keys(record).find((k) => k.toLowerCase() === name);
      value = key === undefined ? undefined : record[key];
    }
  }
  if (Array.isArray(value)) value = value[0];
  return typeof value === 'string' ? value : undefined;
}

/** The delivery's event id: `Anvil-Event-Id`, or `webhook-id` under the Standard Webhooks option. */
export function eventIdOf(headers: WebhookHeaders | null | undefined): string | undefined {
  return headerValue(headers, 'anvil-event-id') ?? headerValue(headers, 'webhook-id');
}
