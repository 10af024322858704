// The signature check our customer docs give, verbatim (types added): every delivery must pass it.
import crypto from 'node:crypto';

export function verify(rawBody: string, header: string, secret: string): boolean {
  const [tsPart, sigPart] = header.split(',') as [string, string];
  const timestamp = tsPart.split('=')[1];
  const signature = sigPart.split('=')[1] as string;
  const expected = crypto.createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
  return crypto.timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}
