// anvil-webhooks: what a server receiving Anvil webhooks needs. No dependencies.
export { verify, WEBHOOK_TOLERANCE_IN_SECONDS, type VerifyOptions } from './verify.js';
export { eventIdOf, headerValue, type WebhookHeaders } from './headers.js';
export { ClassicDecryptionError, decryptClassicData, decryptClassicDataToString } from './decrypt.js';
export { anvilExpress, anvilNodeHandler, DEFAULT_BODY_LIMIT_BYTES, keepRawBody, readRawBody, type ReceiverOptions } from './middleware.js';
export { createIdempotency, DEFAULT_IDEMPOTENCY_TTL_MS, memoryIdempotencyStore, type IdempotencyStore, type Once } from './idempotency.js';
