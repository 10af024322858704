// Classic webhooks: `data` encrypted with the organization's RSA key, as `<wrapped key>:<iv>:<ciphertext>`:
// a fresh AES-256 key written as 64 hex characters, those characters RSA-OAEP encrypted (SHA-1) and
// base64-encoded; the IV in hex; AES-256-CBC of the JSON in hex. The same steps as Anvil's published
// decryptor (`decryptRSA` in @anvilco/encryption), so either reads what the other does.
import { constants, createDecipheriv, privateDecrypt } from 'node:crypto';

export class ClassicDecryptionError extends Error {
  override name = 'ClassicDecryptionError';
}

/** The decrypted text of classic `data` (what `decryptRSA` returns). Throws ClassicDecryptionError. */
export function decryptClassicDataToString(data: string, privateKeyPem: string): string {
  if (typeof data !== 'string') throw new ClassicDecryptionError('data is not an encrypted string');
  const [wrappedKey, iv, ciphertext, ...rest] = data.split(':');
  if (!wrappedKey || !iv || !ciphertext || rest.length > 0 || !/^[0-9a-f]{32}$/i.test(iv) || !/^(?:[0-9a-f]{32})+$/i.test(ciphertext)) {
    throw new ClassicDecryptionError('data is not in the <wrapped key>:<iv>:<ciphertext> format');
  }
  let keyHex: string;
  try {
    keyHex = privateDecrypt({ key: privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(wrappedKey, 'base64')).toString();
  } catch {
    throw new ClassicDecryptionError('the key could not be unwrapped: is this the private key of the public key registered with Anvil?');
  }
  if (!/^[0-9a-f]{64}$/i.test(keyHex)) throw new ClassicDecryptionError('the unwrapped key is not a 256-bit hex key');
  try {
    const decipher = createDecipheriv('aes-256-cbc', Buffer.from(keyHex, 'hex'), Buffer.from(iv, 'hex'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'hex')), decipher.final()]).toString('utf8');
  } catch {
    throw new ClassicDecryptionError('the ciphertext could not be decrypted');
  }
}

/**
 * Classic `data`, decrypted and parsed. Data that is not encrypted (an organization without a keypair
 * receives plain JSON) is returned as it is, so a handler can call this either way.
 */
export function decryptClassicData<T = unknown>(data: unknown, privateKeyPem: string): T {
  if (typeof data !== 'string') return data as T;
  const text = decryptClassicDataToString(data, privateKeyPem);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ClassicDecryptionError('the decrypted data is not JSON');
  }
}
