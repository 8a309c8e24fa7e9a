import { type Rejected, reject } from '../admission/decision.js';
import { signingKeyRefusal } from '../admission/key-refusal.js';
import { messageIdPattern } from '../contracts/identifiers.js';
import type { SigningKey } from '../keys/signing-key.js';
import type { Delivery } from '../queue/bus.js';
import {
  assertFreshTimestamp,
  parseSignedHeaders,
  SignatureError,
  type SignedHeaders,
  verifySignature,
} from '../signing/index.js';
import type { Sender } from './decisions.js';

// The checks that need no database transaction, in the order the protocol fixes: body size,
// headers, key, signature, timestamp. Key lookups hit the key store's cache.

export interface ScreenContext {
  readonly getKey: (keyId: string) => Promise<SigningKey | undefined>;
  readonly now: Date;
  readonly windowMs: number;
  readonly maxBodyBytes: number;
}

export interface Verified {
  readonly delivery: Delivery;
  readonly sender: Required<Sender>;
  readonly headers: SignedHeaders;
  readonly key: SigningKey;
}

/** Refused before admission; `sender.tenantId` is set only when the signature verified. */
export interface Refused {
  readonly delivery: Delivery;
  readonly sender: Sender;
  readonly decision: Rejected;
}

export type Screened = ({ readonly verified: true } & Verified) | ({ readonly verified: false } & Refused);

/** Anything wrong with the message becomes a rejection; it throws only when the key store fails. */
export async function screenDelivery(delivery: Delivery, context: ScreenContext): Promise<Screened> {
  const sender: Sender = { messageId: readableMessageId(delivery.messageId) };
  const rejected = (decision: Rejected, who: Sender = sender): Screened => ({
    verified: false,
    delivery,
    sender: who,
    decision,
  });

  if (delivery.body.length > context.maxBodyBytes) {
    return rejected(
      reject(
        'body_too_large',
        `the body has ${delivery.body.length} bytes; this gateway reads at most ${context.maxBodyBytes}`,
      ),
    );
  }
  let headers: SignedHeaders;
  try {
    headers = parseSignedHeaders(delivery.headers, delivery.messageId, delivery.contentType);
  } catch (error) {
    if (error instanceof SignatureError) return rejected(reject(error.reason, error.message));
    return rejected(reject('invalid_header', 'the message headers could not be read'));
  }
  const key = await context.getKey(headers.keyId);
  if (key === undefined) {
    return rejected(reject('unknown_key', `no key ${headers.keyId}`), { ...sender, keyId: headers.keyId });
  }
  // A key id is public: only a valid signature makes the message the tenant's, and only then is
  // the verdict routed under the tenant (a forged one must not reach the tenant's followers).
  const claimed: Sender = { messageId: headers.messageId, keyId: key.keyId };
  const signed = verifySignature(headers, delivery.body, key);
  const known: Required<Sender> = { messageId: headers.messageId, keyId: key.keyId, tenantId: key.tenantId };
  const refusal = signingKeyRefusal(key, context.now);
  if (refusal) return rejected(refusal, signed ? known : claimed);
  if (!signed) {
    return rejected(
      reject(
        'bad_signature',
        `the signature does not match the message under key ${key.keyId} (${key.algorithm}); was the body or a signed property changed?`,
      ),
      claimed,
    );
  }
  try {
    assertFreshTimestamp(headers, context.now.getTime(), context.windowMs);
  } catch (error) {
    if (error instanceof SignatureError) return rejected(reject(error.reason, error.message), known);
    throw error;
  }
  return { verified: true, delivery, sender: known, headers, key };
}

/** The job id when the message_id property is a valid one. */
export function readableMessageId(value: unknown): string | undefined {
  return typeof value === 'string' && messageIdPattern.test(value) ? value : undefined;
}
