import type { Refusal } from '../admission/refusals.js';
import type { AdmissionRequest } from '../admission/request.js';
import type { Refused, Verified } from './screen.js';

// The AMQP door's adapters: a screened message → the admission core's door-neutral input.

/** A verified signed message as an admission request; its nonce is held for the timestamp window. */
export function admissionRequest(v: Verified, windowMs: number): AdmissionRequest {
  return {
    tenantId: v.key.tenantId,
    jobId: v.headers.messageId,
    keyId: v.key.keyId,
    nonce: { value: v.headers.nonce, expiresAt: new Date(v.headers.timestamp * 1000 + windowMs) },
    body: { bytes: v.delivery.body },
    // The broker sets `redelivered`, a producer cannot.
    repeated: v.delivery.redelivered,
    origin: { source: 'job' },
  };
}

/** A message refused before admission; it names a tenant only when its signature verified. */
export function refusalOf({ sender, decision }: Pick<Refused, 'sender' | 'decision'>): Refusal {
  return {
    source: 'job',
    ...(sender.tenantId === undefined ? {} : { tenantId: sender.tenantId }),
    ...(sender.keyId === undefined ? {} : { keyId: sender.keyId }),
    ...(sender.messageId === undefined ? {} : { jobId: sender.messageId }),
    rejection: decision.rejection,
  };
}
